"""Grasp poses, rviz markers, /diagnostics and parameter descriptions through a real node (its own process), fed the
real arc2017 RGB-D frame."""
import math
import time

import numpy as np
import pytest
from node_client import NODE, mask_of, running_node

from gear_seg_ros.geometry.target import target_geometry


@pytest.fixture(scope="module")
def served(tmp_path_factory, arc2017):
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from visualization_msgs.msg import MarkerArray

    params = {"use_depth": True, "image_qos": "reliable", "request_timeout_s": 30}  # an int for a float
    with running_node(tmp_path_factory.mktemp("node_grasp"), params) as (node, client):
        got = {"grasp_poses": [], "markers": [], "diagnostics": []}
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        for topic, mtype, key in ((f"{NODE}/grasp_poses", PoseArray, "grasp_poses"),
                                  (f"{NODE}/markers", MarkerArray, "markers"),
                                  ("/diagnostics", DiagnosticArray, "diagnostics")):
            client.node.create_subscription(mtype, topic, got[key].append, reliable)
        client.publish_frame(arc2017["rgb"], 500.0, depth=arc2017["depth"], k=arc2017["camera_info"]["K"])
        time.sleep(1.0)  # discovery of the new subscriptions
        yield node, client, arc2017, got


@pytest.mark.slow
def test_grasp_target_pose_fields_and_pose_array(served):
    node, client, arc, got = served
    response = client.call("the green box", "referring")
    assert response.success, response.message + node.log()[-2000:]
    targets = response.result.targets
    client.wait_until(lambda: len(got["grasp_poses"]) >= 1, 10, "~/grasp_poses")
    poses = got["grasp_poses"][-1]
    assert poses.header == response.result.header and len(poses.poses) == len(targets)
    for t, p in zip(targets, poses.poses):
        mask = mask_of(t.mask)
        local = target_geometry(mask, arc["depth"], arc["camera_info"]["K"]).pose  # the node uses the geometry as is
        assert t.pose_valid == (local is not None)
        if local is None:
            assert math.isnan(p.position.x)
            continue
        pos = np.array([t.pose.position.x, t.pose.position.y, t.pose.position.z])
        np.testing.assert_allclose(pos, local.position, atol=1e-4)
        q = t.pose.orientation
        np.testing.assert_allclose([q.x, q.y, q.z, q.w], local.quaternion, atol=1e-5)
        np.testing.assert_allclose([t.extents.x, t.extents.y, t.extents.z], local.extents, atol=1e-4)
        normal, approach = (np.array([v.x, v.y, v.z]) for v in (t.normal, t.approach))
        np.testing.assert_allclose(normal, local.normal, atol=1e-5)
        np.testing.assert_allclose(approach, -normal, atol=1e-6)
        assert (p.position.x, p.position.y, p.position.z) == (t.pose.position.x, t.pose.position.y,
                                                               t.pose.position.z)
    soap = targets[0]
    assert soap.pose_valid and abs(soap.pose.position.z - soap.centroid_3d.z) < 0.01


@pytest.mark.slow
def test_markers_per_target_then_cleared(served):
    from visualization_msgs.msg import Marker

    _node, client, _arc, got = served
    response = client.call("the green box", "referring")
    assert response.success
    stamp = response.result.header.stamp
    client.wait_until(lambda: any(m.markers[0].header.stamp == stamp for m in got["markers"]), 10, "~/markers")
    markers = next(m for m in reversed(got["markers"]) if m.markers[0].header.stamp == stamp).markers
    assert markers[0].action == Marker.DELETEALL
    valid = [t for t in response.result.targets if t.pose_valid]
    assert len(markers) == 1 + 3 * len(valid) and valid
    kinds = sorted((m.ns, m.type) for m in markers[1:4])
    assert kinds == sorted([("gear_seg/box", Marker.CUBE), ("gear_seg/approach", Marker.ARROW),
                            ("gear_seg/label", Marker.TEXT_VIEW_FACING)])
    drawn = markers[1:]  # (DELETEALL has type 0 = ARROW)
    box = next(m for m in drawn if m.type == Marker.CUBE)
    assert box.header.frame_id == "camera" and box.pose.orientation == valid[0].pose.orientation
    assert box.scale.x == pytest.approx(valid[0].extents.x)
    arrow = next(m for m in drawn if m.type == Marker.ARROW)
    assert arrow.points[1].z == pytest.approx(valid[0].pose.position.z)  # the arrow ends at the grasp point
    assert arrow.points[0].z < arrow.points[1].z  # and comes from the camera side
    text = next(m for m in drawn if m.type == Marker.TEXT_VIEW_FACING)
    assert text.text.startswith(f"#{valid[0].id} ")
    n = len(got["markers"])
    failed = client.call("   ", "referring")  # an empty instruction fails: the previous targets are gone
    assert not failed.success
    client.wait_until(lambda: len(got["markers"]) > n, 10, "clearing markers")
    assert [m.action for m in got["markers"][-1].markers] == [Marker.DELETEALL]


