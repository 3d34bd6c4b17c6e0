import numpy as np

from gear_seg_ros.cache import FrameCache
from gear_seg_ros.types import MaskProposal, Perception


def perception(fid, side=100):
    m = np.zeros((side, side), bool)
    m[:10, :10] = True
    return Perception(fid, (side, side), [MaskProposal(m)], ["a"])


def test_lru_by_entries():
    cache = FrameCache(max_entries=2)
    cache.put("a", perception("a"))
    cache.put("b", perception("b"))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", perception("c"))
    assert "b" not in cache and "a" in cache and "c" in cache


def test_bounded_by_bytes_but_keeps_the_newest():
    cache = FrameCache(max_entries=10, max_bytes=15_000)
    for fid in "abc":
        cache.put(fid, perception(fid))  # 10 kB of mask each
    assert len(cache) == 1 and "c" in cache
