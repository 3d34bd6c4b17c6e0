"""`gear_seg_agent`: GEAR-Seg reasoning segmentation as a ROS 2 lifecycle node.

configure builds the GearSegAgent (models load once); activate creates the topics, services and the action;
deactivate / cleanup release them. With `auto_start:=true` (default) a plain `ros2 run` configures and activates
itself. All model work runs on one worker thread (see worker.py); callbacks only store frames and queue requests.

Inputs (relative, remappable): image (sensor_msgs/Image) or image/compressed, depth (or depth/compressedDepth with
use_compressed_depth) + camera_info (use_depth), depth_camera_info (depth_registered:=false),
instruction (std_msgs/String). Services: ~/segment (gear_seg_msgs/Segment), ~/enable (std_srvs/SetBool).
Action: ~/segment (gear_seg_msgs/Segment, feedback = stage). Outputs: ~/result (every answer, failures
included), ~/grasp_targets (only successful answers with at least one target: what a grasp planner subscribes),
~/target_mask (mono8 union, header = source frame's), ~/debug_image, ~/descriptions (each newly perceived frame),
~/grasp_poses (PoseArray, one pose per target), ~/markers (rviz MarkerArray), ~/detections_2d / ~/detections_3d
(vision_msgs, ros/detections.py); /diagnostics once a second. Input QoS and its problems: ros/qos.py; depth
pairing: ros/sync.py.
Outputs are lifecycle publishers: created at configure, publishing only while active.
~/tracked_targets: the answer's targets followed on every new frame (see tracking.py; ~/stop_tracking ends it).
"""
from __future__ import annotations

import atexit
import os
import signal
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

import numpy as np
import rclpy
from gear_seg_msgs.action import Segment as SegmentAction
from gear_seg_msgs.msg import FrameDescriptions, SegmentationResult
from gear_seg_msgs.srv import Segment as SegmentSrv
from geometry_msgs.msg import PoseArray
from rcl_interfaces.msg import SetParametersResult
from rclpy._rclpy_pybind11 import RCLError
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import String
from std_srvs.srv import SetBool
from visualization_msgs.msg import MarkerArray

from gear_seg_ros.errors import GearSegError
from gear_seg_ros.ros import diagnostics
from gear_seg_ros.ros import params as node_params
from gear_seg_ros.ros.conversions import numpy_to_image
from gear_seg_ros.ros.markers import target_markers
from gear_seg_ros.ros.messages import empty_result, pose_array
from gear_seg_ros.ros.perception_worker import Request, Worker
from gear_seg_ros.ros.pipeline import Pipeline, stamp_ns
from gear_seg_ros.ros.qos import InputWatch, input_qos

if TYPE_CHECKING:
    from gear_seg_ros.ros.tracking import Tracking, TrackingStatus

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE
RESULT_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
OUTPUTS = (("result", SegmentationResult), ("grasp_targets", SegmentationResult), ("target_mask", Image),
           ("debug_image", Image), ("descriptions", FrameDescriptions), ("grasp_poses", PoseArray),
           ("markers", MarkerArray))
DETECTIONS = ("detections_2d", "detections_3d", "tracked_detections_2d", "tracked_detections_3d")
NO_VISION_MSGS = ("vision_msgs is not installed: ~/detections_2d and ~/detections_3d are not published; on a robot "
                  "apt install ros-jazzy-vision-msgs, here make setup (builds it from ../shared/vendor/ros2-jazzy)")