@pytest.mark.slow
def test_diagnostics_once_a_second(served):
    from diagnostic_msgs.msg import DiagnosticStatus

    _node, client, _arc, got = served
    n = len(got["diagnostics"])
    client.wait_until(lambda: len(got["diagnostics"]) >= n + 2, 5, "two /diagnostics messages")
    status = {s.name: s for s in got["diagnostics"][-1].status}
    assert set(status) >= {f"gear_seg_agent: {k}" for k in ("models", "pipeline", "depth pairing", "cache",
                                                              "tracker")}
    models = status["gear_seg_agent: models"]
    assert models.level == DiagnosticStatus.OK and "segmenter=classical" in models.message
    values = {s.name: {kv.key: kv.value for kv in s.values} for s in status.values()}
    assert values["gear_seg_agent: models"]["lifecycle_state"] == "active"
    pipeline = values["gear_seg_agent: pipeline"]
    assert int(pipeline["frames_received"]) > 0 and "frames_perceived" in pipeline
    assert "frames_dropped_while_busy" not in pipeline  # on_request perceives only what is asked: nothing dropped
    depth = values["gear_seg_agent: depth pairing"]
    assert int(depth["frames_with_depth"]) > 0 and "answers_with_3d" in depth and "depth_wait_s" in depth
    if int(pipeline["answers_ok"]):
        assert "last_segment_s" in pipeline and "last_node_total_s" in pipeline
        assert int(pipeline["frames_perceived"]) >= 1  # counted in on_request too
    assert int(values["gear_seg_agent: cache"]["entries"]) >= 0
    tracker = status["gear_seg_agent: tracker"]  # ros/tracking.py: the answer's targets are being tracked
    assert tracker.message == "not tracking" or tracker.message.startswith("tracking "), tracker.message
    assert {"backend", "frames_received", "frames_dropped", "updates"} <= set(values["gear_seg_agent: tracker"])


@pytest.mark.slow
def test_describe_parameters_gives_descriptions_and_ranges(served):
    from rcl_interfaces.msg import ParameterType
    from rcl_interfaces.srv import DescribeParameters, GetParameters, SetParameters
    from rclpy.parameter import Parameter

    _node, client, _arc, _got = served
    describe = client.node.create_client(DescribeParameters, f"{NODE}/describe_parameters")
    assert describe.wait_for_service(10)
    names = ["nms.iou_thresh", "segmenter.classical.work_side", "segmenter.onnx_sam2.runtime", "policy",
             "request_timeout_s", "reasoner.llama_cpp.n_threads"]
    future = describe.call_async(DescribeParameters.Request(names=names))
    client.wait_until(future.done, 10, "describe_parameters")
    d = {x.name: x for x in future.result().descriptors}
    iou = d["nms.iou_thresh"]
    assert iou.type == ParameterType.PARAMETER_DOUBLE and "IoU" in iou.description
    assert (iou.floating_point_range[0].from_value, iou.floating_point_range[0].to_value) == (0.0, 1.0)
    work = d["segmenter.classical.work_side"]
    assert work.type == ParameterType.PARAMETER_INTEGER and "longest image side" in work.description
    assert (work.integer_range[0].from_value, work.integer_range[0].to_value) == (64, 4096)
    assert "onnxruntime | tensorrt" in d["segmenter.onnx_sam2.runtime"].description
    assert "on_request | continuous" in d["policy"].description
    timeout = d["request_timeout_s"]
    assert timeout.type == ParameterType.PARAMETER_DOUBLE and "> 0" in timeout.description
    assert d["reasoner.llama_cpp.n_threads"].dynamic_typing  # default None: no fixed type
    get = client.node.create_client(GetParameters, f"{NODE}/get_parameters")
    future = get.call_async(GetParameters.Request(names=["request_timeout_s"]))
    client.wait_until(future.done, 10, "get_parameters")
    value = future.result().values[0]
    assert value.type == ParameterType.PARAMETER_DOUBLE and value.double_value == 30.0  # -p ...:=30 coerced
    setter = client.node.create_client(SetParameters, f"{NODE}/set_parameters")
    req = SetParameters.Request(parameters=[Parameter("request_timeout_s", value=45).to_parameter_msg(),
                                            Parameter("nms.iou_thresh", value=2.0).to_parameter_msg()])
    future = setter.call_async(req)
    client.wait_until(future.done, 10, "set_parameters")
    ok, out_of_range = future.result().results
    assert ok.successful, ok.reason  # an int for a float, at run time
    assert not out_of_range.successful and "out of range" in out_of_range.reason


def test_outputs_are_lifecycle_publishers(ros_environ):
    import rclpy
    from rclpy.lifecycle import LifecyclePublisher
    from rclpy.lifecycle import TransitionCallbackReturn as T

    from gear_seg_ros.ros.agent_node import GearSegAgentNode

    context = rclpy.Context()
    rclpy.init(args=["node", "--ros-args", "-p", "auto_start:=false"], context=context)
    node = GearSegAgentNode(context=context)
    try:
        assert not node._outputs
        assert node.trigger_configure() == T.SUCCESS
        pubs = node._outputs
        assert {"grasp_poses", "markers", "result"} <= set(pubs)
        assert all(isinstance(p, LifecyclePublisher) and not p.is_activated for p in pubs.values())
        assert node.trigger_activate() == T.SUCCESS and all(p.is_activated for p in pubs.values())
        assert node.trigger_deactivate() == T.SUCCESS and not any(p.is_activated for p in pubs.values())
        assert node.trigger_cleanup() == T.SUCCESS and not node._outputs
    finally:
        node.destroy_node()
        context.try_shutdown()
