"""3-D centroids: geometry.target_geometry on the arc2017 RGB-D ground truth (no ROS), then through the node (use_depth).

The centroid is the per-axis median of the points the grasp pose uses (depth outliers and points off the object's
surface dropped), so it lies on the object's dominant visible surface: within 2 cm of the median of all the
instance's depth points for every object but the measuring spoons, which lie at two depth layers: their centroid
sits on the layer the depth band keeps, 23 mm from the all-points median (which falls between the layers; the
centroid before issue 18, from a separate 20 %-of-distance band, kept both layers and sat 0 mm from it). They are
held to the 25 mm every grasp position is held to (tests/test_grasp_pose.py).
"""
from types import SimpleNamespace

import numpy as np
import pytest

from gear_seg_ros.errors import InvalidImageError
from gear_seg_ros.geometry.camera import check_depth_size
from gear_seg_ros.geometry.target import target_geometry
from gear_seg_ros.raw_image import depth_to_metres

TOL_M = 0.02
TWO_LAYERS = {"measuring_spoons": 0.025}


def arc2017_instance(data, class_name):
    return data["masks"][list(data["labels"]).index(data["class_names"].index(class_name))].astype(bool)


def iou(a, b):
    return float((a & b).sum() / max(1, (a | b).sum()))


def gt_point(data, mask):
    """The instance's median depth point: per-axis median of its back-projected valid depth pixels."""
    k = data["camera_info"]["K"]
    vs, us = np.nonzero(mask)
    z = data["depth"][vs, us]
    ok = np.isfinite(z) & (z > 0)
    us, vs, z = us[ok], vs[ok], z[ok]
    return np.median(np.stack([(us - k[2]) * z / k[0], (vs - k[5]) * z / k[4], z], axis=1), axis=0)


@pytest.mark.parametrize("index", range(8))
def test_every_gt_instance_within_2cm(arc2017, index):
    mask = arc2017["masks"][index].astype(bool)
    name = arc2017["class_names"][arc2017["labels"][index]]
    g = target_geometry(mask, arc2017["depth"], arc2017["camera_info"]["K"])
    assert g.centroid_valid and g.n_pixels > 0.5 * np.isfinite(arc2017["depth"][mask]).sum()
    assert np.linalg.norm(g.centroid - gt_point(arc2017, mask)) < TWO_LAYERS.get(name, TOL_M)


def test_robust_to_holes_and_flying_pixels(arc2017):
    mask = arc2017_instance(arc2017, "irish_spring_soap")
    depth = arc2017["depth"].copy()
    rng = np.random.default_rng(0)
    vs, us = np.nonzero(mask)
    pick = rng.permutation(vs.size)
    holes, flying = pick[: vs.size // 4], pick[vs.size // 4: vs.size // 4 + vs.size // 10]
    depth[vs[holes], us[holes]] = np.nan
    depth[vs[flying], us[flying]] = rng.uniform(0.2, 3.0, flying.size)  # background / flying pixels
    g = target_geometry(mask, depth, arc2017["camera_info"]["K"])
    assert g.centroid_valid and np.linalg.norm(g.centroid - gt_point(arc2017, mask)) < TOL_M


def test_16uc1_millimetres_and_32fc1_metres_agree(arc2017):
    mask = arc2017_instance(arc2017, "irish_spring_soap")
    metres = arc2017["depth"]
    mm = np.nan_to_num(metres * 1000.0, nan=0.0).round().astype(np.uint16)
    msg = SimpleNamespace(encoding="16UC1", height=480, width=640, step=1280, is_bigendian=0, data=mm.tobytes())
    k = arc2017["camera_info"]["K"]
    a, b = target_geometry(mask, depth_to_metres(msg), k), target_geometry(mask, metres, k)
    assert np.linalg.norm(a.centroid - b.centroid) < 0.002


def test_no_valid_depth_gives_an_invalid_centroid(arc2017):
    mask = arc2017_instance(arc2017, "irish_spring_soap")
    g = target_geometry(mask, np.full((480, 640), np.nan, np.float32), arc2017["camera_info"]["K"])
    assert not g.centroid_valid and not g.pose_valid and g.n_pixels == 0 and "no valid depth" in g.note


def test_size_mismatch_and_bad_k_are_explained(arc2017):
    with pytest.raises(InvalidImageError, match="depth image is 320x240 but the colour image is 640x480.*align"):
        check_depth_size((240, 320), (480, 640, 3))
    with pytest.raises(InvalidImageError, match="camera_info is for 1280x720"):
        check_depth_size((480, 640), (480, 640), (1280, 720))
    with pytest.raises(InvalidImageError, match="focal length"):
        target_geometry(np.ones((480, 640), bool), arc2017["depth"], [0.0] * 9)


# ---- through the node ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory, arc2017):
    from node_client import running_node

    params = {"use_depth": True, "image_qos": "reliable", "sync_tolerance_s": 0.05}
    with running_node(tmp_path_factory.mktemp("node_depth"), params) as (node, client):
        yield node, client, arc2017


@pytest.mark.slow
@pytest.mark.parametrize("stamp, units", [(400.0, "m"), (401.0, "mm")])
def test_node_fills_centroid_3d(served, stamp, units):
    from node_client import mask_of

    _node, client, arc = served
    depth = arc["depth"] if units == "m" else np.nan_to_num(arc["depth"] * 1000, nan=0).round().astype(np.uint16)
    client.publish_frame(arc["rgb"], stamp, depth=depth, k=arc["camera_info"]["K"])
    response = client.call("the green box", "referring")
    assert response.success, response.message
    gt = arc2017_instance(arc, "irish_spring_soap")
    target = response.result.targets[0]
    mask = mask_of(target.mask)
    assert iou(mask, gt) > 0.5
    assert target.centroid_3d_valid and target.depth_pixels >= 0.8 * np.isfinite(arc["depth"][mask]).sum()
    c = target.centroid_3d
    assert np.linalg.norm(np.array([c.x, c.y, c.z]) - gt_point(arc, gt)) < TOL_M
    same = target_geometry(mask, arc["depth"], arc["camera_info"]["K"])  # the node uses the geometry as is
    assert np.linalg.norm(np.array([c.x, c.y, c.z]) - same.centroid) < 0.003


@pytest.mark.slow
def test_node_depth_size_mismatch(served):
    _node, client, arc = served
    client.publish_frame(arc["rgb"], 402.0, depth=np.ascontiguousarray(arc["depth"][::2, ::2]),
                         k=arc["camera_info"]["K"])
    response = client.call("the green box", "referring")
    assert not response.success
    assert "depth image is 320x240 but the colour image is 640x480" in response.message
    assert response.result.targets  # the 2-D answer is still there, without 3-D
    assert not response.result.targets[0].centroid_3d_valid
    client.publish_frame(arc["rgb"], 403.0, depth=arc["depth"], k=arc["camera_info"]["K"])
    assert client.call("the green box", "referring").success


@pytest.mark.slow
def test_node_depth_out_of_sync(served):
    _node, client, arc = served
    client.publish_frame(arc["rgb"], 404.0, depth=arc["depth"], k=arc["camera_info"]["K"], depth_dt=0.5)
    response = client.call("the green box", "referring")
    assert response.success and "sync_tolerance_s" in response.message
    assert not response.result.targets[0].centroid_3d_valid
