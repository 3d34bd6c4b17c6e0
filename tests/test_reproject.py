"""Unregistered depth (gear_seg_ros.geometry.reproject, no ROS): the arc2017 depth rendered into a second camera
(offset 5 cm, turned 4 degrees, other intrinsics and resolution) and reprojected back into the colour camera gives
3-D centroids within 3 mm of the registered depth's for every arc2017 object, compared on the pixels both depth
images have (measured 0.2 - 1.4 mm). Over the whole mask the centroid also moves with the pixels the side camera
does not see (it misses a quarter of the mouse traps: up to 11 mm), which says nothing about the reprojection.
The test renders with its own splatting renderer (2x2 footprint, minimum depth), not with the code under test."""
import numpy as np
import pytest

from gear_seg_ros.errors import ConfigError, InvalidImageError
from gear_seg_ros.geometry.reproject import quaternion_matrix, reproject_depth
from gear_seg_ros.geometry.target import target_geometry

THETA = np.deg2rad(4.0)
CENTRE = np.array([0.05, 0.01, 0.0])  # the depth camera's optical centre in the colour optical frame
QUAT = [0.0, np.sin(THETA / 2), 0.0, np.cos(THETA / 2)]  # its orientation (x, y, z, w): about the y axis
K_DEPTH = [420.0, 0.0, 250.0, 0.0, 425.0, 190.0, 0.0, 0.0, 1.0]
DEPTH_HW = (384, 512)


def rot_y(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def render(depth, k_src, k_dst, hw, r_dst_src, t_dst_src):
    """Forward splat of every valid pixel onto the 2x2 destination pixels around its projection; nearest wins."""
    k_src, k_dst = np.asarray(k_src).reshape(3, 3), np.asarray(k_dst).reshape(3, 3)
    vs, us = np.nonzero(np.isfinite(depth) & (depth > 0))
    z = depth[vs, us].astype(np.float64)
    rays = np.linalg.inv(k_src) @ np.stack([us, vs, np.ones_like(us)])
    p = r_dst_src @ (rays * z) + np.asarray(t_dst_src)[:, None]
    uv = (k_dst @ (p / p[2]))[:2]
    out = np.full(hw, np.inf)
    for du in (0, 1):
        for dv in (0, 1):
            u, v = np.floor(uv[0]).astype(int) + du, np.floor(uv[1]).astype(int) + dv
            ok = (u >= 0) & (u < hw[1]) & (v >= 0) & (v < hw[0]) & (p[2] > 0)
            np.minimum.at(out, (v[ok], u[ok]), p[2][ok])
    out[np.isinf(out)] = np.nan
    return out.astype(np.float32)


@pytest.fixture(scope="module")
def rendered(arc2017):
    r_cd = rot_y(THETA)  # depth axes in the colour frame: p_c = R_cd p_d + c
    depth_cam = render(arc2017["depth"], arc2017["camera_info"]["K"], K_DEPTH, DEPTH_HW, r_cd.T, -r_cd.T @ CENTRE)
    seen = np.isfinite(arc2017["depth"]).mean()  # the arc2017 depth itself has holes
    assert np.isfinite(depth_cam).mean() > 0.8 * seen  # most of the tote is seen by the second camera
    return depth_cam


def test_quaternion_convention():
    np.testing.assert_allclose(quaternion_matrix(QUAT), rot_y(THETA), atol=1e-12)
    np.testing.assert_allclose(quaternion_matrix([0, 0, 0, 2.0]), np.eye(3))
    with pytest.raises(ConfigError, match=r"identity: \[0.0, 0.0, 0.0, 1.0\]"):
        quaternion_matrix([0, 0, 0, 0])


def test_identity_is_exact(arc2017):
    d, k = arc2017["depth"], arc2017["camera_info"]["K"]
    out = reproject_depth(d, k, k, d.shape)
    np.testing.assert_array_equal(np.isnan(out), ~(np.isfinite(d) & (d > 0)))
    np.testing.assert_allclose(out[np.isfinite(out)], d[np.isfinite(out)], rtol=1e-6)


@pytest.mark.parametrize("index", range(8))
def test_reprojected_centroids_within_3mm_of_registered(arc2017, rendered, index):
    k, hw = arc2017["camera_info"]["K"], arc2017["depth"].shape
    back = reproject_depth(rendered, K_DEPTH, k, hw, QUAT, CENTRE)
    mask = arc2017["masks"][index].astype(bool)
    assert target_geometry(mask, back, k).n_pixels > 0.3 * target_geometry(mask, arc2017["depth"], k).n_pixels
    both = mask & np.isfinite(arc2017["depth"]) & (arc2017["depth"] > 0) & np.isfinite(back)
    registered = target_geometry(both, arc2017["depth"], k)
    reprojected = target_geometry(both, back, k)
    assert registered.centroid_valid and reprojected.centroid_valid
    err = np.linalg.norm(reprojected.centroid - registered.centroid)
    assert err < 0.003, err


def test_z_buffer_nearest_wins_and_holes_stay_empty():
    k = [100.0, 0, 2.0, 0, 100.0, 2.0, 0, 0, 1]
    # a 1 cm shift moves a pixel by 1 px at 1 m and by 2 px at 0.5 m: a far and a near pixel land on one pixel,
    # the far one first in raster order (x shift), then the near one first (y shift)
    for shift, far, near, hit in (([-0.01, 0.0, 0.0], (2, 2), (2, 3), (2, 1)),
                                  ([0.0, 0.01, 0.0], (1, 2), (0, 2), (2, 2))):
        depth = np.full((5, 5), np.nan, np.float32)
        depth[far], depth[near] = 1.0, 0.5
        out = reproject_depth(depth, k, k, (5, 5), translation=shift)
        assert np.isfinite(out).sum() == 1  # everything else is a hole (NaN)
        assert out[hit] == pytest.approx(0.5)  # the nearest surface, whatever the order
    with pytest.raises(InvalidImageError, match="depth camera_info K"):
        reproject_depth(depth, [0.0] * 9, k, (5, 5))
