"""Instance precision and recall of an answer's targets (one per object) at an IoU threshold (0.5).

Per query whose sample has instance ground truth (COCO, labelme, pkg:arc2017): the targets and the ground-truth
instances are matched one to one, highest IoU first; a pair counts when its IoU is at least the threshold. A target
left unmatched that lies inside a crowd instance (at least the threshold of its area) is neither right nor wrong.
Over a split: precision = matched / targets, recall = matched / ground-truth instances (crowds not counted).
A failed query has no targets: it adds its instances to the recall's denominator only.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

IOU_THRESHOLD = 0.5


@dataclass
class InstanceCounts:
    targets: int  # targets counted (crowd-covered unmatched ones left out)
    gt_instances: int  # non-crowd ground-truth instances
    matched: int

    def to_dict(self) -> dict:
        return asdict(self)


def match_instances(targets: Sequence[np.ndarray], instances: Sequence, iou_threshold: float = IOU_THRESHOLD
                    ) -> InstanceCounts:
    """`targets`: bool masks of the answer's targets; `instances`: objects with `.mask` (bool) and `.iscrowd`."""
    preds = [np.asarray(m, bool) for m in targets if np.asarray(m).any()]
    gts = [np.asarray(g.mask, bool) for g in instances if not g.iscrowd]
    crowds = [np.asarray(g.mask, bool) for g in instances if g.iscrowd]
    pairs = []
    for i, p in enumerate(preds):
        for j, g in enumerate(gts):
            inter = np.count_nonzero(p & g)
            if inter:
                iou = inter / np.count_nonzero(p | g)
                if iou >= iou_threshold:
                    pairs.append((iou, i, j))
    used_p, used_g = set(), set()
    for _iou, i, j in sorted(pairs, reverse=True):
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
    ignored = sum(1 for i, p in enumerate(preds) if i not in used_p and any(
        np.count_nonzero(p & c) >= iou_threshold * np.count_nonzero(p) for c in crowds))
    return InstanceCounts(len(preds) - ignored, len(gts), len(used_p))


def instance_summary(counts: Iterable[dict]) -> dict:
    """Precision / recall over the per-query `instances` dicts (InstanceCounts.to_dict()); {} when there are none."""
    counts = list(counts)
    if not counts:
        return {}
    targets = sum(c["targets"] for c in counts)
    gt = sum(c["gt_instances"] for c in counts)
    matched = sum(c["matched"] for c in counts)
    return {"iou_threshold": IOU_THRESHOLD, "queries": len(counts), "targets": targets, "gt_instances": gt,
            "matched": matched, "precision": matched / targets if targets else None,
            "recall": matched / gt if gt else None}
