"""Depth / camera_info paired with colour frames at capture (ros.sync, no rclpy needed)."""
from types import SimpleNamespace

from gear_seg_ros.ros.sync import DepthPairer
from gear_seg_ros.ros.worker import Frame

MS = 1_000_000


def frame(stamp_ms):
    return Frame(SimpleNamespace(), stamp_ms * MS, None)


def test_depth_before_or_after_its_frame_is_paired_with_the_nearest_stamp():
    p = DepthPairer(0.010)
    p.add("depth", 98 * MS, "d98")
    p.add("depth", 101 * MS, "d101")
    f = frame(100)
    p.add_frame(f)
    assert f.depth == "d101" and f.depth_dt_ns == 1 * MS
    p.add("depth", 100 * MS, "d100")  # a later, better match replaces it
    assert f.depth == "d100" and f.depth_dt_ns == 0
    p.add("depth", 100 * MS + 500, "worse")
    assert f.depth == "d100"
    assert p.paired == 1


def test_out_of_tolerance_depth_is_not_paired_but_its_distance_is_kept():
    p = DepthPairer(0.050)
    f = frame(1000)
    p.add_frame(f)
    p.add("depth", 1500 * MS, "late")
    assert f.depth is None and f.nearest_depth_dt_ns == 500 * MS


def test_pairs_survive_any_number_of_later_messages():
    """The old node kept 16 depth images and looked the frame's up at answer time: a slow answer lost it."""
    p = DepthPairer(0.005, queue_size=4)
    frames = []
    for i in range(200):  # a 30 Hz stream for ~7 s while one answer is being computed
        stamp = round(i * 1000 / 30)
        p.add("depth", stamp * MS, f"d{i}")
        f = frame(stamp)
        p.add_frame(f)
        p.add("camera_info", stamp * MS, f"i{i}")
        frames.append(f)
    assert all(f.depth == f"d{i}" and f.camera_info == f"i{i}" for i, f in enumerate(frames))
    assert p.paired == 200


def test_camera_info_falls_back_to_the_newest_one():
    p = DepthPairer(0.010)
    p.add("camera_info", 0, "static")
    f = frame(5000)
    p.add_frame(f)
    assert f.camera_info == "static" and f.camera_info_dt_ns is None
    p.add("camera_info", 5000 * MS, "matched")
    assert f.camera_info == "matched" and f.camera_info_dt_ns == 0
