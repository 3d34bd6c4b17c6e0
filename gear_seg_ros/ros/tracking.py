"""Tracking in the node: after a successful answer, its targets are followed on every new colour frame.

The image callback only parks the newest frame (O(1)); the tracker runs on its own thread, so neither the image
callback nor the perception worker waits for it. A frame that arrives while the tracker is busy replaces the
parked one (newest wins) and is counted in `dropped`. Output: ~/tracked_targets (gear_seg_msgs/SegmentationResult,
targets with track_id / tracking_state / track_score, header = the tracked frame's). ~/stop_tracking
(std_srvs/Trigger) ends tracking; a new answer replaces the targets (an answer without targets stops tracking).
A new perception of a later frame re-associates the tracks with its proposals (carried onto the current frame).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gear_seg_msgs.msg import GraspTarget, SegmentationResult
from std_srvs.srv import Trigger

from gear_seg_ros import raw_image
from gear_seg_ros.errors import GearSegError, InvalidImageError
from gear_seg_ros.geometry.target import GeometryOptions, target_geometry
from gear_seg_ros.ros import conversions
from gear_seg_ros.ros.messages import grasp_target
from gear_seg_ros.ros.pipeline import Pipeline, stamp_ns
from gear_seg_ros.track import LOST, PREDICTED, TRACKED
from gear_seg_ros.track.carry import carry_masks


@dataclass
class _Session:
    instruction: str
    mode: str
    start_ns: int
    targets: dict[int, Any]  # the answer's targets (types.Target) by id: mask ids, score, description
    frames: int = 0
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TrackingStatus:
    """Tracking.status(): what /diagnostics shows in its tracker section, as of the last tracker step."""

    message: str  # "tracking N targets of '<instruction>'" | "not tracking"
    backend: str
    frames_received: int
    frames_dropped: int  # replaced while the tracker was busy (the newest wins)
    updates: int
    live_targets: int
    last_update_s: float


class Tracking:
    """`node` publishes (create_publisher / create_service / publish_detections / get_logger); `pipeline` gives the
    frames and their paired depth; `geometry` = the agent's config.geometry (3-D of the tracked targets)."""

    def __init__(self, node: Any, tracker: Any, pipeline: Pipeline, geometry: GeometryOptions, qos: Any,
                 callback_group: Any = None) -> None:
        self._node, self._tracker, self._pipeline, self._log = node, tracker, pipeline, node.get_logger()
        self._geometry = geometry
        self._pub = node.create_publisher(SegmentationResult, "~/tracked_targets", qos)
        self._srv = node.create_service(Trigger, "~/stop_tracking", self._on_stop, callback_group=callback_group)
        self._lock = threading.Lock()  # the tracker and the session
        self._cv = threading.Condition()
        self._pending: tuple[Any, bool] | None = None
        self._proposals: tuple[int, np.ndarray, list] | None = None
        self._session: _Session | None = None
        self._closing = False
        self._received = self._dropped = self._updates = 0
        self._last_status = self._status_now(0, 0.0)
        self._thread = threading.Thread(target=self._run, name="gear_seg_tracker", daemon=True)
        self._thread.start()

    @property
    def active(self) -> bool:
        return self._session is not None

    # ---- inputs ------------------------------------------------------------------------------------------------
    def on_frame(self, frame: Any, compressed: bool = False) -> None:
        """Image callback: park the newest frame (worker.Frame, depth paired at capture) for the tracker thread."""
        if self._session is None:
            return
        with self._cv:
            self._received += 1
            if self._pending is not None:
                self._dropped += 1
            self._pending = (frame, compressed)
            self._cv.notify()

    def on_answer(self, image: np.ndarray | None, r: Any, msg: Any) -> None:
        """Worker thread, after an answer was published: its targets replace the tracked ones."""
        if image is None or r is None:
            return
        if not (msg.success and r.targets):
            n = self.stop()
            if n:
                self._log.info(f"tracking stopped: the new answer has no targets ({n} tracks ended)")
            return
        stamp = stamp_ns(msg.header.stamp)
        frame = self._pipeline.frame_at(stamp)
        depth, info = self._depth(frame, image.shape[:2], wait=False)
        with self._lock:
            try:
                states = self._tracker.start(image, [t.mask for t in r.targets], [t.id for t in r.targets], depth)
            except GearSegError as exc:
                self._log.warning(f"tracking not started: {exc}")
                self._session = None
                return
            self._session = _Session(r.instruction, r.mode, stamp, {t.id: t for t in r.targets})
        with self._cv:
            self._pending, self._proposals = None, None
        self._publish(msg.header, states, depth, info, 0.0)
        self._last_status = self._status_now(len(states), 0.0)

    def on_perception(self, stamp_ns: int, image: np.ndarray, perception: Any) -> None:
        """A frame was perceived (continuous policy or a request): its proposals re-associate the tracks."""
        session = self._session
        if session is not None and stamp_ns > session.start_ns:
            with self._cv:
                self._proposals = (stamp_ns, image, [m.mask for m in perception.masks])

    def stop(self) -> int:
        with self._lock:
            n = self._tracker.stop() if self._session is not None else 0
            self._session = None
        with self._cv:
            self._pending, self._proposals = None, None
        self._last_status = self._status_now(0, 0.0)
        return n

    def close(self) -> None:
        self.stop()
        with self._cv:
            self._closing = True
            self._cv.notify()
        self._thread.join(5.0)
        self._node.destroy_service(self._srv)
        self._node.destroy_publisher(self._pub)

    def _on_stop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        n = self.stop()
        response.success = True
        response.message = f"stopped tracking {n} targets" if n else "was not tracking"
        return response

    # ---- tracker thread ----------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cv:
                while self._pending is None and not self._closing:
                    self._cv.wait(0.5)
                if self._closing:
                    return
                (frame, compressed), self._pending = self._pending, None
                proposals, self._proposals = self._proposals, None
            try:
                self._step(frame, compressed, proposals)
            except InvalidImageError:
                pass  # the image callback already reported this input problem (once)
            except GearSegError as exc:
                self._pipeline.warn_once(f"tracking: {exc}")
            except Exception as exc:  # noqa: BLE001 - the tracker thread must outlive any one frame
                self._log.error(f"tracking failed on a frame: {type(exc).__name__}: {exc}")

    def _step(self, frame: Any, compressed: bool, proposals: tuple | None) -> None:
        t0 = time.monotonic()
        msg, stamp = frame.msg, frame.stamp_ns
        session = self._session
        if session is None or stamp <= session.start_ns:
            return
        image = raw_image.compressed_to_rgb(msg) if compressed else raw_image.image_to_rgb(msg)
        depth, info = self._depth(frame, image.shape[:2])
        props = None
        if proposals is not None:
            p_stamp, p_image, p_masks = proposals
            props = p_masks if p_stamp == stamp else carry_masks(p_image, image, p_masks)
        with self._lock:
            if self._session is not session:
                return  # replaced or stopped meanwhile
            states = self._tracker.update(image, depth, props)
            if not self._tracker.active:
                self._session = None
        self._updates += 1
        session.frames += 1
        seconds = time.monotonic() - t0
        self._publish(msg.header, states, depth, info, seconds, session)
        self._last_status = self._status_now(sum(s.state != LOST for s in states), seconds)
        if self._session is None and states:
            reasons = "; ".join(f"track {s.track_id}: {s.reason}" for s in states if s.state == LOST)
            self._log.info(f"tracking ended after {session.frames} frames: every target lost ({reasons})")

    def status(self) -> TrackingStatus:
        """As of the last tracker step, answer or stop (what /diagnostics shows)."""
        return self._last_status

    def _status_now(self, live: int, seconds: float) -> TrackingStatus:
        session = self._session
        return TrackingStatus(
            f"tracking {live} targets of {session.instruction!r}" if session else "not tracking", self._tracker.name,
            self._received, self._dropped, self._updates, live, seconds)

    # ---- outputs -----------------------------------------------------------------------------------------------
    def _depth(self, frame: Any, hw: tuple[int, int], wait: bool = True) -> tuple[np.ndarray | None, Any]:
        """Depth (metres) and camera_info paired with the frame at capture (Pipeline.paired_depth); (None, None) if
        none. A fresh frame's depth may still be on its way: wait up to sync_tolerance_s (+50 ms) for it."""
        if frame is None:
            return None, None
        try:
            return self._pipeline.paired_depth(frame, hw, wait)
        except GearSegError as exc:
            self._pipeline.warn_once(f"tracking without depth: {exc}")
            return None, None

    def _publish(self, header: Any, states: list, depth: np.ndarray | None, info: Any, seconds: float,
                 session: _Session | None = None) -> None:
        session = session or self._session
        if session is None:
            return
        out = SegmentationResult(header=header, instruction=session.instruction, mode=session.mode, success=True,
                                 confidence=float("nan"))
        counts = {name: sum(s.state == v for s in states) for name, v in
                  (("tracked", TRACKED), ("predicted", PREDICTED), ("lost", LOST))}
        out.message = "tracking: " + ", ".join(f"{v} {k}" for k, v in counts.items())
        out.selected_ids = [int(i) for s in states for i in session.targets[s.source_id].mask_ids]
        union = np.zeros(states[0].mask.shape, bool) if states else np.zeros((0, 0), bool)
        for s in states:
            out.targets.append(self._target(header, s, session, depth, info, self._geometry))
            if s.state != LOST:
                union |= s.mask
        out.union_mask = conversions.mask_to_image(union, header)
        timings = {**{k: float(v) for k, v in self._tracker.last_timings.items()}, "node_track_s": float(seconds)}
        out.stage_names, out.stage_seconds = list(timings), list(timings.values())
        self._pub.publish(out)
        self._node.publish_detections(out, tracked=True)

    @staticmethod
    def _target(header: Any, s: Any, session: _Session, depth: np.ndarray | None, info: Any,
                opts: Any) -> GraspTarget:
        answer = session.targets[s.source_id]
        shape = None
        if depth is not None and info is not None and s.state != LOST and s.area:
            shape = target_geometry(s.mask, depth, info.k, opts, s.box)
        t = grasp_target(header, s.source_id, answer.mask_ids, s.mask, s.box, answer.score, answer.description, shape)
        t.track_id, t.tracking_state, t.track_score = int(s.track_id), int(s.state), float(s.score)
        return t
