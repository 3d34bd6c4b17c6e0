"""Mask-NMS benchmark: N SAM-like masks (nested parts, near-duplicates) at a given resolution."""
from __future__ import annotations

import time

import numpy as np

from gear_seg_ros.segment.nms import filter_masks
from gear_seg_ros.segment.settings import NmsConfig
from gear_seg_ros.types import MaskProposal


def synthetic_masks(n: int, side: int, seed: int = 0) -> list[MaskProposal]:
    """Ellipses of many sizes; every third one has a near-duplicate (a few pixels shifted), as SAM's grid produces."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    masks = []
    while len(masks) < n:
        cx, cy = rng.uniform(0, side, 2)
        rx, ry = rng.uniform(side * 0.02, side * 0.3, 2)
        base = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
        masks.append(MaskProposal(base, score=float(rng.uniform(0.8, 1)), stability=float(rng.uniform(0.9, 1))))
        if len(masks) % 3 == 0 and len(masks) < n:
            dup = np.roll(base, int(rng.integers(1, 3)), axis=1)
            masks.append(MaskProposal(dup, score=float(rng.uniform(0.8, 1)), stability=float(rng.uniform(0.9, 1))))
    return masks[:n]


def run(n: int = 300, side: int = 1024, repeats: int = 5) -> dict:
    masks = synthetic_masks(n, side)
    cfg = NmsConfig(max_masks=n)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        kept = filter_masks(masks, side * side, cfg)
        times.append(time.perf_counter() - t0)
    return {"masks": n, "side": side, "kept": len(kept), "median_ms": 1000 * float(np.median(times)),
            "min_ms": 1000 * float(np.min(times)), "repeats": repeats}
