"""From the reasoner's selected masks to targets, one per object.

Class-agnostic segmentation returns nested and overlapping masks of one object (the whole and its parts), and a
reasoner that reads their descriptions often selects several of them. Two selected masks are one object when one
lies inside the other (at least `containment` of the smaller one) or they overlap with IoU >= `overlap_iou`; the
relation is closed transitively. A target's mask is the union of its members, its id, description and score are
those of its largest member (the most complete view of the object), and `mask_ids` lists every member in the
reasoner's order. Targets come in the order of their first selected member. Selected masks that do not touch
that way (two apples side by side) stay separate targets.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gear_seg_ros.types import MaskProposal, Target, mask_box


def same_object(a: MaskProposal, b: MaskProposal, containment: float, overlap_iou: float) -> bool:
    """True when `a` and `b` are views of one object: the smaller lies inside the other (>= containment of its
    area) or their IoU is >= overlap_iou. Counted inside the boxes' intersection only."""
    ix0, iy0 = max(a.box[0], b.box[0]), max(a.box[1], b.box[1])
    ix1, iy1 = min(a.box[2], b.box[2]), min(a.box[3], b.box[3])
    if ix0 >= ix1 or iy0 >= iy1 or not a.area or not b.area:
        return False
    inter = int(np.count_nonzero(a.mask[iy0:iy1, ix0:ix1] & b.mask[iy0:iy1, ix0:ix1]))
    return inter >= containment * min(a.area, b.area) or inter >= overlap_iou * (a.area + b.area - inter)


def join_targets(masks: Sequence[MaskProposal], ids: Sequence[int], descriptions: Sequence[str],
                 cfg: Any) -> list[Target]:
    """Targets of the selected `ids` (indices into `masks` / `descriptions`); `cfg` = config.targets (join,
    containment, overlap_iou). With cfg.join false every selected mask is its own target."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    parent = list(range(len(ids)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    if cfg.join:
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                if root(a) != root(b) and same_object(masks[ids[a]], masks[ids[b]], cfg.containment,
                                                      cfg.overlap_iou):
                    parent[max(root(a), root(b))] = min(root(a), root(b))
    groups: dict[int, list[int]] = {}
    for k in range(len(ids)):
        groups.setdefault(root(k), []).append(ids[k])
    return [_target(masks, members, descriptions) for members in groups.values()]


def _target(masks: Sequence[MaskProposal], members: list[int], descriptions: Sequence[str]) -> Target:
    rep = max(members, key=lambda i: (masks[i].area, -members.index(i)))  # largest; the earlier on ties
    if len(members) == 1:
        mask, box = masks[rep].mask, masks[rep].box
    else:
        mask = np.logical_or.reduce([masks[i].mask for i in members])
        box = mask_box(mask)
    return Target(id=rep, mask_ids=members, mask=mask, box=box, score=float(masks[rep].score),
                  description=descriptions[rep])
