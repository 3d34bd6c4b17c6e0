"""Test helpers: start `gear_seg_agent` in its own process and talk to it from this one over loopback DDS."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from ros_env import REPO, require_message_filters, ros_env

NODE = "/gear_seg_agent"


class NodeProcess:
    """`python -m gear_seg_ros.ros.agent_node` with parameters; stdout+stderr go to a log file."""

    def __init__(self, tmp: Path, params: dict[str, Any], remaps: dict[str, str] | None = None,
                 ros_args: list[str] | None = None) -> None:
        if params.get("use_depth"):
            require_message_filters()
        self.env = ros_env(tmp)
        self.log_path = tmp / "node.log"
        args = [sys.executable, "-m", "gear_seg_ros.ros.agent_node", "--ros-args"]
        for key, value in params.items():
            args += ["-p", f"{key}:={_param_text(value)}"]
        for src, dst in (remaps or {}).items():
            args += ["-r", f"{src}:={dst}"]
        args += ros_args or []  # e.g. ["--params-file", "config/cpu.yaml"]
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, env=self.env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def use_env(env: dict[str, str]) -> None:
    """Puts the ROS part of `env` into this process (before rclpy.init)."""
    for key, value in env.items():
        if key.startswith(("ROS_", "FASTRTPS_", "FASTDDS_", "RMW_")):
            os.environ[key] = value


class Client:
    """A test node: publishes camera topics / instructions, calls ~/segment, sends goals, records outputs."""

    def __init__(self, node_ns: str = NODE) -> None:
        import rclpy
        from gear_seg_msgs.action import Segment as SegmentAction
        from gear_seg_msgs.msg import FrameDescriptions, SegmentationResult
        from gear_seg_msgs.srv import Segment as SegmentSrv
        from rclpy.action import ActionClient
        from rclpy.executors import MultiThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image
        from std_msgs.msg import String
        from std_srvs.srv import SetBool

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("gear_seg_test_client", context=self.context)
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.image_pub = self.node.create_publisher(Image, "/image", reliable)
        self.depth_pub = self.node.create_publisher(Image, "/depth", reliable)
        self.info_pub = self.node.create_publisher(CameraInfo, "/camera_info", reliable)
        self.instruction_pub = self.node.create_publisher(String, "/instruction", reliable)
        self.segment = self.node.create_client(SegmentSrv, f"{node_ns}/segment")
        self.enable = self.node.create_client(SetBool, f"{node_ns}/enable")
        self.action = ActionClient(self.node, SegmentAction, f"{node_ns}/segment")
        self.received: dict[str, list] = {"result": [], "grasp_targets": [], "target_mask": [], "descriptions": [],
                                          "debug_image": []}
        self._lock = threading.Lock()
        for name, mtype in (("result", SegmentationResult), ("grasp_targets", SegmentationResult),
                            ("target_mask", Image), ("descriptions", FrameDescriptions), ("debug_image", Image)):
            self.node.create_subscription(mtype, f"{node_ns}/{name}", self._recorder(name), reliable)
        self.executor = MultiThreadedExecutor(num_threads=2, context=self.context)
        self.executor.add_node(self.node)
        self._spin = threading.Thread(target=self.executor.spin, daemon=True)
        self._spin.start()
        self.SegmentSrv, self.SegmentAction, self.String = SegmentSrv, SegmentAction, String
        self._frame: tuple | None = None  # what the camera thread re-publishes
        self._camera = threading.Thread(target=self._camera_loop, daemon=True)
        self._closing = threading.Event()
        self._camera.start()

    def _camera_loop(self, period: float = 0.1) -> None:
        """A camera at 10 Hz: re-publishes the current frame (same stamp), as a driver would stream."""
        while not self._closing.wait(period):
            frame = self._frame
            if frame is not None:
                for pub, msg in frame:
                    pub.publish(msg)

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(msg: Any) -> None:
            with self._lock:
                self.received[name].append(msg)
        return record

    def close(self) -> None:
        self._closing.set()
        self._camera.join(2)
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()

    # ---- waiting ----------------------------------------------------------------------------------------------
    def wait_ready(self, node: NodeProcess, timeout: float = 120.0) -> None:
        """Until ~/segment and the action server exist and the node subscribed to /image."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.proc.poll() is not None:
                raise RuntimeError(f"node exited with {node.proc.returncode}:\n{node.log()}")
            if (self.segment.service_is_ready() and self.action.server_is_ready()
                    and self.image_pub.get_subscription_count() > 0):
                return
            time.sleep(0.1)
        raise TimeoutError(f"node not ready after {timeout} s:\n{node.log()}")

    @staticmethod
    def wait_until(pred: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.05)

    # ---- inputs -----------------------------------------------------------------------------------------------
    def publish_frame(self, rgb: np.ndarray, stamp_s: float, depth: np.ndarray | None = None,
                      k: list[float] | None = None, encoding: str = "rgb8", frame_id: str = "camera",
                      mutate: Callable[[Any], None] | None = None, settle: float = 0.5,
                      depth_dt: float = 0.0) -> Any:
        """Makes the camera thread stream this frame (fixed stamp) from now on; waits `settle` s for delivery."""
        from sensor_msgs.msg import CameraInfo

        from gear_seg_ros.ros.conversions import numpy_to_image

        header = _header(stamp_s, frame_id)
        img = numpy_to_image(rgb[:, :, ::-1] if encoding == "bgr8" else rgb,
                             encoding if encoding in ("rgb8", "bgr8") else "rgb8", header)
        if encoding not in ("rgb8", "bgr8"):
            img.encoding = encoding
        if mutate is not None:
            mutate(img)
        frame = []
        if depth is not None:
            enc = "16UC1" if depth.dtype == np.uint16 else "32FC1"
            info = CameraInfo(header=header, height=int(rgb.shape[0]), width=int(rgb.shape[1]))
            info.k = [float(v) for v in k]
            depth_header = _header(stamp_s + depth_dt, frame_id)
            frame += [(self.depth_pub, numpy_to_image(depth, enc, depth_header)), (self.info_pub, info)]
        frame.append((self.image_pub, img))
        self._frame = frame
        time.sleep(settle)
        return header

    # ---- requests ---------------------------------------------------------------------------------------------
    def call(self, instruction: str, mode: str = "", stamp: Any = None, timeout_s: float = 0.0,
             wait: float = 120.0) -> Any:
        req = self.SegmentSrv.Request(instruction=instruction, mode=mode, timeout_s=float(timeout_s))
        if stamp is not None:
            req.frame_stamp = stamp
        future = self.segment.call_async(req)
        self.wait_until(future.done, wait, f"~/segment answer to {instruction!r}")
        return future.result()

    def send_goal(self, instruction: str, mode: str = "", wait: float = 120.0,
                  cancel_after_feedback: bool = False) -> tuple[Any, list, int]:
        """(result, feedback messages, final GoalStatus)."""
        feedback: list = []
        goal = self.SegmentAction.Goal(instruction=instruction, mode=mode)
        send = self.action.send_goal_async(goal, feedback_callback=lambda fb: feedback.append(fb.feedback))
        self.wait_until(send.done, 30, "goal acceptance")
        handle = send.result()
        assert handle.accepted
        if cancel_after_feedback:
            self.wait_until(lambda: len(feedback) > 0, wait, "first feedback")
            cancel = handle.cancel_goal_async()
            self.wait_until(cancel.done, 30, "cancel response")
        get = handle.get_result_async()
        self.wait_until(get.done, wait, "goal result")
        return get.result().result, feedback, get.result().status

    def set_enabled(self, value: bool) -> Any:
        from std_srvs.srv import SetBool

        future = self.enable.call_async(SetBool.Request(data=value))
        self.wait_until(future.done, 30, "~/enable")
        return future.result()


def _header(stamp_s: float, frame_id: str) -> Any:
    from std_msgs.msg import Header

    header = Header(frame_id=frame_id)
    header.stamp.sec = int(stamp_s)
    header.stamp.nanosec = round((stamp_s - int(stamp_s)) * 1e9)
    return header


def stage_seconds(result: Any) -> dict[str, float]:
    return dict(zip(result.stage_names, result.stage_seconds))


def mask_of(image_msg: Any) -> np.ndarray:
    from gear_seg_ros.raw_image import image_to_numpy

    return image_to_numpy(image_msg) > 0


@contextlib.contextmanager
def running_node(tmp: Path, params: dict[str, Any], remaps: dict[str, str] | None = None,
                 ros_args: list[str] | None = None):
    """Skips without ROS; yields (NodeProcess, Client) once the node serves; stops both afterwards."""
    from ros_env import require_ros

    require_ros()
    node = NodeProcess(tmp, params, remaps, ros_args)
    use_env(node.env)
    client = Client()
    try:
        client.wait_ready(node)
        yield node, client
    finally:
        client.close()
        node.stop()
