"""What the worker thread does with a request or an idle moment: frame -> agent -> gear_seg_msgs.

Errors a user can fix become `success=false` results whose message says what to fix; each distinct problem is
logged once, so a misconfigured 30 Hz camera does not flood the log.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from gear_seg_ros import raw_image
from gear_seg_ros.errors import GearSegError, InvalidImageError, UnknownFrameError
from gear_seg_ros.geometry.camera import check_depth_size
from gear_seg_ros.geometry.target import FrameGeometry, target_geometry
from gear_seg_ros.reason.count import resolve_mode
from gear_seg_ros.ros import depth_input
from gear_seg_ros.ros.messages import descriptions_msg, empty_result, result_msg
from gear_seg_ros.ros.params import NodeParams
from gear_seg_ros.ros.perception_worker import Cancelled, Frame, FrameBuffer, Request
from gear_seg_ros.ros.sync import DepthPairer, PairingStats


class NoFrameError(GearSegError):
    pass


def stamp_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def frame_key(header: Any) -> str | None:
    """Agent cache id of a frame: `<frame_id>@<sec>.<nanosec>`; None (content hash) for a zero stamp."""
    ns = stamp_ns(header.stamp)
    return f"{header.frame_id}@{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}" if ns else None


@dataclass(frozen=True)
class PipelineStats:
    """The pipeline's counters at one moment (Pipeline.stats()): what /diagnostics and the node's log line show."""

    policy: str  # on_request | continuous
    image_topic: str  # resolved
    enabled: bool
    frames_received: int
    frames_skipped: int  # continuous: frames never handed to the worker (the newest wins)
    frames_perceived: int  # segmented and described (either policy); cache hits not counted
    answers_ok: int
    answers_failed: int
    answers_with_3d: int  # use_depth: successful answers with targets, with / without their 3-D
    answers_without_3d: int
    last_timings: dict[str, float]  # the last successful answer's stage seconds
    pairing: PairingStats | None  # use_depth only


class Pipeline:
    """Owns the frame buffer and the depth pairer; `out` (the node) publishes: out.publish_result(msg, image,
    query_result), out.publish_descriptions(msg). A tracking attached with attach_tracking() is handed every new
    frame (on_frame) and every new perception (on_perception)."""

    def __init__(self, agent: Any, params: NodeParams, logger: Any, out: Any, topics: dict[str, str]) -> None:
        self._agent, self._params, self._log, self._out, self._topics = agent, params, logger, out, topics
        self._frames = FrameBuffer(params.frame_buffer)
        self._pairer = DepthPairer(params.sync_tolerance_s) if params.use_depth else None
        self._timings: dict[str, float] = {}  # last answer's stage seconds (diagnostics)
        self._depth_camera_info: Any = None  # depth_registered:=false only
        self._enabled = params.enable
        self._perceived = 0  # frames segmented and described (either policy); cache hits not counted
        self._answers = {"ok": 0, "failed": 0, "with_3d": 0, "without_3d": 0}  # what /diagnostics shows
        self._tracking: Any = None  # ros/tracking.py Tracking, when the tracker is enabled
        self._last_perceived: Frame | None = None
        self._warned: set[str] = set()
        self._warn_lock = threading.Lock()

    # ---- control and state (the node) -------------------------------------------------------------------------
    def attach_tracking(self, tracking: Any) -> None:
        """Hands every new frame and perception to `tracking` (ros/tracking.py Tracking) from now on."""
        self._tracking = tracking

    def enable(self) -> None:
        self._enabled = True

    def disable(self) -> None:
        """Stops taking frames and answering (requests get "the node is disabled"); buffered frames are dropped."""
        self._enabled = False
        self._frames.clear()
        self._last_perceived = None

    def stats(self) -> PipelineStats:
        frames, answers = self._frames, self._answers
        return PipelineStats(
            policy=self._params.policy, image_topic=self._topics["image"], enabled=self._enabled,
            frames_received=frames.received, frames_skipped=frames.skipped, frames_perceived=self._perceived,
            answers_ok=answers["ok"], answers_failed=answers["failed"], answers_with_3d=answers["with_3d"],
            answers_without_3d=answers["without_3d"], last_timings=dict(self._timings),
            pairing=self._pairer.stats() if self._pairer is not None else None)

    def frame_at(self, stamp: int) -> Frame | None:
        """The buffered frame with this stamp (ns), or None."""
        return self._frames.find(stamp)

    def paired_depth(self, frame: Frame, hw: tuple[int, int], wait: bool = False) -> tuple[np.ndarray | None, Any]:
        """Depth (metres, on the colour grid `hw`) and camera_info paired with `frame` at capture; (None, None) when
        it has none, or when the depth is not `hw` in size. A fresh frame's depth may still be on its way: `wait`
        waits up to sync_tolerance_s (+50 ms) for it. Raises GearSegError when the depth is there but unusable."""
        timeout_s = self._params.sync_tolerance_s + 0.05 if wait else 0.0
        if self._pairer is None or self._pairer.wait_for_pair(frame, timeout_s=timeout_s) is None:
            return None, None
        metres = depth_input.depth_in_colour(frame.depth, frame.camera_info, hw, self._params,
                                             self._depth_camera_info)
        return (metres, frame.camera_info) if metres.shape == hw else (None, None)

    # ---- inputs (subscription callbacks: cheap, no model work) ------------------------------------------------
    def on_image(self, msg: Any, compressed: bool = False) -> None:
        if not self._enabled:
            return
        if not compressed:
            try:
                raw_image.check_image(msg, raw_image.COLOR_ENCODINGS)
            except InvalidImageError as exc:
                self.warn_once(self._input_problem(exc))
        frame = Frame(msg, stamp_ns(msg.header.stamp), frame_key(msg.header))
        if self._pairer is not None:
            self._pairer.add_frame(frame)
        self._frames.push(frame)
        if self._tracking is not None:
            self._tracking.on_frame(frame, compressed)

    def on_depth(self, msg: Any) -> None:
        self._pairer.add("depth", msg)

    def on_camera_info(self, msg: Any) -> None:
        self._pairer.add("camera_info", msg)

    def on_depth_camera_info(self, msg: Any) -> None:
        self._depth_camera_info = msg

    def warn_once(self, text: str) -> None:
        with self._warn_lock:
            if text in self._warned:
                return
            if len(self._warned) > 512:
                self._warned.clear()
            self._warned.add(text)
        self._log.warning(text)

    # ---- worker side -------------------------------------------------------------------------------------------
    def perceive_newest(self) -> bool:
        """Continuous policy: perceive the newest frame not yet taken. Returns False when there was nothing to do."""
        frame = self._frames.take_newest() if self._enabled else None
        if frame is None:
            return False
        try:
            self._perceive(frame, None)
            self._last_perceived = frame
        except GearSegError as exc:
            self.warn_once(f"continuous perception: {exc}")
        except Exception as exc:  # noqa: BLE001 - keep the worker alive whatever a backend does
            self.warn_once(f"continuous perception failed: {type(exc).__name__}: {exc}")
            self._log.debug(f"continuous perception traceback:\n{traceback.format_exc()}")
        return True

    def answer(self, req: Request) -> Any:
        t0 = time.monotonic()
        mode = resolve_mode(req.instruction if isinstance(req.instruction, str) else "",
                            req.mode or self._params.default_mode)
        header = None
        try:
            if not self._enabled:
                raise NoFrameError("the node is disabled; enable it: ros2 service call <node>/enable "
                                   "std_srvs/srv/SetBool '{data: true}' (or set parameter enable:=true)")
            instruction = self._agent.check_instruction(req.instruction, mode)
            frame = self._pick(req.stamp_ns)
            header = frame.msg.header
            image, perception, computed = self._perceive(frame, req.progress)
            r = self._agent.query(perception.frame_id, instruction, mode, req.progress, fresh=computed)
            geometry = self._geometry(r, frame)
            extra = {"wait_s": (req.started or t0) - req.created, "node_total_s": time.monotonic() - t0}
            msg = result_msg(header, r, geometry, extra)
            self._timings = dict(zip(msg.stage_names, msg.stage_seconds))
            self._count(msg, geometry.targets is not None)
            if geometry.note:
                self.warn_once(geometry.note)
            if not r.success:
                self.warn_once(f"reasoner: {r.message}")
            self._out.publish_result(msg, image, r)
            return msg
        except Cancelled:
            msg = empty_result(header, req.instruction, mode, "cancelled by the client")
        except GearSegError as exc:
            self.warn_once(str(exc))
            msg = empty_result(header, req.instruction, mode, str(exc))
        except Exception as exc:  # noqa: BLE001 - the node keeps serving
            self._log.error(f"request failed: {type(exc).__name__}: {exc} (traceback at log level debug)")
            self._log.debug(f"request traceback:\n{traceback.format_exc()}")
            msg = empty_result(header, req.instruction, mode,
                               f"internal error {type(exc).__name__}: {exc} (please report it with the node's log)")
        self._answers["failed"] += 1
        self._out.publish_result(msg, None, None)
        return msg

    def _count(self, msg: Any, with_3d: bool) -> None:
        self._answers["ok" if msg.success else "failed"] += 1
        if self._pairer is not None and msg.success and msg.targets:
            self._answers["with_3d" if with_3d else "without_3d"] += 1

    def _pick(self, wanted_ns: int) -> Frame:
        if wanted_ns:
            frame = self._frames.find(wanted_ns)
            if frame is None:
                raise UnknownFrameError(
                    f"no frame with stamp {wanted_ns / 1e9:.9f} among the last {self._params.frame_buffer} frames; "
                    "send frame_stamp 0 for the newest frame or raise the frame_buffer parameter")
            return frame
        frame = None
        if self._params.policy == "continuous":  # answer from the newest frame already perceived, if any
            frame = self._frames.newest_where(lambda f: f.key is not None and self._agent.has_frame(f.key))
            last = self._last_perceived  # at 30 Hz it leaves the short frame buffer long before the next is done
            if frame is None and last is not None and last.key is not None and self._agent.has_frame(last.key):
                frame = last
        frame = frame or self._frames.newest()
        if frame is None:
            raise NoFrameError(
                f"no image received yet on {self._topics['image']}; start the camera or remap the input "
                f"(e.g. -r image:=/camera/color/image_raw), and check its QoS matches image_qos={self._params.image_qos}")
        # continuous: keep the frame already perceived (answered from the cache at once) and wait for its own depth
        return self._with_depth(frame, newest=not wanted_ns and self._params.policy != "continuous")

    def _with_depth(self, frame: Frame, newest: bool) -> Frame:
        """use_depth: the frame once its depth and camera_info arrived (bounded wait, DepthPairer.wait_for_pair). For
        a "newest frame" request a newer frame that completes first is taken, and when none completes in time the
        newest buffered frame that has them; else the frame itself (its answer says why it has no 3-D)."""
        if self._pairer is None or self._pairer.complete(frame):
            return frame
        newer = self._frames.newest_first if newest else None
        done = self._pairer.wait_for_pair(frame, newer)
        if done is None and newest:
            done = next((f for f in self._frames.newest_first() if self._pairer.complete(f)), None)
        return done or frame

    def _perceive(self, frame: Frame, progress: Any) -> tuple[Any, Any, bool]:
        try:
            image = raw_image.compressed_to_rgb(frame.msg) if self._params.use_compressed \
                else raw_image.image_to_rgb(frame.msg, self._params.color_16bit_max)
        except InvalidImageError as exc:
            raise InvalidImageError(self._input_problem(exc)) from None
        perception, computed = self._agent.ensure_perceived(image, frame.key, progress)
        if computed:
            self._perceived += 1
            self._out.publish_descriptions(descriptions_msg(frame.msg.header, perception))
            if self._tracking is not None:
                self._tracking.on_perception(frame.stamp_ns, image, perception)
        return image, perception, computed

    def _input_problem(self, exc: Exception) -> str:
        return f"input image on {self._topics['image']}: {exc}"

    def _geometry(self, r: Any, frame: Frame) -> FrameGeometry:
        """Centroid and grasp pose of every target from the depth paired with `frame` at capture, or a note saying
        why there are none (error=True: depth was there but unusable)."""
        if not self._params.use_depth or not r.targets:
            return FrameGeometry()
        depth, info = frame.depth, frame.camera_info
        if depth is None or info is None:
            return FrameGeometry(note="centroid_3d not filled: " + self._pairer.missing_depth_reason(
                frame, self._topics["depth"], self._topics["camera_info"]))
        try:
            metres = depth_input.depth_in_colour(depth, info, r.union_mask.shape[:2], self._params,
                                                 self._depth_camera_info)
            check_depth_size(metres.shape, r.union_mask.shape, (int(info.width), int(info.height)))
            opts = self._agent.config.geometry
            return FrameGeometry([target_geometry(t.mask, metres, info.k, opts, t.box) for t in r.targets])
        except GearSegError as exc:
            return FrameGeometry(note=f"depth error: {exc}", error=True)
