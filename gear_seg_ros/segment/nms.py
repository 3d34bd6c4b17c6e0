"""Mask NMS and filtering between segmentation and description.

Two duplicate rules, applied greedily in stability-then-score order (as the reference: the more stable mask stays):
- the reference rule: the intersection covers more than `containment_thresh` of BOTH masks;
- plain IoU above `iou_thresh` (1.0 disables it).
Both imply IoU >= t, so only pairs whose areas differ by less than that ratio and whose boxes overlap enough can be
duplicates; their exact intersection is counted on the overlapping crop only. That keeps 300 full-resolution masks
well under 100 ms instead of the reference's O(N^2) full-image loop (see `gear-seg bench nms`).
"""
from __future__ import annotations

import numpy as np

from gear_seg_ros.segment.settings import NmsConfig
from gear_seg_ros.types import MaskProposal


def filter_masks(masks: list[MaskProposal], image_area: int, cfg: NmsConfig) -> list[MaskProposal]:
    """Drops tiny masks and duplicates, caps the count, returns the survivors largest first (index 0 = largest)."""
    min_area = cfg.min_area_fraction * image_area
    kept = [m for m in masks if m.area > 0 and m.area >= min_area]
    kept = suppress_duplicates(kept, cfg.containment_thresh, cfg.iou_thresh)
    if len(kept) > cfg.max_masks:
        by_score = sorted(range(len(kept)), key=lambda i: (-kept[i].score, -kept[i].stability, i))
        kept = [kept[i] for i in sorted(by_score[: cfg.max_masks])]
    order = sorted(range(len(kept)), key=lambda i: (-kept[i].area, i))
    return [kept[i] for i in order]


def suppress_duplicates(masks: list[MaskProposal], containment_thresh: float = 0.99,
                        iou_thresh: float = 1.0) -> list[MaskProposal]:
    """Keeps input order among survivors."""
    n = len(masks)
    if n < 2:
        return list(masks)
    areas = np.array([m.area for m in masks], dtype=np.float64)
    boxes = np.array([m.box for m in masks], dtype=np.int64)
    # Any duplicate under either rule has IoU >= floor, hence min(area)/max(area) >= floor.
    floor = min(iou_thresh, containment_thresh / (2.0 - containment_thresh))
    ratio = np.minimum.outer(areas, areas) / np.maximum.outer(areas, areas)
    x0 = np.maximum.outer(boxes[:, 0], boxes[:, 0])
    y0 = np.maximum.outer(boxes[:, 1], boxes[:, 1])
    x1 = np.minimum.outer(boxes[:, 2], boxes[:, 2])
    y1 = np.minimum.outer(boxes[:, 3], boxes[:, 3])
    # The intersection of two masks is at most the area of their boxes' intersection: an upper bound on IoU.
    box_inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    bound = np.minimum(box_inter, np.minimum.outer(areas, areas))
    iou_bound = bound / np.maximum(np.add.outer(areas, areas) - bound, 1.0)
    candidate = (ratio >= floor) & (iou_bound >= floor)
    np.fill_diagonal(candidate, False)

    duplicate = np.zeros((n, n), dtype=bool)
    for i, j in zip(*np.nonzero(np.triu(candidate))):
        crop = (slice(y0[i, j], y1[i, j]), slice(x0[i, j], x1[i, j]))
        inter = np.count_nonzero(masks[i].mask[crop] & masks[j].mask[crop])
        union = areas[i] + areas[j] - inter
        contained = inter > containment_thresh * areas[i] and inter > containment_thresh * areas[j]
        if contained or inter > iou_thresh * union:
            duplicate[i, j] = duplicate[j, i] = True

    order = sorted(range(n), key=lambda k: (-masks[k].stability, -masks[k].score, k))
    keep = np.zeros(n, dtype=bool)
    for k in order:
        if not (duplicate[k] & keep).any():
            keep[k] = True
    return [m for m, k in zip(masks, keep) if k]
