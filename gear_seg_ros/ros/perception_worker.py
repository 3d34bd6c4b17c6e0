"""The node's single worker thread and its frame buffer (no ROS imports: testable alone).

Callbacks only store frames and enqueue requests; the worker runs every agent call, one at a time, so the
agent is never used from two threads and no executor thread is blocked by model work.
"""
from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("gear_seg.worker")


@dataclass
class Frame:
    msg: Any  # sensor_msgs Image or CompressedImage
    stamp_ns: int
    key: str | None  # agent frame id ("<frame_id>@<sec>.<nsec>"); None when the stamp is zero (content hash)
    received: float = field(default_factory=time.monotonic)
    # Paired by sync.DepthPairer (use_depth): kept with the frame however long the answer takes.
    depth: Any = None
    depth_dt_ns: int | None = None
    camera_info: Any = None


class FrameBuffer:
    """The last N frames; the newest wins. `skipped` counts frames never handed to the worker (continuous)."""

    def __init__(self, size: int) -> None:
        self._frames: collections.deque[Frame] = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self._taken: Frame | None = None
        self.received = 0
        self.skipped = 0

    def push(self, frame: Frame) -> None:
        with self._lock:
            if self._frames and self._frames[-1] is not self._taken:
                self.skipped += 1
            self._frames.append(frame)
            self.received += 1

    def newest(self) -> Frame | None:
        with self._lock:
            return self._frames[-1] if self._frames else None

    def take_newest(self) -> Frame | None:
        """Newest frame if the worker has not taken it yet (continuous policy)."""
        with self._lock:
            if not self._frames or self._frames[-1] is self._taken:
                return None
            self._taken = self._frames[-1]
            return self._taken

    def find(self, stamp_ns: int) -> Frame | None:
        with self._lock:
            return next((f for f in reversed(self._frames) if f.stamp_ns == stamp_ns), None)

    def newest_first(self) -> list[Frame]:
        """The buffered frames, newest first."""
        with self._lock:
            return list(reversed(self._frames))

    def newest_where(self, pred: Callable[[Frame], bool]) -> Frame | None:
        with self._lock:
            frames = list(self._frames)
        return next((f for f in reversed(frames) if pred(f)), None)

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._taken = None


class Cancelled(Exception):
    """Raised from a progress callback to stop a request between stages."""


@dataclass
class Request:
    instruction: str
    mode: str
    stamp_ns: int = 0  # 0 = newest frame
    source: str = "topic"  # topic | service | action
    on_stage: Callable[[str], None] | None = None
    is_cancelled: Callable[[], bool] = lambda: False
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    stage: str = "queued"
    abandoned: bool = False  # the caller stopped waiting before the worker started it
    result: Any = None
    error: str = ""  # set when handling raised: the worker survives, the caller gets this message
    done: threading.Event = field(default_factory=threading.Event)

    def progress(self, stage: str) -> None:
        if self.is_cancelled():
            raise Cancelled(f"cancelled before {stage}")
        self.stage = stage
        if self.on_stage is not None:
            self.on_stage(stage)


class Worker(threading.Thread):
    """Runs `handle(request)` for queued requests; calls `idle()` (continuous perception) when the queue is empty."""

    def __init__(self, handle: Callable[[Request], Any], idle: Callable[[], bool] | None = None,
                 poll_s: float = 0.02) -> None:
        super().__init__(name="gear_seg_worker", daemon=True)
        self._handle, self._idle, self._poll = handle, idle, poll_s
        self._queue: queue.Queue[Request] = queue.Queue()
        self._stop_event = threading.Event()
        self._current: Request | None = None

    def submit(self, request: Request) -> Request:
        self._queue.put(request)
        if self._stop_event.is_set():  # stopped meanwhile: the drain in run() may already be over
            self._release_queued()
        return request

    def pending(self) -> int:
        """Requests queued and not started (the running one not counted)."""
        return self._queue.qsize()

    def _release_queued(self) -> None:
        while True:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                return
            request.error = request.error or "the node was deactivated before the request ran"
            request.done.set()

    def _run_idle(self) -> bool:
        try:
            return bool(self._idle())
        except Exception:  # continuous perception of one bad frame must not stop the worker
            log.exception("continuous perception failed")
            return False

    def stop(self, timeout: float = 5.0) -> bool:
        """True when the thread ended within `timeout` (False: a model call is still running)."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)
        if self.is_alive():
            log.error("worker still busy at stage %r after %.0f s", self.current_stage, timeout)
        return not self.is_alive()

    @property
    def current_stage(self) -> str:
        request = self._current
        return request.stage if request is not None else "idle"

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                request = self._queue.get(timeout=self._poll)
            except queue.Empty:
                if self._idle is None or not self._run_idle():
                    self._stop_event.wait(self._poll)
                continue
            if request.abandoned:
                continue
            request.started = time.monotonic()
            self._current = request
            try:
                request.result = self._handle(request)
            except Exception as exc:  # the only worker thread must outlive any one request
                log.exception("request %r failed", request.instruction)
                request.error = f"{type(exc).__name__}: {exc}"
            self._current = None
            request.done.set()
        self._release_queued()  # release waiters
