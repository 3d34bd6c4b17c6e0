"""Perception per frame, computed once and re-used by every query on that frame. LRU, bounded by count and bytes."""
from __future__ import annotations

import threading
from collections import OrderedDict

from gear_seg_ros.types import Perception


class FrameCache:
    def __init__(self, max_entries: int = 8, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Perception] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, frame_id: str) -> Perception | None:
        with self._lock:
            item = self._items.get(frame_id)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(frame_id)
            self.hits += 1
            return item

    def put(self, frame_id: str, perception: Perception) -> None:
        with self._lock:
            self._items[frame_id] = perception
            self._items.move_to_end(frame_id)
            while len(self._items) > 1 and (len(self._items) > self.max_entries or self.nbytes > self.max_bytes):
                self._items.popitem(last=False)

    def __contains__(self, frame_id: str) -> bool:
        with self._lock:
            return frame_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self._items.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
