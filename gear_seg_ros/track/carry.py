"""Bring masks of an older frame onto the current one (a perception finishes frames after the frame it looked at).

One DIS flow from the current frame back to the older one, then each mask is pulled over with cv2.remap; the
result can be handed to Tracker.update(..., proposals=...) as proposals of the current frame.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def carry_masks(src_rgb: np.ndarray, dst_rgb: np.ndarray, masks: Sequence[np.ndarray], work_side: int = 320
                ) -> list[np.ndarray]:
    h, w = dst_rgb.shape[:2]
    if src_rgb.shape[:2] != (h, w):
        return []
    s = min(1.0, work_side / max(h, w))
    size = (max(8, round(w * s)), max(8, round(h * s)))
    grey = [cv2.resize(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA) for im in
            (dst_rgb, src_rgb)]
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # rare and larger motion: the careful preset
    flow = cv2.resize(dis.calc(grey[0], grey[1], None), (w, h), interpolation=cv2.INTER_LINEAR)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + flow[..., 0] * (w / size[0]), gy + flow[..., 1] * (h / size[1])
    out = []
    for m in masks:
        m = np.asarray(m, bool)
        if m.shape == (h, w):
            out.append(cv2.remap(m.view(np.uint8) * np.uint8(255), mx, my, cv2.INTER_LINEAR) > 127)
    return out
