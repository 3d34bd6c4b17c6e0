"""Reasoning-segmentation scores, as LISA and its peers define them.

Per sample, over the pixels that are not ignored (N = the number of scored pixels):
  I = |pred & gt|, U = |pred | gt|, IoU = I / U, and IoU = 1 when both prediction and target are empty (I = U = 0).
  A failed answer (no usable reply) scores I = 0, U = |gt| (Seg-Zero's rule) and IoU = 0, even for an empty target.
Over a split:
  gIoU  = mean of the per-sample IoU
  cIoU  = sum(I) / sum(U)                      (cumulative; large objects weigh more)
  ncIoU = sum(I / N) / sum(U / N)              (size-normalised cIoU: each sample's I and U are divided by its own
                                                number of scored pixels before summing, so image resolution no
                                                longer weighs a sample; object size still does)
  cIoU and ncIoU are 1.0 when every sample has U = 0.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class SampleScore:
    intersection: int
    union: int
    scored_pixels: int
    gt_area: int
    pred_area: int
    iou: float
    success: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def _check(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None) -> np.ndarray:
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in size")
    keep = np.ones(gt.shape, dtype=bool) if ignore is None else ~np.asarray(ignore, dtype=bool)
    if keep.shape != gt.shape:
        raise ValueError(f"ignore mask {keep.shape} and ground truth {gt.shape} differ in size")
    return keep


def score_masks(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> SampleScore:
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    keep = _check(pred, gt, ignore)
    p, g = pred & keep, gt & keep
    inter, union = int(np.count_nonzero(p & g)), int(np.count_nonzero(p | g))
    iou = 1.0 if union == 0 else inter / union
    return SampleScore(inter, union, int(keep.sum()), int(g.sum()), int(p.sum()), iou)


def failed_score(gt: np.ndarray, ignore: np.ndarray | None = None) -> SampleScore:
    gt = np.asarray(gt, dtype=bool)
    keep = _check(gt, gt, ignore)
    area = int(np.count_nonzero(gt & keep))
    return SampleScore(0, area, int(keep.sum()), area, 0, 0.0, success=False)


def _get(record, key):
    return record[key] if isinstance(record, dict) else getattr(record, key)


def summarize(records: Iterable) -> dict:
    """records: SampleScore objects or dicts with intersection, union, scored_pixels, iou, success."""
    records = list(records)
    if not records:
        return {"count": 0, "gIoU": None, "cIoU": None, "ncIoU": None, "failed": 0}
    inter = np.array([_get(r, "intersection") for r in records], dtype=np.float64)
    union = np.array([_get(r, "union") for r in records], dtype=np.float64)
    pixels = np.maximum(np.array([_get(r, "scored_pixels") for r in records], dtype=np.float64), 1.0)
    ious = np.array([_get(r, "iou") for r in records], dtype=np.float64)
    n_union = (union / pixels).sum()
    return {
        "count": len(records),
        "gIoU": float(ious.mean()),
        "cIoU": float(inter.sum() / union.sum()) if union.sum() > 0 else 1.0,
        "ncIoU": float((inter / pixels).sum() / n_union) if n_union > 0 else 1.0,
        "failed": int(sum(not _get(r, "success") for r in records)),
    }


def breakdown(records: Iterable[dict], key: str) -> dict[str, dict]:
    """summarize() per value of record[key] (None -> "unknown"); e.g. key="is_sentence" or "category"."""
    groups: dict[str, list] = {}
    for record in records:
        value = record.get(key)
        if isinstance(value, bool):
            value = "sentence" if value else "phrase"
        groups.setdefault("unknown" if value is None else str(value), []).append(record)
    return {name: summarize(group) for name, group in sorted(groups.items())}
