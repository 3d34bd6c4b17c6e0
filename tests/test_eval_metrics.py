"""Metric definitions on hand-computed cases."""
import numpy as np
import pytest

from gear_seg_ros.evaluation.metrics import breakdown, failed_score, score_masks, summarize


def blank(h=4, w=4):
    return np.zeros((h, w), dtype=bool)


def test_ignore_pixels_are_not_scored():
    gt, pred, ignore = blank(), blank(), blank()
    gt[0, 0:2] = True
    pred[0, 0:3] = True  # one pixel too many ...
    ignore[0, 2] = True  # ... but it lies in the ignore region
    s = score_masks(pred, gt, ignore)
    assert (s.intersection, s.union, s.iou, s.scored_pixels) == (2, 2, 1.0, 15)
    s = score_masks(pred, gt)
    assert (s.intersection, s.union) == (2, 3)
    assert s.iou == pytest.approx(2 / 3)


def test_ignored_target_pixels_leave_the_gt_area():
    gt, pred, ignore = blank(), blank(), blank()
    gt[1, :] = True
    ignore[1, 3] = True
    pred[1, :2] = True
    s = score_masks(pred, gt, ignore)
    assert (s.intersection, s.union, s.gt_area) == (2, 3, 3)


def test_empty_target_and_empty_prediction_score_one():
    s = score_masks(blank(), blank())
    assert (s.intersection, s.union, s.iou) == (0, 0, 1.0)
    pred = blank()
    pred[0, 0] = True
    assert score_masks(pred, blank()).iou == 0.0


def test_failed_answer_scores_zero_intersection_and_gt_union():
    gt = blank()
    gt[2:, 2:] = True
    s = failed_score(gt)
    assert (s.intersection, s.union, s.iou, s.success) == (0, 4, 0.0, False)
    # a failure is a failure, even when the target is empty
    assert failed_score(blank()).iou == 0.0
    summary = summarize([score_masks(gt, gt), s])
    assert summary["gIoU"] == 0.5 and summary["cIoU"] == pytest.approx(4 / 8) and summary["failed"] == 1


def test_multi_target_union():
    gt, pred = blank(6, 6), blank(6, 6)
    gt[0:2, 0:2] = True  # object 1: 4 px
    gt[4:6, 3:6] = True  # object 2: 6 px
    pred[0:2, 0:2] = True  # only object 1 found ...
    pred[3, 0] = True  # ... plus one stray pixel
    s = score_masks(pred, gt)
    assert (s.intersection, s.union) == (4, 11)


def test_giou_ciou_and_nciou_differ_as_computed_by_hand():
    big_gt = np.zeros((10, 10), bool)
    big_gt[:5] = True  # 50 px, found exactly: I = 50, U = 50, IoU = 1
    small_gt = np.zeros((4, 4), bool)
    small_gt[0] = True  # 4 px, half found: I = 2, U = 4, IoU = 0.5
    small_pred = np.zeros((4, 4), bool)
    small_pred[0, :2] = True
    scores = [score_masks(big_gt, big_gt), score_masks(small_pred, small_gt)]
    s = summarize(scores)
    assert s["gIoU"] == pytest.approx(0.75)
    assert s["cIoU"] == pytest.approx(52 / 54)
    # ncIoU: (50/100 + 2/16) / (50/100 + 4/16) = 0.625 / 0.75
    assert s["ncIoU"] == pytest.approx(0.625 / 0.75)
    assert s["count"] == 2 and s["failed"] == 0


def test_nciou_uses_scored_pixels_after_ignore():
    gt = np.zeros((4, 4), bool)
    gt[0] = True
    ignore = np.zeros((4, 4), bool)
    ignore[2:] = True  # 8 scored pixels
    pred = gt.copy()
    pred[0, 0] = False
    a = score_masks(pred, gt, ignore)  # I = 3, U = 4, N = 8
    b = score_masks(gt, gt)  # I = 4, U = 4, N = 16
    s = summarize([a, b])
    assert s["ncIoU"] == pytest.approx((3 / 8 + 4 / 16) / (4 / 8 + 4 / 16))
    assert s["cIoU"] == pytest.approx(7 / 8)


def test_empty_split_and_breakdown():
    assert summarize([])["count"] == 0
    records = [dict(score_masks(blank(), blank()).to_dict(), is_sentence=True, category=None),
               dict(failed_score(np.ones((2, 2), bool)).to_dict(), is_sentence=False, category="bus")]
    by_sentence = breakdown(records, "is_sentence")
    assert by_sentence["sentence"]["gIoU"] == 1.0 and by_sentence["phrase"]["gIoU"] == 0.0
    assert set(breakdown(records, "category")) == {"bus", "unknown"}


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        score_masks(blank(3, 3), blank(4, 4))
