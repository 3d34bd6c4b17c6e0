"""Tracker stage (ROS-free): the DIS optical-flow backend on a real RGB-D frame seen by a moving camera, plus the
shared loss / re-association / id rules."""
from __future__ import annotations

import numpy as np
import pytest

from gear_seg_ros.config import AgentConfig
from gear_seg_ros.errors import ConfigError, InvalidImageError
from gear_seg_ros.geometry.target import target_geometry
from gear_seg_ros.track import LOST, PREDICTED, TRACKED, build_tracker
from gear_seg_ros.track.masks import iou
from gear_seg_ros.track.settings import TrackerConfig

LAST = 59


@pytest.mark.slow
def test_flow_tracker_follows_every_arc2017_object_and_never_swaps_ids(arc2017_moving):
    seq, frames, masks, names = arc2017_moving
    tracker = build_tracker(TrackerConfig())
    started = tracker.start(frames[0][0], masks, list(range(len(masks))), frames[0][1])
    owner = {s.track_id: s.source_id for s in started}
    assert len(owner) == len(masks) and all(s.state == TRACKED for s in started)
    lost: dict[int, tuple[int, str]] = {}
    last = {}
    for i in range(1, LAST + 1):
        states = tracker.update(*frames[i])
        for s in states:
            assert owner[s.track_id] == s.source_id  # an id always names the object it started on
            assert s.track_id not in lost  # a lost track is reported once, then no more
            if s.state == LOST:
                lost[s.track_id] = (i, s.reason)
            last[s.source_id] = s
        if i % 10 == 0 or i == LAST:  # ids never swap: each live mask overlaps its own object best
            truth = [seq.render_mask(m, i) for m in masks]
            for s in states:
                if s.state != LOST:
                    overlaps = [iou(s.mask, t) for t in truth]
                    assert int(np.argmax(overlaps)) == s.source_id, (i, names[s.source_id], overlaps)
    in_view = [seq.in_view(m, LAST) for m in masks]
    kept = [k for k, v in enumerate(in_view) if v >= 0.98]
    assert len(kept) >= 2, in_view  # the wipes and the measuring spoons stay whole in the last frame
    for k in kept:
        s = last[k]
        assert s.state != LOST, (names[k], s.reason)
        assert iou(s.mask, seq.render_mask(masks[k], LAST)) >= 0.8, names[k]
    # the grasp geometry of every live tracked mask on the last frame agrees with that of the rendered ground-truth
    # mask on the same depth (measured: centroids and grasp points within 2.2 mm, the book's normal 0.2 deg)
    k_cam = seq.k.reshape(9)
    for s in (s for s in last.values() if s.state != LOST):
        got = target_geometry(s.mask, frames[LAST][1], k_cam, box=s.box)
        want = target_geometry(seq.render_mask(masks[s.source_id], LAST), frames[LAST][1], k_cam)
        assert got.pose_valid and want.pose_valid, names[s.source_id]
        assert np.linalg.norm(got.centroid - want.centroid) < 0.010, names[s.source_id]
        assert np.linalg.norm(got.pose.position - want.pose.position) < 0.010, names[s.source_id]
        if names[s.source_id] == "laugh_out_loud_jokes":  # the flat book top
            assert got.pose.normal @ want.pose.normal > np.cos(np.radians(5.0))
    for k, v in enumerate(in_view):
        if v == 0.0:  # the soap and the scissors leave the image: lost, and said so
            tid = next(t for t, src in owner.items() if src == k)
            assert tid in lost and "left the image" in lost[tid][1] or "area" in lost[tid][1], (names[k], lost)


