"""Error attribution: how much IoU the proposals allowed (the segmentation ceiling) vs. how much was reached.

ceiling = the best IoU that any union of the proposed masks reaches against the ground truth (ignore pixels left
out). The exact maximum is combinatorial. Pixels are first collapsed into "atoms" (pixels covered by the same set of
masks and with the same gt label), which shrinks the problem to a few hundred weighted atoms; masks that never touch
the gt are dropped (they can only add to the union). With at most `exact_max_masks` masks left, every subset is
tried; otherwise a greedy search starts from the masks that lie mostly (> 50% of their area) inside the gt and adds
or removes the single mask that raises IoU most, until nothing does.

Per split: lost to segmentation = mean(1 - ceiling), lost to description + reasoning = mean(ceiling - reached).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def _atoms(masks: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """masks: n x P bool, gt: P bool -> (n x K bool membership, K weights, K bool gt label)."""
    n = masks.shape[0]
    words = (n + 1 + 63) // 64
    keys = np.zeros((masks.shape[1], words), dtype=np.uint64)
    for i, row in enumerate(np.vstack([masks, gt[None]])):
        keys[:, i // 64] |= row.astype(np.uint64) << np.uint64(i % 64)
    if words == 1:
        unique, counts = np.unique(keys[:, 0], return_counts=True)
        unique = unique[:, None]
    else:
        unique, counts = np.unique(keys, axis=0, return_counts=True)
    bits = np.array([(unique[:, i // 64] >> np.uint64(i % 64)) & np.uint64(1) for i in range(n + 1)], dtype=bool)
    return bits[:n], counts.astype(np.float64), bits[n]


def _iou(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 1.0)


def _exact(member: np.ndarray, weight: np.ndarray, in_gt: np.ndarray, gt_area: float) -> tuple[float, list[int]]:
    n = member.shape[0]
    subsets = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.float32)
    covered = (subsets @ member.astype(np.float32)) > 0  # 2^n x K
    inter = covered[:, in_gt] @ weight[in_gt]
    union = gt_area + covered[:, ~in_gt] @ weight[~in_gt]
    ious = _iou(inter, union)
    best = int(np.argmax(ious))
    return float(ious[best]), [i for i in range(n) if best >> i & 1]


def _greedy(member: np.ndarray, weight: np.ndarray, in_gt: np.ndarray, gt_area: float) -> tuple[float, list[int]]:
    area = member @ weight
    inside = member[:, in_gt] @ weight[in_gt]
    chosen = inside > 0.5 * np.maximum(area, 1e-12)
    pos, neg = weight * in_gt, weight * ~in_gt

    def score(sel: np.ndarray) -> float:
        covered = member[sel].any(axis=0)
        return float(_iou(covered @ pos, gt_area + covered @ neg))

    best = score(chosen)
    for _ in range(4 * member.shape[0]):
        count = member[chosen].sum(axis=0)
        covered = count > 0
        inter, union = covered @ pos, gt_area + covered @ neg
        # toggling mask j: adding covers its uncovered atoms; removing uncovers the atoms only it covers
        gain = member & ~covered
        loss = member & (count == 1)
        delta = gain.astype(np.float64)
        delta[chosen] = -loss[chosen].astype(np.float64)
        cand = _iou(inter + delta @ pos, union + delta @ neg)
        j = int(np.argmax(cand))
        if cand[j] <= best + 1e-12:
            break
        chosen[j] = ~chosen[j]
        best = float(cand[j])
    return best, [int(i) for i in np.flatnonzero(chosen)]


def segmentation_ceiling(masks: Sequence[np.ndarray], gt: np.ndarray, ignore: np.ndarray | None = None,
                         exact_max_masks: int = 10) -> tuple[float, list[int]]:
    """(best IoU over unions of `masks`, the indices of that union). Empty gt -> (1.0, []) (the empty union)."""
    gt = np.asarray(gt, dtype=bool)
    keep = np.ones(gt.shape, bool) if ignore is None else ~np.asarray(ignore, dtype=bool)
    g = gt[keep]
    if not g.any():
        return 1.0, []
    if len(masks) == 0:
        return 0.0, []
    stack = np.stack([np.asarray(m, dtype=bool)[keep] for m in masks])
    useful = np.flatnonzero(stack[:, g].any(axis=1))
    if useful.size == 0:
        return 0.0, []
    member, weight, in_gt = _atoms(stack[useful], g)
    gt_area = float(weight[in_gt].sum())
    solve = _exact if useful.size <= exact_max_masks else _greedy
    best, picked = solve(member, weight, in_gt, gt_area)
    return best, [int(useful[i]) for i in picked]


def attribution_summary(pairs: Iterable[tuple[float, float]]) -> dict:
    """pairs of (ceiling, reached IoU) -> mean ceiling, mean reached and where the IoU was lost."""
    pairs = [(c, r) for c, r in pairs if c is not None and r is not None]
    if not pairs:
        return {"count": 0}
    ceiling, reached = np.array(pairs, dtype=np.float64).T
    return {"count": len(pairs), "mean_ceiling": float(ceiling.mean()), "mean_reached": float(reached.mean()),
            "lost_to_segmentation": float((1.0 - ceiling).mean()),
            "lost_to_description_reasoning": float((ceiling - reached).mean())}
