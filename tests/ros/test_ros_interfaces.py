"""gear_seg_msgs: the package is well-formed (no ROS needed) and, when built, imports and serialises."""
import math
import re
import xml.etree.ElementTree as ET

from ros_env import REPO, require_ros

PKG = REPO / "ros2_ws" / "src" / "gear_seg_msgs"
INTERFACES = ["msg/GraspTarget.msg", "msg/SegmentationResult.msg", "msg/FrameDescriptions.msg",
              "srv/Segment.srv", "action/Segment.action"]


def test_package_declares_every_interface():
    root = ET.parse(PKG / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("member_of_group") == "rosidl_interface_packages"
    assert {e.text for e in root.findall("depend")} >= {"std_msgs", "sensor_msgs", "geometry_msgs",
                                                        "builtin_interfaces", "action_msgs"}
    cmake = (PKG / "CMakeLists.txt").read_text()
    for rel in INTERFACES:
        assert (PKG / rel).is_file() and f'"{rel}"' in cmake


def fields(rel: str) -> list[str]:
    lines = [re.sub(r"#.*", "", x).strip() for x in (PKG / rel).read_text().splitlines()]
    return [x for x in lines if x]


def test_service_request_equals_action_goal():
    srv, action = fields("srv/Segment.srv"), fields("action/Segment.action")
    assert srv[: srv.index("---")] == action[: action.index("---")]


def test_messages_import_and_round_trip():
    require_ros()
    from gear_seg_msgs.action import Segment as SegmentAction
    from gear_seg_msgs.msg import FrameDescriptions, GraspTarget, SegmentationResult
    from gear_seg_msgs.srv import Segment
    from rclpy.serialization import deserialize_message, serialize_message

    target = GraspTarget(id=3, centroid_u=1.5, centroid_v=2.5, centroid_3d_valid=True, depth_pixels=7,
                         score=0.9, description="a red mug")
    target.centroid_3d.z = 0.6
    target.mask.encoding = "mono8"
    result = SegmentationResult(instruction="grab the mug", mode="reasoning", success=True, selected_ids=[3],
                                targets=[target], confidence=math.nan, stage_names=["segment_s"],
                                stage_seconds=[0.25])
    back = deserialize_message(serialize_message(result), SegmentationResult)
    assert back.targets[0].description == "a red mug" and back.targets[0].centroid_3d.z == 0.6
    assert list(back.selected_ids) == [3] and math.isnan(back.confidence)
    assert list(back.stage_seconds) == [0.25]
    assert FrameDescriptions(ids=[1, 2], descriptions=["a", "b"]).boxes == []
    assert set(Segment.Request.get_fields_and_field_types()) == {"instruction", "mode", "frame_stamp", "timeout_s"}
    assert Segment.Response().result.confidence == 0.0
    assert SegmentAction.Goal.get_fields_and_field_types() == Segment.Request.get_fields_and_field_types()
    assert set(SegmentAction.Result.get_fields_and_field_types()) == {"result", "success", "message"}
    assert SegmentAction.Feedback.get_fields_and_field_types() == {"stage": "string", "elapsed_s": "float"}
