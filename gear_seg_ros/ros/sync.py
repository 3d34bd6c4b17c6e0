"""Depth and camera_info for colour frames: message_filters' ApproximateTimeSynchronizer pairs colour with depth,
message_filters' Cache keeps recent depth and camera_info.

Our own part, and why message_filters alone does not do it: the synchronizer only emits complete sets, while the
node must keep every colour frame (one without depth still gets its 2-D answer and the reason), look up camera_info
from the Cache (newest within the tolerance, else the newest received: most drivers stamp it with the image, some
latch one message, and K rarely changes), and let an answer wait a bounded time for its frame's depth
(`wait_for_pair`). The pair is stored on the Frame itself, so an answer that takes seconds uses its own frame's
depth however many images arrived meanwhile.
"""
from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STREAMS = ("depth", "camera_info")


@dataclass(frozen=True)
class PairingStats:
    """DepthPairer.stats(): the pairing counters at one moment (/diagnostics "depth pairing")."""

    paired: int  # colour frames that got their depth image
    images: int  # colour frames received
    depth: int  # depth images received
    camera_info: int  # camera_info messages received
    tolerance_s: float  # sync_tolerance_s
    wait_s: float  # how long an answer waits for its frame's depth (wait_bound_s)


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def wait_bound_s(tolerance_s: float) -> float:
    """How long an answer waits for its colour frame's depth and camera_info: 10 x sync_tolerance_s, at least 0.5 s
    (a depth image stamped within the tolerance is captured at most that much later; the rest is transport)."""
    return max(0.5, 10.0 * tolerance_s)


class DepthPairer:
    """Feed it with on_image / on_depth / on_camera_info (the node's subscription callbacks); it sets `depth`,
    `depth_dt_ns` and `camera_info` on the Frame objects registered with add_frame."""

    def __init__(self, tolerance_s: float, queue_size: int = 10) -> None:
        from message_filters import ApproximateTimeSynchronizer, Cache, SimpleFilter, TimeSynchronizer

        self.tolerance_s, self.tolerance_ns = tolerance_s, round(tolerance_s * 1e9)
        self.wait_s = wait_bound_s(tolerance_s)
        self._image, self._depth, self._info = SimpleFilter(), SimpleFilter(), SimpleFilter()
        # slop 0 would pair nothing (the synchronizer needs max - min < slop): exact stamps then
        sync = (ApproximateTimeSynchronizer([self._image, self._depth], queue_size, tolerance_s) if tolerance_s > 0
                else TimeSynchronizer([self._image, self._depth], queue_size))
        sync.registerCallback(self._paired)
        self._depth_cache = Cache(self._depth, cache_size=queue_size)
        self._info_cache = Cache(self._info, cache_size=queue_size)
        self._frames: collections.OrderedDict[int, Any] = collections.OrderedDict()  # id(image msg) -> Frame
        self._queue_size = queue_size
        self._changed = threading.Condition()
        self.paired = 0  # colour frames that got their depth image
        self.received = dict.fromkeys(("image", *STREAMS), 0)

    # ---- inputs ----------------------------------------------------------------------------------------------
    def add_frame(self, frame: Any) -> None:
        with self._changed:
            self._frames[id(frame.msg)] = frame
            while len(self._frames) > self._queue_size:
                self._frames.popitem(last=False)
            self.received["image"] += 1
        self._image.signalMessage(frame.msg)

    def add(self, stream: str, msg: Any) -> None:
        with self._changed:
            self.received[stream] += 1
        (self._depth if stream == "depth" else self._info).signalMessage(msg)
        if stream == "camera_info":
            with self._changed:
                self._changed.notify_all()

    def _paired(self, image: Any, depth: Any) -> None:
        with self._changed:
            frame = self._frames.get(id(image))
            if frame is not None and frame.msg is image and frame.depth is None:
                frame.depth, frame.depth_dt_ns = depth, abs(_stamp_ns(depth) - frame.stamp_ns)
                self.paired += 1
            self._changed.notify_all()

    def stats(self) -> PairingStats:
        with self._changed:
            return PairingStats(self.paired, self.received["image"], self.received["depth"],
                                self.received["camera_info"], self.tolerance_s, self.wait_s)

    # ---- answer side -----------------------------------------------------------------------------------------
    def camera_info_for(self, frame: Any) -> Any:
        """camera_info nearest to the frame's stamp within the tolerance, else the newest received (None: none)."""
        msgs = list(self._info_cache.cache_msgs)
        if not msgs:
            return None
        near = min(msgs, key=lambda m: abs(_stamp_ns(m) - frame.stamp_ns))
        return near if abs(_stamp_ns(near) - frame.stamp_ns) <= self.tolerance_ns else msgs[-1]

    def complete(self, frame: Any) -> bool:
        """Depth paired and a camera_info available; fills frame.camera_info when so."""
        if frame.depth is None:
            return False
        if frame.camera_info is None:
            frame.camera_info = self.camera_info_for(frame)
        return frame.camera_info is not None

    def wait_for_pair(self, frame: Any, newer: Callable[[], list] | None = None, timeout_s: float | None = None
                      ) -> Any:
        """The frame once its depth and camera_info are there, waiting at most `timeout_s` (default: wait_s). With
        `newer` (frames newest first, for "the newest frame" requests), a newer frame that completes first is
        taken instead. Returns None when nothing completed in time."""
        deadline = time.monotonic() + (self.wait_s if timeout_s is None else timeout_s)
        with self._changed:
            while True:
                candidates = [f for f in (newer() if newer else []) if f.stamp_ns >= frame.stamp_ns] or [frame]
                done = next((f for f in candidates if self.complete(f)), None)
                left = deadline - time.monotonic()
                if done is not None or left <= 0:
                    return done
                self._changed.wait(min(left, 0.05))

    def nearest_depth_dt_ns(self, frame: Any) -> int | None:
        """|stamp difference| to the nearest depth image still cached (for messages); None when none arrived."""
        frame_ns = frame.stamp_ns
        stamps = [_stamp_ns(m) for m in list(self._depth_cache.cache_msgs)]
        return min((abs(s - frame_ns) for s in stamps), default=None)

    def missing_depth_reason(self, frame: Any, depth_topic: str, info_topic: str) -> str:
        """Why `frame` has no 3-D, with what to do about it."""
        if not self.received["depth"]:
            return f"no depth image received yet on {depth_topic}"
        if frame.depth is not None:
            return f"no camera_info received yet on {info_topic}"
        nearest = self.nearest_depth_dt_ns(frame)
        near = f"the nearest depth image is {nearest / 1e6:.0f} ms from the colour image" if nearest is not None \
            else "no depth image is cached"
        base = (f"no depth image within sync_tolerance_s={self.tolerance_ns / 1e9:g} of this colour frame after "
                f"waiting {self.wait_s:.2f} s ({near})")
        with self._changed:
            others_paired = any(f.depth is not None for f in self._frames.values() if f is not frame)
        if others_paired:  # depth pairs with the frames around this one: its own was lost or late
            return (f"{base}; depth pairs with other recent frames, so this one's was lost or delayed: see "
                    "messages_lost in /diagnostics, and try image_qos:=reliable (or auto)")
        return (f"{base}; if the offset stays the same, colour and depth are stamped by different clocks (raise "
                "sync_tolerance_s or fix the driver's stamps)")
