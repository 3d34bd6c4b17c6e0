"""ros/detections.py: vision_msgs from a SegmentationResult (real message classes, no DDS)."""
import math

import pytest

pytest.importorskip("vision_msgs.msg", reason="vision_msgs not installed: make setup builds it from "
                    "../shared/vendor/ros2-jazzy (on a robot: ros-jazzy-vision-msgs)")
from gear_seg_msgs.msg import GraspTarget, SegmentationResult

from gear_seg_ros.ros.detections import HYPOTHESIS_CLASS, detections_2d, detections_3d


def _result():
    msg = SegmentationResult(success=True)
    msg.header.frame_id, msg.header.stamp.sec = "camera_color_optical_frame", 42
    posed = GraspTarget(id=7, score=0.9, pose_valid=True, centroid_3d_valid=True)
    posed.box.x_offset, posed.box.y_offset, posed.box.width, posed.box.height = 10, 20, 30, 40
    posed.pose.position.x, posed.pose.position.y, posed.pose.position.z = 0.1, -0.2, 0.5
    s = math.sqrt(0.5)  # 90 deg about x: the pose's z axis points along -y of the camera
    posed.pose.orientation.x, posed.pose.orientation.w = s, s
    posed.extents.x, posed.extents.y, posed.extents.z = 0.08, 0.05, 0.02
    tracked = GraspTarget(id=3, score=0.5, track_id=12, centroid_3d_valid=True)
    tracked.centroid_3d.x, tracked.centroid_3d.z = 0.3, 0.7
    flat = GraspTarget(id=4, score=0.4)  # no depth
    msg.targets = [posed, tracked, flat]
    return msg


def test_detection_2d_per_target_with_box_score_id_and_header():
    out = detections_2d(_result())
    assert out.header.frame_id == "camera_color_optical_frame" and out.header.stamp.sec == 42
    assert [d.id for d in out.detections] == ["7", "12", "4"]  # the track id when tracked
    d = out.detections[0]
    assert (d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y) == (25, 40, 30, 40)
    assert d.results[0].hypothesis.class_id == HYPOTHESIS_CLASS
    assert d.results[0].hypothesis.score == pytest.approx(0.9) and d.results[0].pose.pose.position.z == 0.5
    assert d.header.stamp.sec == 42


def test_detection_3d_box_behind_the_grasp_point_and_targets_without_3d_left_out():
    out = detections_3d(_result())
    assert [d.id for d in out.detections] == ["7", "12"]
    box = out.detections[0].bbox
    # front face at the grasp point: centre extents.z / 2 along the pose's z axis (here -y of the camera)
    assert (box.center.position.x, box.center.position.y, box.center.position.z) == pytest.approx((0.1, -0.21, 0.5))
    assert (box.size.x, box.size.y, box.size.z) == pytest.approx((0.08, 0.05, 0.02))
    assert box.center.orientation.x == pytest.approx(math.sqrt(0.5))
    centroid_only = out.detections[1].bbox
    assert (centroid_only.center.position.x, centroid_only.center.position.z, centroid_only.size.x) == (0.3, 0.7, 0)
