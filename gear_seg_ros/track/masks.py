"""Mask helpers the trackers share: boxes, IoU, depth gating, cleaning. Work inside the mask's box: a 640x480
frame with six small targets costs a few crops, not six full-frame passes. OpenCV is imported where it is used:
the tracking package (track/settings.py, read by config.py) imports without it."""
from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1; x1/y1 exclusive


def box_of(mask: np.ndarray) -> Box:
    import cv2

    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    return (x, y, x + w, y + h)


def pad_box(box: Box, pad: int, hw: tuple[int, int]) -> Box:
    x0, y0, x1, y1 = box
    h, w = hw
    return (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))


def box_iou_masks(a: np.ndarray, box_a: Box, b: np.ndarray, box_b: Box) -> float:
    """IoU of two full-size bool masks, counted only inside the union of their boxes."""
    ix0, iy0 = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    ix1, iy1 = min(box_a[2], box_b[2]), min(box_a[3], box_b[3])
    if ix0 >= ix1 or iy0 >= iy1:
        return 0.0
    inter = np.count_nonzero(a[iy0:iy1, ix0:ix1] & b[iy0:iy1, ix0:ix1])
    union = np.count_nonzero(a[box_a[1]:box_a[3], box_a[0]:box_a[2]]) + \
        np.count_nonzero(b[box_b[1]:box_b[3], box_b[0]:box_b[2]]) - inter
    return float(inter / union) if union else 0.0


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def median_depth(mask: np.ndarray, depth: np.ndarray, box: Box) -> float:
    x0, y0, x1, y1 = box
    z = depth[y0:y1, x0:x1][mask[y0:y1, x0:x1]]
    z = z[np.isfinite(z) & (z > 0)]
    return float(np.median(z)) if z.size else float("nan")


def hold_on_depth(mask: np.ndarray, depth: np.ndarray, box: Box, ref_m: float, rel: float, min_m: float) -> None:
    """In place: drop mask pixels whose depth is further than the band from the target's depth `ref_m`.
    Pixels without a reading (0 / NaN: holes, shadows) are kept: nothing says they left the object."""
    if rel <= 0 or not np.isfinite(ref_m):
        return
    x0, y0, x1, y1 = box
    band = max(rel * ref_m, min_m)
    z = depth[y0:y1, x0:x1]
    with np.errstate(invalid="ignore"):
        off = np.isfinite(z) & (z > 0) & (np.abs(z - ref_m) > band)
    mask[y0:y1, x0:x1] &= ~off


def clean(mask: np.ndarray, box: Box, kernel: int, keep_ratio: float = 1.0) -> np.ndarray:
    """Opening + closing with an elliptic kernel, then the largest connected component and every other component
    at least `keep_ratio` of its area; a new full-size mask."""
    import cv2

    h, w = mask.shape
    x0, y0, x1, y1 = pad_box(box, kernel + 1, (h, w))
    crop = mask[y0:y1, x0:x1].view(np.uint8)
    if kernel > 1:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
        crop = cv2.morphologyEx(crop, cv2.MORPH_OPEN, k)
        crop = cv2.morphologyEx(crop, cv2.MORPH_CLOSE, k)
    out = np.zeros((h, w), bool)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(crop, connectivity=8)
    if n > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.flatnonzero(areas >= keep_ratio * areas.max()) + 1
        out[y0:y1, x0:x1] = labels == keep[0] if len(keep) == 1 else np.isin(labels, keep)
    return out


def inner_point(mask: np.ndarray, box: Box) -> tuple[float, float]:
    """The mask pixel furthest from its border (x, y): a positive prompt that stays inside thin or concave shapes."""
    import cv2

    x0, y0, x1, y1 = pad_box(box, 1, mask.shape)
    dist = cv2.distanceTransform(mask[y0:y1, x0:x1].view(np.uint8), cv2.DIST_L2, 3)
    v, u = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(u + x0), float(v + y0)
