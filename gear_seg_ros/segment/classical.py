"""Weight-free "segment everything" on the CPU.

Felzenszwalb superpixels at several scales, then selective-search style hierarchical grouping of adjacent regions
(colour-histogram + size + bounding-box-fill similarity). Every region of the hierarchy is a candidate; candidates
are ranked by how strongly their outline follows a colour edge and by their compactness, near-duplicates dropped.
"""
from __future__ import annotations

import heapq

import cv2
import numpy as np
from skimage.segmentation import felzenszwalb

from gear_seg_ros.segment.base import Segmenter
from gear_seg_ros.segment.settings import ClassicalSegmenterConfig
from gear_seg_ros.types import MaskProposal, mask_box


class ClassicalSegmenter(Segmenter):
    name = "classical"

    def __init__(self, cfg: ClassicalSegmenterConfig | None = None) -> None:
        self.cfg = cfg or ClassicalSegmenterConfig()

    def segment(self, image: np.ndarray) -> list[MaskProposal]:
        cfg = self.cfg
        height, width = image.shape[:2]
        small = _resize_longest(image, cfg.work_side)
        lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        n_pixels = small.shape[0] * small.shape[1]
        min_area = max(4, int(cfg.min_region_fraction * n_pixels))
        max_area = int(cfg.max_region_fraction * n_pixels)

        masks: list[np.ndarray] = []
        contrast: list[float] = []
        for scale in cfg.felzenszwalb_scales:
            labels = felzenszwalb(small, scale=scale, sigma=cfg.sigma, min_size=max(4, min_area // 4))
            for mask, edge in _hierarchy(labels, lab, min_area, max_area, cfg.hist_bins, cfg.min_merge_share):
                masks.append(mask)
                contrast.append(edge)
        if not masks:
            return []
        # Rank by outline contrast first (cheap, already known); only the best few get the costlier shape checks.
        order = np.argsort(-np.asarray(contrast), kind="stable")[: cfg.rank_pool * cfg.max_proposals]
        masks = [_fill_small_holes(masks[i], cfg.hole_fill_fraction) for i in order]
        solidity = np.array([_solidity(m) for m in masks])
        edge_score = 1.0 - np.exp(-np.asarray(contrast)[order] / cfg.edge_contrast_scale)
        scores = edge_score * solidity
        keep, stability = _dedupe(masks, scores, cfg.duplicate_iou, cfg.max_proposals, cfg.iou_side)
        return [MaskProposal(mask=_upsample(masks[i], height, width), score=float(scores[i]),
                             stability=float(stability[i])) for i in keep]


def _resize_longest(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape[:2]
    factor = side / max(height, width)
    if factor >= 1.0:
        return image
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _hierarchy(labels: np.ndarray, lab: np.ndarray, min_area: int, max_area: int, hist_bins: int,
               min_merge_share: float) -> list[tuple[np.ndarray, float]]:
    """(mask, outline contrast) for the base regions and every merge of the greedy grouping whose area is in range.
    Outline contrast = mean Lab distance across the region's outline, tracked per shared border so that no
    mask has to be rasterised during the grouping."""
    n = int(labels.max()) + 1
    flat = labels.ravel()
    size = np.bincount(flat, minlength=n).astype(np.float64)
    hist = _colour_histograms(flat, lab, n, hist_bins) / size[:, None]
    rows, cols = np.indices(labels.shape)
    box = np.stack([_group_min(flat, cols, n), _group_min(flat, rows, n),
                    -_group_min(flat, -cols, n) + 1, -_group_min(flat, -rows, n) + 1], axis=1)

    regions = {i: (size[i], hist[i], box[i]) for i in range(n)}
    members = {i: [i] for i in range(n)}
    border_len, border_sum = _shared_borders(labels, lab)  # {(a, b): length}, {(a, b): summed Lab distance}
    neighbours: dict[int, dict[int, tuple[float, float]]] = {i: {} for i in range(n)}
    for pair, length in border_len.items():
        a, b = pair
        neighbours[a][b] = neighbours[b][a] = (length, border_sum[pair])
    outline = {i: [sum(v[0] for v in neighbours[i].values()), sum(v[1] for v in neighbours[i].values())]
               for i in range(n)}
    total = float(labels.size)

    def similarity(a: int, b: int) -> float:
        (sa, ha, ba), (sb, hb, bb) = regions[a], regions[b]
        box_area = (max(ba[2], bb[2]) - min(ba[0], bb[0])) * (max(ba[3], bb[3]) - min(ba[1], bb[1]))
        return float(np.minimum(ha, hb).sum()) + (1 - (sa + sb) / total) + (1 - (box_area - sa - sb) / total)

    heap = [(-similarity(a, b), a, b) for a in range(n) for b in neighbours[a] if a < b]
    heapq.heapify(heap)
    kept = [([i], _mean(outline[i])) for i in range(n) if min_area <= size[i] <= max_area]
    new = n
    while heap:
        _, a, b = heapq.heappop(heap)
        if a not in members or b not in members:
            continue
        (sa, ha, ba), (sb, hb, bb) = regions.pop(a), regions.pop(b)
        merged = sa + sb
        regions[new] = (merged, (ha * sa + hb * sb) / merged,
                        np.concatenate([np.minimum(ba[:2], bb[:2]), np.maximum(ba[2:], bb[2:])]))
        members[new] = members.pop(a) + members.pop(b)
        shared_len, shared_sum = neighbours[a][b]
        outline[new] = [outline[a][0] + outline[b][0] - 2 * shared_len, outline[a][1] + outline[b][1] - 2 * shared_sum]
        joined: dict[int, tuple[float, float]] = {}
        for old in (a, b):
            for c, (length, diff) in neighbours.pop(old).items():
                if c in (a, b):
                    continue
                prev = joined.get(c, (0.0, 0.0))
                joined[c] = (prev[0] + length, prev[1] + diff)
                del neighbours[c][old]
        neighbours[new] = joined
        for c, value in joined.items():
            neighbours[c][new] = value
            heapq.heappush(heap, (-similarity(c, new), c, new))
        if min_area <= merged <= max_area and min(sa, sb) >= min_merge_share * merged:
            kept.append((members[new], _mean(outline[new])))
        new += 1

    out = []
    for group, contrast in kept:
        lut = np.zeros(n, dtype=bool)
        lut[group] = True
        out.append((lut[labels], contrast))
    return out


def _colour_histograms(flat: np.ndarray, lab: np.ndarray, n: int, bins_per_channel: int) -> np.ndarray:
    lo = np.array([0.0, -80.0, -80.0])
    span = np.array([100.0, 160.0, 160.0])
    k = bins_per_channel
    bins = np.clip(((lab.reshape(-1, 3) - lo) / span * k).astype(int), 0, k - 1)
    per_channel = [np.bincount(flat * k + bins[:, c], minlength=n * k).reshape(n, k) for c in range(3)]
    return np.concatenate(per_channel, axis=1) / 3.0  # each region's histogram sums to 1 after / size


def _group_min(flat: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(out, flat, values.ravel())
    return out


def _shared_borders(labels: np.ndarray, lab: np.ndarray) -> tuple[dict, dict]:
    lengths: dict[tuple[int, int], float] = {}
    sums: dict[tuple[int, int], float] = {}
    for sl_a, sl_b in (((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
                       ((slice(None, -1), slice(None)), (slice(1, None), slice(None)))):
        a, b = labels[sl_a], labels[sl_b]
        differ = a != b
        lo, hi = np.minimum(a[differ], b[differ]), np.maximum(a[differ], b[differ])
        diff = np.linalg.norm(lab[sl_a][differ] - lab[sl_b][differ], axis=1)
        pairs, inverse = np.unique(np.stack([lo, hi], axis=1), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        counts = np.bincount(inverse, minlength=len(pairs))
        totals = np.bincount(inverse, diff, minlength=len(pairs))
        for (p, q), count, total in zip(pairs.tolist(), counts.tolist(), totals.tolist()):
            lengths[(p, q)] = lengths.get((p, q), 0.0) + count
            sums[(p, q)] = sums.get((p, q), 0.0) + total
    return lengths, sums


def _mean(length_and_sum: list[float]) -> float:
    length, total = length_and_sum
    return total / length if length > 0 else 0.0


def _fill_small_holes(mask: np.ndarray, max_fraction: float) -> np.ndarray:
    """Fill holes that are small next to the region (print on a box, a highlight on fruit), not large ones,
    which are usually other objects lying inside."""
    x0, y0, x1, y1 = mask_box(mask)
    outside = np.pad(~mask[y0:y1, x0:x1], 1, constant_values=True).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(outside, connectivity=4)
    small = [i for i in range(1, n) if i != labels[0, 0] and stats[i, cv2.CC_STAT_AREA] <= max_fraction * mask.sum()]
    if not small:
        return mask
    filled = mask.copy()
    filled[y0:y1, x0:x1] |= np.isin(labels[1:-1, 1:-1], small)
    return filled


def _solidity(mask: np.ndarray) -> float:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.concatenate(contours))
    # The hull runs through pixel centres, so add half a pixel along its perimeter to compare with a pixel count.
    hull_area = cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True)
    return float(min(1.0, mask.sum() / max(hull_area, 1.0)))


def _dedupe(masks: list[np.ndarray], scores: np.ndarray, iou_thresh: float, max_count: int, side: int
            ) -> tuple[list[int], np.ndarray]:
    """Greedy: keep the best-scored of near-duplicates. Stability = the best IoU any other candidate (another
    scale or grouping level) reaches with the mask: a region found again and again is a stable one."""
    small = np.stack([_resize_longest(m.astype(np.uint8), side).ravel() for m in masks]).astype(np.float32)
    inter = small @ small.T
    areas = np.diag(inter).copy()
    iou = inter / np.maximum(areas[:, None] + areas[None, :] - inter, 1.0)
    np.fill_diagonal(iou, 0.0)
    keep: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        if not keep or iou[i, keep].max() < iou_thresh:
            keep.append(int(i))
            if len(keep) >= max_count:
                break
    return keep, iou.max(axis=1)


def _upsample(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    if mask.shape == (height, width):
        return mask
    resized = cv2.resize(mask.astype(np.uint8) * 255, (width, height), interpolation=cv2.INTER_LINEAR)
    return resized >= 128
