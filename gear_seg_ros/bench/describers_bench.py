"""Batched against one-by-one description of the same masks, for the configured describer."""
from __future__ import annotations

import time

import numpy as np

from gear_seg_ros.agent import GearSegAgent
from gear_seg_ros.config import AgentConfig

BATCH_KEYS = {"dam": "batch_size", "openai_vlm": "concurrency"}  # how each backend batches


def run(config: AgentConfig, image: np.ndarray, repeats: int = 1) -> dict:
    backend = config.describer.backend
    masks = GearSegAgent(config).perceive(image).masks
    key = BATCH_KEYS.get(backend)
    section = getattr(config.describer, backend)
    variants = {"batched": getattr(section, key), "one_by_one": 1} if key else {"as_is": None}
    report = {"describer": backend, "masks": len(masks), "batch_key": key, "runs": {}}
    for name, size in variants.items():
        cfg = config.model_copy(deep=True)
        if key:
            setattr(getattr(cfg.describer, backend), key, size)
        describer = GearSegAgent(cfg).describer
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            describer.describe(image, masks)
            times.append(time.perf_counter() - t0)
        report["runs"][name] = {"batch": size, "median_s": float(np.median(times)),
                                "per_mask_ms": 1000 * float(np.median(times)) / max(1, len(masks))}
    return report
