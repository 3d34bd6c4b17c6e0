"""Approximate-time pairing of depth and camera_info with colour frames, at capture (no ROS imports).

As message_filters' ApproximateTimeSynchronizer would (it is not pip-installable): each colour frame gets the
depth image and camera_info whose stamps are nearest to its own, within a tolerance, whichever arrives first.
A message that arrives after its frame still finds it among the last `queue_size` frames. The pair lives on
the Frame object itself, so an answer that takes seconds still has its frame's depth: nothing is looked up at
answer time. camera_info is static for most cameras, so a frame without one within the tolerance gets the
newest received (its K is what matters).
"""
from __future__ import annotations

import collections
import threading
from typing import Any

STREAMS = ("depth", "camera_info")


class DepthPairer:
    """Attaches `depth`, `depth_dt_ns`, `camera_info` (and `nearest_depth_dt_ns`, for error messages) to frames."""

    def __init__(self, tolerance_s: float, queue_size: int = 10) -> None:
        self.tolerance_ns = round(tolerance_s * 1e9)
        self._frames: collections.deque = collections.deque(maxlen=queue_size)
        self._msgs = {s: collections.deque(maxlen=queue_size) for s in STREAMS}
        self._lock = threading.Lock()
        self.paired = 0  # frames that got a depth image
        self.received = dict.fromkeys(STREAMS, 0)

    def add_frame(self, frame: Any) -> None:
        with self._lock:
            for stream in STREAMS:
                for stamp, msg in self._msgs[stream]:
                    self._offer(frame, stream, stamp, msg)
            if frame.camera_info is None and self._msgs["camera_info"]:
                frame.camera_info = self._msgs["camera_info"][-1][1]
            self._frames.append(frame)

    def add(self, stream: str, stamp_ns: int, msg: Any) -> None:
        """A depth image or camera_info arrived: pair it with the recent frames it is nearest to."""
        with self._lock:
            self._msgs[stream].append((stamp_ns, msg))
            self.received[stream] += 1
            for frame in self._frames:
                self._offer(frame, stream, stamp_ns, msg)

    def _offer(self, frame: Any, stream: str, stamp_ns: int, msg: Any) -> None:
        dt = abs(stamp_ns - frame.stamp_ns)
        if stream == "depth" and (frame.nearest_depth_dt_ns is None or dt < frame.nearest_depth_dt_ns):
            frame.nearest_depth_dt_ns = dt
        if dt > self.tolerance_ns:
            return
        current = getattr(frame, f"{stream}_dt_ns")
        if current is not None and current <= dt:
            return
        if stream == "depth" and frame.depth is None:
            self.paired += 1
        setattr(frame, stream, msg)
        setattr(frame, f"{stream}_dt_ns", dt)
