"""Overlay of masks with their ids, for humans (CLI output, the node's debug image)."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def palette(n: int) -> np.ndarray:
    hues = (np.arange(n) * 0.618033988749895 % 1.0 * 179).astype(np.uint8)
    hsv = np.stack([hues, np.full(n, 200, np.uint8), np.full(n, 255, np.uint8)], axis=1)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0]


def draw_overlay(image: np.ndarray, masks: Sequence[np.ndarray], ids: Sequence[int],
                 labels: Sequence[str] | None = None, alpha: float = 0.5) -> np.ndarray:
    """Returns an RGB uint8 copy of `image` with each mask tinted, outlined and tagged with its id (and label)."""
    out = image.astype(np.float32)
    colors = palette(max(ids, default=0) + 1)
    for mask, mid in zip(masks, ids):
        out[mask] = (1 - alpha) * out[mask] + alpha * colors[mid]
    out = out.astype(np.uint8)
    scale = max(0.4, min(image.shape[:2]) / 800)
    for k, (mask, mid) in enumerate(zip(masks, ids)):
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, tuple(int(c) for c in colors[mid]), max(1, int(2 * scale)))
        ys, xs = np.nonzero(mask)
        if xs.size == 0:
            continue
        text = str(mid) if labels is None else f"{mid}: {labels[k]}"
        org = (int(np.median(xs)), int(np.median(ys)))
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), int(3 * scale) + 1, cv2.LINE_AA)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), max(1, int(scale)), cv2.LINE_AA)
    return out
