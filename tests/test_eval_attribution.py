"""Segmentation ceiling: exact search, greedy search, and the atom compression behind both."""
import itertools

import numpy as np
import pytest

from gear_seg_ros.evaluation.attribution import attribution_summary, segmentation_ceiling


def constructed():
    gt = np.zeros((20, 20), bool)
    gt[:10, :10] = True  # 100 px
    left = np.zeros_like(gt)
    left[:10, :5] = True  # 50 px, all inside
    right = np.zeros_like(gt)
    right[:10, 5:11] = True  # 60 px, 50 inside + 10 outside
    everything = np.ones_like(gt)  # 400 px
    elsewhere = np.zeros_like(gt)
    elsewhere[15:, 15:] = True  # never touches the gt
    return gt, [everything, left, elsewhere, right]


@pytest.mark.parametrize("exact_max_masks", [10, 0])  # exhaustive, then greedy
def test_known_optimum(exact_max_masks):
    gt, masks = constructed()
    ceiling, ids = segmentation_ceiling(masks, gt, exact_max_masks=exact_max_masks)
    assert ceiling == pytest.approx(100 / 110)  # left + right: I = 100, U = 110
    assert ids == [1, 3]


def test_ignore_region_counts_for_nothing():
    gt, masks = constructed()
    ignore = np.zeros_like(gt)
    ignore[:10, 10] = True  # the 10 px that `right` spills over
    ceiling, ids = segmentation_ceiling(masks, gt, ignore)
    assert ceiling == 1.0 and ids == [1, 3]


def test_edge_cases():
    gt, masks = constructed()
    assert segmentation_ceiling(masks, np.zeros_like(gt)) == (1.0, [])  # empty union matches an empty gt
    assert segmentation_ceiling([], gt) == (0.0, [])
    assert segmentation_ceiling([masks[2]], gt) == (0.0, [])


def brute_force(masks, gt):
    best = 0.0
    for r in range(1, len(masks) + 1):
        for subset in itertools.combinations(range(len(masks)), r):
            union = np.logical_or.reduce([masks[i] for i in subset])
            best = max(best, (union & gt).sum() / (union | gt).sum())
    return best


def test_exact_search_matches_brute_force_and_greedy_never_exceeds_it():
    rng = np.random.default_rng(7)
    for _ in range(10):
        gt = np.zeros((24, 24), bool)
        gt[rng.integers(0, 8):rng.integers(12, 24), rng.integers(0, 8):rng.integers(12, 24)] = True
        masks = []
        for _ in range(rng.integers(3, 8)):
            m = np.zeros_like(gt)
            y, x = rng.integers(0, 20, 2)
            m[y:y + rng.integers(2, 12), x:x + rng.integers(2, 12)] = True
            masks.append(m)
        truth = brute_force(masks, gt)
        exact, ids = segmentation_ceiling(masks, gt)
        assert exact == pytest.approx(truth)
        if ids:
            union = np.logical_or.reduce([masks[i] for i in ids])
            assert (union & gt).sum() / (union | gt).sum() == pytest.approx(exact)
        greedy, _ = segmentation_ceiling(masks, gt, exact_max_masks=0)
        assert greedy <= exact + 1e-9


def test_many_masks_use_greedy_and_stay_fast():
    gt = np.zeros((200, 200), bool)
    gt[50:150, 50:150] = True
    masks = []
    for k in range(80):  # a grid of tiles, some inside the gt, some straddling, some outside
        y, x = divmod(k, 9)
        m = np.zeros_like(gt)
        m[y * 22:(y + 1) * 22, x * 22:(x + 1) * 22] = True
        masks.append(m)
    ceiling, ids = segmentation_ceiling(masks, gt)
    union = np.logical_or.reduce([masks[i] for i in ids])
    assert ceiling == pytest.approx((union & gt).sum() / (union | gt).sum())
    assert ceiling > 0.8


def test_summary():
    s = attribution_summary([(1.0, 0.5), (0.5, 0.5)])
    assert s == {"count": 2, "mean_ceiling": 0.75, "mean_reached": 0.5, "lost_to_segmentation": 0.25,
                 "lost_to_description_reasoning": 0.25}
    assert attribution_summary([]) == {"count": 0}
