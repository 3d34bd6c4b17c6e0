import numpy as np

from gear_seg_ros.bench.nms_bench import synthetic_masks
from gear_seg_ros.segment.nms import filter_masks, suppress_duplicates
from gear_seg_ros.segment.settings import NmsConfig
from gear_seg_ros.types import MaskProposal


def rect(x0, y0, x1, y1, side=100, **kw):
    m = np.zeros((side, side), bool)
    m[y0:y1, x0:x1] = True
    return MaskProposal(m, **kw)


def brute_force(masks, containment, iou_t):
    """The reference's rule, written the slow obvious way (full-image pairwise), as an oracle."""
    order = sorted(range(len(masks)), key=lambda k: (-masks[k].stability, -masks[k].score, k))
    kept = []
    for k in order:
        dup = False
        for j in kept:
            inter = np.logical_and(masks[k].mask, masks[j].mask).sum()
            union = np.logical_or(masks[k].mask, masks[j].mask).sum()
            if (inter > containment * masks[k].area and inter > containment * masks[j].area) or inter > iou_t * union:
                dup = True
                break
        if not dup:
            kept.append(k)
    return sorted(kept)


def test_containment_rule_keeps_the_more_stable_mask():
    a = rect(0, 0, 50, 50, stability=0.90)
    b = rect(0, 0, 50, 50, stability=0.97)
    b.mask[0, 0] = False
    b.area = int(b.mask.sum())
    kept = suppress_duplicates([a, b], 0.99, 1.0)
    assert kept == [b]


def test_nested_masks_are_not_duplicates():
    whole = rect(0, 0, 60, 60)
    part = rect(0, 0, 30, 30)  # inside `whole`, but covers only a quarter of it
    assert len(suppress_duplicates([whole, part], 0.99, 0.9)) == 2


def test_iou_rule():
    a = rect(0, 0, 50, 50, stability=0.99)
    b = rect(2, 0, 52, 50, stability=0.95)  # IoU 0.92
    assert suppress_duplicates([a, b], 0.99, 0.9) == [a]
    assert len(suppress_duplicates([a, b], 0.99, 1.0)) == 2


def test_matches_brute_force_oracle_on_random_masks():
    masks = synthetic_masks(60, 128, seed=3)
    fast = suppress_duplicates(masks, 0.99, 0.9)
    oracle = brute_force(masks, 0.99, 0.9)
    assert [id(m) for m in fast] == [id(masks[k]) for k in oracle]
    assert len(fast) < len(masks)  # the generator plants near-duplicates


def test_filter_drops_small_caps_count_and_orders_largest_first():
    masks = [rect(0, 0, 10, 10, score=0.5), rect(20, 20, 60, 60, score=0.9), rect(0, 60, 30, 100, score=0.8),
             rect(70, 70, 71, 72, score=1.0)]
    out = filter_masks(masks, 100 * 100, NmsConfig(min_area_fraction=0.005, max_masks=2))
    assert [m.area for m in out] == [1600, 1200]
