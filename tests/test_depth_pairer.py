"""ros.sync.DepthPairer: message_filters' ApproximateTimeSynchronizer + Cache under the node's pairing rules (real
sensor_msgs messages, no DDS: the filters are fed directly, as the node's subscription callbacks do)."""
import threading
import time

import pytest

pytest.importorskip("message_filters", reason="message_filters not installed: make setup installs it from "
                    "../shared/vendor/ros2-jazzy (on a robot: ros-jazzy-message-filters)")
from sensor_msgs.msg import CameraInfo, Image

from gear_seg_ros.ros.perception_worker import Frame
from gear_seg_ros.ros.sync import DepthPairer, wait_bound_s

MS = 1_000_000


def _msg(cls, stamp_ms):
    m = cls()
    m.header.stamp.sec, m.header.stamp.nanosec = divmod(stamp_ms * MS, 1_000_000_000)
    return m


def frame(stamp_ms):
    return Frame(_msg(Image, stamp_ms), stamp_ms * MS, None)


def test_depth_before_or_after_its_frame_is_paired_within_the_tolerance():
    p = DepthPairer(0.010)
    d101 = _msg(Image, 101)
    p.add("depth", d101)
    early = frame(100)
    p.add_frame(early)  # depth came first
    assert early.depth is d101 and early.depth_dt_ns == 1 * MS
    late = frame(200)
    p.add_frame(late)
    assert late.depth is None
    d200 = _msg(Image, 200)
    p.add("depth", d200)  # depth came after its frame
    assert late.depth is d200 and late.depth_dt_ns == 0
    far = frame(300)
    p.add_frame(far)
    p.add("depth", _msg(Image, 350))  # 50 ms > 10 ms
    assert far.depth is None and p.nearest_depth_dt_ns(far) == 50 * MS
    assert p.paired == 2 and p.received == {"image": 3, "depth": 3, "camera_info": 0}


def test_zero_tolerance_pairs_equal_stamps():
    p = DepthPairer(0.0)
    f = frame(100)
    p.add_frame(f)
    p.add("depth", _msg(Image, 100))
    assert f.depth is not None


def test_camera_info_nearest_within_tolerance_else_the_newest():
    p = DepthPairer(0.010)
    f = frame(100)
    p.add_frame(f)
    p.add("depth", _msg(Image, 100))
    assert not p.complete(f)  # no camera_info yet
    latched = _msg(CameraInfo, 0)
    p.add("camera_info", latched)
    assert p.complete(f) and f.camera_info is latched  # none within the tolerance: the newest
    g = frame(200)
    p.add_frame(g)
    p.add("depth", _msg(Image, 200))
    matched = _msg(CameraInfo, 200)
    p.add("camera_info", matched)
    p.add("camera_info", _msg(CameraInfo, 900))
    assert p.complete(g) and g.camera_info is matched


def test_wait_for_pair_returns_when_depth_arrives_and_is_bounded():
    p = DepthPairer(0.010)
    p.add("camera_info", _msg(CameraInfo, 100))
    f = frame(100)
    p.add_frame(f)
    threading.Timer(0.1, p.add, ("depth", _msg(Image, 100))).start()
    t0 = time.monotonic()
    assert p.wait_for_pair(f) is f
    assert time.monotonic() - t0 < wait_bound_s(0.010)
    g = frame(200)
    p.add_frame(g)
    t0 = time.monotonic()
    assert p.wait_for_pair(g, timeout_s=0.2) is None
    assert 0.2 <= time.monotonic() - t0 < 1.0
    assert "was lost or delayed" in p.missing_depth_reason(g, "/d", "/ci")  # f, next to it, paired


def test_a_newer_frame_that_pairs_first_is_taken_for_newest_requests():
    p = DepthPairer(0.010)
    p.add("camera_info", _msg(CameraInfo, 100))
    lost, newer = frame(100), frame(200)
    p.add_frame(lost)
    p.add_frame(newer)
    threading.Timer(0.05, p.add, ("depth", _msg(Image, 200))).start()
    assert p.wait_for_pair(lost, lambda: [newer, lost]) is newer


def test_reasons_name_the_likely_cause():
    p = DepthPairer(0.050)
    f = frame(1000)
    p.add_frame(f)
    assert "no depth image received yet on /d" in p.missing_depth_reason(f, "/d", "/ci")
    p.add("depth", _msg(Image, 1500))
    reason = p.missing_depth_reason(f, "/d", "/ci")
    assert "500 ms" in reason and "different clocks" in reason
    assert wait_bound_s(0.05) == 0.5 and wait_bound_s(0.2) == pytest.approx(2.0)