def test_reassociation_snaps_a_track_to_its_proposal_and_keeps_its_id(arc2017):
    rgb, depth = arc2017["rgb"], arc2017["depth"]
    masks = [arc2017["class_label"] == label for label in arc2017["labels"]]
    tracker = build_tracker(TrackerConfig())
    started = tracker.start(rgb, masks[:3], [10, 11, 12], depth)
    # a proposal that is mask 1 grown by a few pixels (IoU ~0.8), mask 0 itself, and an unrelated object
    import cv2

    grown = cv2.dilate(masks[1].astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    states = tracker.update(rgb, depth, proposals=[masks[5], grown, masks[0]])
    by_source = {s.source_id: s for s in states}
    assert [s.track_id for s in states] == [s.track_id for s in started]
    assert np.array_equal(by_source[11].mask, grown) and "re-associated" in by_source[11].reason
    assert np.array_equal(by_source[10].mask, masks[0])
    assert "re-associated" not in by_source[12].reason  # no proposal near it: its own warped mask stays
    assert iou(by_source[12].mask, masks[2]) > 0.95


def test_a_target_whose_image_disappears_is_predicted_then_lost():
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[::2, ::2])  # 256 x 256 photo
    mask = np.zeros(image.shape[:2], bool)
    mask[60:140, 80:170] = True
    cfg = TrackerConfig(max_low_score_frames=3)
    tracker = build_tracker(cfg)
    tracker.start(image, [mask], [7])
    assert tracker.update(image)[0].state == TRACKED  # same frame: nothing moved
    blank = np.full_like(image, 255)
    states = [tracker.update(blank)[0] for _ in range(3)]
    assert [s.state for s in states] == [PREDICTED, PREDICTED, LOST], [(s.state, s.score) for s in states]
    assert "score below tracker.min_score" in states[-1].reason and states[-1].track_id == 1
    assert tracker.update(blank) == [] and not tracker.active


def test_new_start_gets_new_ids_and_stop_ends_tracking():
    image = np.zeros((64, 80, 3), np.uint8)
    image[10:40, 10:40] = 200
    mask = np.zeros((64, 80), bool)
    mask[10:40, 10:40] = True
    tracker = build_tracker(TrackerConfig())
    first = tracker.start(image, [mask, mask], [0, 1])
    second = tracker.start(image, [mask], [0])
    assert [s.track_id for s in first] == [1, 2] and second[0].track_id == 3
    assert tracker.stop() == 1 and tracker.update(image) == [] and not tracker.active


def test_bad_input_names_the_problem():
    tracker = build_tracker(TrackerConfig())
    image = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(InvalidImageError, match="RGB uint8"):
        tracker.start(np.zeros((48, 64), np.uint8), [], [])
    with pytest.raises(InvalidImageError, match="same frame"):
        tracker.start(image, [np.ones((10, 10), bool)], [0])
    with pytest.raises(ValueError, match="one id per mask"):
        tracker.start(image, [np.ones((48, 64), bool)], [])
    tracker.start(image, [np.ones((48, 64), bool)], [0])
    with pytest.raises(InvalidImageError, match="start a new track"):
        tracker.update(np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(InvalidImageError, match="registered to the colour image"):
        tracker.update(image, depth=np.ones((5, 5), np.float32))


def test_tracker_config_section_and_unknown_backend():
    flat = AgentConfig().flatten()
    assert flat["tracker.backend"] == "optical_flow" and "tracker.optical_flow.work_side" in flat
    with pytest.raises(ConfigError, match="tracker.backend"):
        AgentConfig.from_dict({"tracker": {"backend": "kalman"}})
    with pytest.raises(ConfigError, match="min_score"):
        AgentConfig.from_dict({"tracker": {"min_score": 1.5}})


@pytest.mark.slow
def test_carry_masks_brings_older_proposals_onto_the_current_frame(arc2017_moving):
    """What the node does with a perception that finished frames after the one it looked at."""
    from gear_seg_ros.track.carry import carry_masks

    seq, frames, masks, _ = arc2017_moving
    old = [seq.render_mask(m, 10) for m in masks[:3]]
    carried = carry_masks(frames[10][0], frames[16][0], old)
    for m, before, c in zip(masks[:3], old, carried):
        now = seq.render_mask(m, 16)
        assert iou(c, now) >= 0.85 and iou(c, now) > iou(before, now) + 0.05, (iou(c, now), iou(before, now))


@pytest.mark.slow
def test_tracking_bench_gives_every_live_target_a_centroid_and_a_pose():
    """`gear-seg bench tracking` in small (3 frames, 2 targets, 1 perception): its report and table hold what
    docs/benchmarks.md reads (times are not checked: a benchmark, not a timed test)."""
    from gear_seg_ros.bench import tracking_bench

    report = tracking_bench.run(AgentConfig.from_yaml("config/cpu_track_fast.yaml"), n_frames=3, targets=(2,),
                                perceptions=1)
    run = report["runs"]["2"]
    assert run["live_total"] == 4 and run["posed"] == 4  # 2 targets on 2 frames, each with centroid and pose
    assert run["update_3d"]["n"] == 2 and run["update_3d_cpu"]["n"] == 2
    table = tracking_bench.to_markdown(report, "gear-seg bench tracking")
    assert "(4 of 4 live targets posed)" in table and report["flow"]["work_side"] == 320