class GearSegAgentNode(LifecycleNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("gear_seg_agent", **kwargs)
        node_params.declare(self)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._agent: Any = None
        self._params: node_params.NodeParams | None = None
        self._pipeline: Pipeline | None = None
        self._tracker: Any = None
        self._tracking: Tracking | None = None
        self._worker: Worker | None = None
        self._inputs: list = []
        self._servers: list = []
        self._outputs: dict[str, Any] = {}
        self._action_server: ActionServer | None = None
        self._stats_timer = None
        self._stats = (0, 0)
        self._watch = InputWatch(self)
        self._input_group = MutuallyExclusiveCallbackGroup()  # frames: cheap, in order
        self._request_group = ReentrantCallbackGroup()  # services / action wait for the worker in parallel
        self._tracker_status: TrackingStatus | None = None  # the last tracking's, once it closed (/diagnostics)
        self._stuck_workers: list[Worker] = []  # workers that did not stop in time (a model call never returned)
        self._orphaned: list[Any] = []  # publishers kept for them
        self._state_label = "unconfigured"
        self._load: dict[str, Any] = {"state": "not loaded", "message": "waiting for configure"}
        self._diagnostics = self.create_publisher(diagnostics.DiagnosticArray, "/diagnostics", 10)
        self._diagnostics_timer = self.create_timer(1.0, self._publish_diagnostics,
                                                    callback_group=MutuallyExclusiveCallbackGroup())

    # ---- lifecycle ---------------------------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        from gear_seg_ros.agent import GearSegAgent
        from gear_seg_ros.reason.isolated import reasoner_for_node

        try:
            node_params.check_unknown(self)  # a misspelled key in a parameters file is refused, not ignored
            self._params, config = node_params.read(self)
            if self._params.use_depth:
                node_params.require_message_filters()
            from gear_seg_ros.doctor import failures, run_checks  # the checks of `gear-seg doctor`, same messages

            failed = failures(run_checks(config, ros=False, progress=self.get_logger().info))
            for row in failed:
                self.get_logger().error(f"doctor: {row.line()}")
            if failed:
                self.get_logger().error(f"configure failed: {len(failed)} doctor check(s) failed (gear-seg doctor)")
                return FAILURE
            t0 = time.monotonic()
            self._agent = GearSegAgent(config, reasoner=reasoner_for_node(config)).load()
            if config.tracker.enabled:
                from gear_seg_ros.track import build_tracker

                self._tracker = build_tracker(config.tracker, config.base_dir)
        except GearSegError as exc:
            self.get_logger().error(f"configure failed: {exc}")
            self._load = {"state": "failed", "message": str(exc)}
            return FAILURE
        except Exception as exc:  # noqa: BLE001 - rclpy would swallow it silently
            self.get_logger().error(f"configure failed: {type(exc).__name__}: {exc} (traceback at log level debug)")
            self.get_logger().debug(f"configure traceback:\n{traceback.format_exc()}")
            self._load = {"state": "failed", "message": f"{type(exc).__name__}: {exc}"}
            return FAILURE
        c = config
        self._load = {"state": "loaded", "load_s": f"{time.monotonic() - t0:.2f}", "message":
                      f"segmenter={c.segmenter.backend} describer={c.describer.backend} reasoner={c.reasoner.backend}"}
        for name, mtype in OUTPUTS:
            self._outputs[name] = self.create_lifecycle_publisher(mtype, f"~/{name}", RESULT_QOS)
        try:
            from vision_msgs.msg import Detection2DArray, Detection3DArray

            for name in DETECTIONS:
                mtype = Detection2DArray if name.endswith("2d") else Detection3DArray
                self._outputs[name] = self.create_lifecycle_publisher(mtype, f"~/{name}", RESULT_QOS)
        except ImportError:
            self.get_logger().warning(NO_VISION_MSGS)
        self._state_label = "inactive"
        self.get_logger().info(
            f"agent ready in {time.monotonic() - t0:.1f} s: segmenter={c.segmenter.backend} "
            f"describer={c.describer.backend} reasoner={c.reasoner.backend} policy={self._params.policy}")
        return SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        p = self._params
        image_topic = "image/compressed" if p.use_compressed else "image"
        depth_topic = "depth/compressedDepth" if p.use_compressed_depth else "depth"
        topics = {"image": self.resolve_topic_name(image_topic), "depth": self.resolve_topic_name(depth_topic),
                  "camera_info": self.resolve_topic_name("camera_info")}
        self._pipeline = pipe = Pipeline(self._agent, p, self.get_logger(), self, topics)
        fix = (f"set the parameter image_qos (now {p.image_qos}) to best_effort or auto (launch argument "
               "image_qos:=auto), or make the publisher offer reliable")
        inputs = [("image", image_topic, CompressedImage if p.use_compressed else Image,
                   (lambda m: pipe.on_image(m, True)) if p.use_compressed else pipe.on_image)]
        if p.use_depth:
            inputs.append(("depth", depth_topic, CompressedImage if p.use_compressed_depth else Image, pipe.on_depth))
            if not p.depth_registered:
                inputs.append(("depth_camera_info", "depth_camera_info", CameraInfo, pipe.on_depth_camera_info))
            inputs.append(("camera_info", "camera_info", CameraInfo, pipe.on_camera_info))
        qos_lines, discovered_by = [], time.monotonic() + 1.0  # image_qos auto: up to 1 s to discover publishers
        for name, topic, mtype, callback in inputs:
            resolved = self.resolve_topic_name(topic)
            qos, line = input_qos(self, resolved, p.image_qos, p.image_qos_depth,
                                  max(0.0, discovered_by - time.monotonic()))
            qos_lines.append(line)
            self._inputs.append(self.create_subscription(
                mtype, topic, callback, qos, callback_group=self._input_group,
                event_callbacks=self._watch.callbacks(name, resolved, qos, fix)))
        instruction_fix = "publish the instruction with reliable QoS (ros2 topic pub uses reliable by default)"
        self._inputs.append(self.create_subscription(
            String, "instruction", self._on_instruction, RESULT_QOS, callback_group=self._request_group,
            event_callbacks=self._watch.callbacks("instruction", self.resolve_topic_name("instruction"), RESULT_QOS,
                                                  instruction_fix)))
        self._servers = [
            self.create_service(SegmentSrv, "~/segment", self._on_segment, callback_group=self._request_group),
            self.create_service(SetBool, "~/enable", self._on_enable, callback_group=self._request_group)]
        self._action_server = ActionServer(self, SegmentAction, "~/segment", self._execute_goal,
                                    goal_callback=lambda _goal: GoalResponse.ACCEPT,
                                    cancel_callback=lambda _goal: CancelResponse.ACCEPT,
                                    callback_group=self._request_group)
        if self._tracker is not None:
            from gear_seg_ros.ros.tracking import Tracking

            self._tracking = Tracking(self, self._tracker, pipe, self._agent.config.geometry, RESULT_QOS,
                                      self._request_group)
            pipe.attach_tracking(self._tracking)
        idle = pipe.perceive_newest if p.policy == "continuous" else None
        self._worker = Worker(pipe.answer, idle)
        self._worker.start()
        self._stats = (0, 0)
        self._stats_timer = self.create_timer(10.0, self._log_stats, callback_group=self._input_group)
        self.get_logger().info(self._interface_summary(qos_lines))
        self._state_label = "active"
        return super().on_activate(state)  # enables the lifecycle publishers

    def _interface_summary(self, qos_lines: list[str]) -> str:
        """The start-up log line: every interface by its resolved name (what `ros2 ... call/echo` needs)."""
        svc = self.resolve_service_name
        services = [svc("~/segment"), svc("~/enable")] + ([svc("~/stop_tracking")] if self._tracking else [])
        outputs = [self.resolve_topic_name(f"~/{n}") for n in self._outputs]
        if self._tracking is not None:
            outputs.append(self.resolve_topic_name("~/tracked_targets"))
        return (f"active: inputs {'; '.join(qos_lines)}; instruction {self.resolve_topic_name('instruction')}; "
                f"services {', '.join(services)}; action {self.resolve_topic_name('~/segment')}; "
                f"outputs {', '.join(outputs)}; /diagnostics")

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        t0, stage = time.monotonic(), self._worker.current_stage if self._worker is not None else "idle"
        self._release()
        self._state_label = "inactive"
        waited = f"; waited {time.monotonic() - t0:.1f} s for the request at stage '{stage}'" if stage != "idle" else ""
        self.get_logger().info(f"deactivated: inputs, services and action removed, outputs paused{waited}")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        if self._agent is not None:  # an isolated reasoner's child process, the stages' HTTP clients
            self._agent.close()
        pubs, self._outputs = self._outputs, {}
        if any(w.is_alive() for w in self._stuck_workers):
            self._orphaned += pubs.values()  # a stuck worker may still publish
            pubs = {}
        for pub in pubs.values():
            self.destroy_lifecycle_publisher(pub)
        self._agent = self._tracker = None
        self._load = {"state": "not loaded", "message": "cleaned up"}
        self._state_label = "unconfigured"
        return SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self.on_cleanup(state)

    def _release(self) -> None:
        busy = self._worker is not None and not self._worker.stop()
        if busy and not self._worker.stop(timeout=self._params.request_timeout_s):
            # A model call that never returns: cleanup must not destroy the publishers under it (see on_cleanup);
            # the worker thread is a daemon and dies with the process.
            self.get_logger().error(
                f"the worker is still busy at stage '{self._worker.current_stage}' after "
                f"{5 + self._params.request_timeout_s:.0f} s; its publishers are kept until the node exits")
            self._stuck_workers.append(self._worker)
        if self._tracking is not None:
            self._tracking.close()
            self._tracker_status, self._tracking = self._tracking.status(), None
        for sub in self._inputs:
            self.destroy_subscription(sub)
        for srv in self._servers:
            self.destroy_service(srv)
        if self._action_server is not None:
            self._action_server.destroy()
        if self._stats_timer is not None:
            self.destroy_timer(self._stats_timer)
        self._worker, self._pipeline, self._action_server, self._stats_timer, self._inputs, self._servers = (
            None, None, None, None, [], [])

    # ---- requests ----------------------------------------------------------------------------------------------
    def _submit(self, instruction: str, mode: str, stamp: Any = None, **kw: Any) -> Request:
        req = Request(instruction, mode, stamp_ns(stamp) if stamp else 0, **kw)
        worker = self._worker  # deactivate may clear it while this callback runs
        if worker is None:
            req.result = empty_result(None, instruction, mode, "the node is not active (deactivated or not yet "
                                      "configured); activate it: ros2 lifecycle set <node> activate")
            req.done.set()
            return req
        limit = self._params.max_pending_requests
        if worker.pending() >= limit:  # bounded queue: waiting callbacks would also starve the executor's threads
            req.result = empty_result(None, instruction, mode, f"busy: {limit} requests are already queued "
                                      f"(stage of the running one: '{worker.current_stage}'); retry later, send "
                                      "fewer requests, or raise max_pending_requests")
            req.done.set()
            return req
        return worker.submit(req)

    def _wait(self, req: Request, timeout_s: float) -> SegmentationResult:
        timeout = timeout_s if timeout_s > 0 else getattr(self._params, "request_timeout_s", 60.0)
        if req.done.wait(timeout) and req.result is not None:
            return req.result
        if req.done.is_set() and req.error:
            return empty_result(None, req.instruction, req.mode, f"the request failed inside the node ({req.error}); "
                                "the node keeps serving: see its log, and report it if it repeats")
        req.abandoned = True
        return empty_result(None, req.instruction, req.mode, self._timeout_message(req, timeout))

    @staticmethod
    def _timeout_message(req: Request, timeout: float) -> str:
        later = " (the answer will still be published on ~/result)" if req.started else ""
        return (f"timed out after {timeout:.1f} s at stage '{req.stage}'{later}; raise the request's timeout_s or "
                "the request_timeout_s parameter, or choose faster backends")

    def _on_instruction(self, msg: String) -> None:
        self._submit(msg.data, "", source="topic")

    def _on_segment(self, request: SegmentSrv.Request, response: SegmentSrv.Response) -> SegmentSrv.Response:
        req = self._submit(request.instruction, request.mode, request.frame_stamp, source="service")
        response.result = self._wait(req, request.timeout_s)
        response.success, response.message = response.result.success, response.result.message
        return response

    def _execute_goal(self, goal_handle: Any) -> SegmentAction.Result:
        goal, t0 = goal_handle.request, time.monotonic()

        def feedback(stage: str) -> None:
            goal_handle.publish_feedback(SegmentAction.Feedback(stage=stage, elapsed_s=time.monotonic() - t0))

        req = self._submit(goal.instruction, goal.mode, goal.frame_stamp, source="action", on_stage=feedback,
                           is_cancelled=lambda: goal_handle.is_cancel_requested)
        timeout = goal.timeout_s if goal.timeout_s > 0 else getattr(self._params, "request_timeout_s", 60.0)
        while not req.done.wait(0.05):
            if (goal_handle.is_cancel_requested and req.started is None) or time.monotonic() - t0 > timeout:
                req.abandoned = True
                break
        if req.done.is_set() and req.result is not None:
            result = req.result
        elif goal_handle.is_cancel_requested:
            result = empty_result(None, goal.instruction, goal.mode, "cancelled by the client")
        else:
            result = empty_result(None, goal.instruction, goal.mode, self._timeout_message(req, timeout))
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
        elif result.success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        return SegmentAction.Result(result=result, success=result.success, message=result.message)

    def _on_enable(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        self.set_parameters([Parameter("enable", Parameter.Type.BOOL, bool(request.data))])
        response.success, response.message = True, f"enable={bool(request.data)}"
        return response

    def _on_set_parameters(self, changed: list[Parameter]) -> SetParametersResult:
        for p in changed:
            if p.name == "enable":
                if p.type_ != Parameter.Type.BOOL:
                    return SetParametersResult(successful=False, reason="enable must be a bool")
                pipe = self._pipeline
                if pipe is not None and p.value:
                    pipe.enable()
                elif pipe is not None:
                    pipe.disable()
        return SetParametersResult(successful=True)

    # ---- outputs (called from the worker thread) ---------------------------------------------------------------
    def publish_result(self, msg: SegmentationResult, image: np.ndarray | None, r: Any) -> None:
        self._publish_answer(msg, image, r)
        if self._tracking is not None:  # after the answer's own outputs: they go out first
            self._tracking.on_answer(image, r, msg)

    def _publish_answer(self, msg: SegmentationResult, image: np.ndarray | None, r: Any) -> None:
        pubs = self._outputs
        if not pubs:
            return
        pubs["result"].publish(msg)
        ok = msg.success and r is not None
        pubs["markers"].publish(target_markers(msg.header, msg.targets if ok else []))  # DELETEALL first
        if not ok:
            return
        pubs["target_mask"].publish(msg.union_mask)
        if msg.targets:
            pubs["grasp_targets"].publish(msg)
            pubs["grasp_poses"].publish(pose_array(msg))
            self.publish_detections(msg)
        if self._params.publish_debug_image and image is not None and pubs["debug_image"].get_subscription_count():
            from gear_seg_ros.visualize import draw_overlay

            labels = [t.description[:40] for t in msg.targets]
            overlay = draw_overlay(image, [t.mask for t in r.targets], [t.id for t in r.targets], labels)
            pubs["debug_image"].publish(numpy_to_image(overlay, "rgb8", msg.header))

    def publish_detections(self, msg: SegmentationResult, tracked: bool = False) -> None:
        """vision_msgs Detection2DArray / Detection3DArray of a result's targets (ros/detections.py)."""
        prefix = "tracked_" if tracked else ""
        pub2, pub3 = self._outputs.get(f"{prefix}detections_2d"), self._outputs.get(f"{prefix}detections_3d")
        if pub2 is None or pub3 is None:
            return
        from gear_seg_ros.ros.detections import detections_2d, detections_3d

        pub2.publish(detections_2d(msg))
        pub3.publish(detections_3d(msg))

    def publish_descriptions(self, msg: FrameDescriptions) -> None:
        pub = self._outputs.get("descriptions")
        if pub is not None:
            pub.publish(msg)

    def _publish_diagnostics(self) -> None:
        pipe, agent, tracking = self._pipeline, self._agent, self._tracking  # deactivate / cleanup may clear them
        items = diagnostics.sections(self._state_label, self._load, pipe.stats() if pipe is not None else None,
                                     agent.cache_stats() if agent is not None else None,
                                     tracking.status() if tracking is not None else self._tracker_status,
                                     self._watch.snapshot())
        self._diagnostics.publish(diagnostics.diagnostic_array(self.get_clock().now().to_msg(),
                                                               self.get_name(), items))

    def _log_stats(self) -> None:
        stats = self._pipeline.stats() if self._pipeline else None
        if stats is None or (stats.frames_received, stats.frames_skipped) == self._stats:
            return
        self._stats = (stats.frames_received, stats.frames_skipped)
        extra = f", perceived {stats.frames_perceived}"
        if self._params.policy == "continuous":
            extra += f", dropped while busy {stats.frames_skipped} (newest frame wins)"
        self.get_logger().info(f"frames received {stats.frames_received}{extra}")


def ros_params_args(args: list[str]) -> list[str]:
    """Lets `--params-file` name a plain agent config (config/cpu.yaml) too: rcl accepts only ROS parameter files,
    so a plain one is rewritten once into a temporary `/**: ros__parameters:` file with the same dotted keys."""
    import tempfile

    import yaml

    from gear_seg_ros.config import is_ros_parameters_file, ros_parameters

    out = list(args)
    for i, arg in enumerate(out[:-1]):
        if arg != "--params-file":
            continue
        try:
            with open(out[i + 1], encoding="utf-8") as f:
                doc = yaml.safe_load(f)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # rcl reports it
        if isinstance(doc, dict) and not is_ros_parameters_file(doc):
            params = ros_parameters(doc, out[i + 1])
            with tempfile.NamedTemporaryFile("w", prefix="gear_seg_params_", suffix=".yaml", delete=False) as tmp:
                yaml.safe_dump({"/**": {"ros__parameters": params}}, tmp)
            out[i + 1] = tmp.name
            _TEMP_PARAMS.append(tmp.name)
    return out


_TEMP_PARAMS: list[str] = []


@atexit.register
def remove_temp_params() -> None:
    """rcl parses parameter files in rclpy.init; the rewritten copies are removed once the node exists."""
    while _TEMP_PARAMS:
        try:
            os.unlink(_TEMP_PARAMS.pop())
        except OSError:
            pass


def usage() -> str:
    """`gear_seg_agent --help`."""
    from gear_seg_ros.ros.params import node_docs

    rows = "\n".join(f"  {name:28s} {doc.description}" for name, doc in node_docs().items())
    return f"""usage: gear_seg_agent [-h] [--ros-args [-p KEY:=VALUE]... [-r FROM:=TO]... [--params-file FILE]]

GEAR-Seg reasoning segmentation as a ROS 2 lifecycle node (configures and activates itself unless
auto_start:=false). Usually started with: ros2 launch gear_seg_ros agent.launch.py [ARG:=VALUE ...]
(ros2 launch gear_seg_ros agent.launch.py --show-args lists the launch arguments).

examples:
  gear_seg_agent --ros-args --params-file config/cpu.yaml -p use_depth:=true \\
      -r image:=/camera/image -r depth:=/camera/depth -r camera_info:=/camera/camera_info
  ros2 run gear_seg_ros gear_seg_agent --ros-args -p image_qos:=auto

--params-file takes a ROS parameters file or a plain agent config (config/cpu.yaml). Every key of the agent
config is a parameter (segmenter.backend, reasoner.llama_cpp.model_path, ...: see docs/configuration.md, or
ros2 param list / describe on a running node). The node's own parameters:
{rows}

inputs (remap with -r): image (or image/compressed), depth (or depth/compressedDepth), camera_info,
depth_camera_info, instruction. Services ~/segment, ~/enable; action ~/segment; outputs ~/result,
~/grasp_targets, ~/detections_2d, ~/detections_3d, ... (docs/ros-node.md)."""


def main(args: list[str] | None = None) -> None:
    argv = sys.argv if args is None else args
    ours = argv[1:argv.index("--ros-args")] if "--ros-args" in argv else argv[1:]
    if "-h" in ours or "--help" in ours:
        print(usage())
        return
    rclpy.init(args=ros_params_args(argv))
    node = GearSegAgentNode()
    remove_temp_params()
    # Service / action callbacks wait for the worker: one thread each for the queued requests, plus the inputs.
    executor = MultiThreadedExecutor(num_threads=4 + int(node.get_parameter("max_pending_requests").value))
    executor.add_node(node)
    if node.get_parameter("auto_start").value and node.trigger_configure() == SUCCESS:
        node.trigger_activate()
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RCLError:  # SIGINT: rclpy's handler shut the context down while a thread was building its wait set
        if rclpy.ok():
            raise
    finally:
        # Ctrl-C in a terminal reaches the node twice (directly, and forwarded by ros2 launch): the first ended spin(),
        # a second one must not raise KeyboardInterrupt inside the release (exit -2, the worker left running)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node._release()
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
