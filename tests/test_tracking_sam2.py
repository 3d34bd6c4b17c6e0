"""The sam2_prompt tracker's plumbing on CPU: the random-weight SAM 2.1-tiny ONNX export (no SAM checkpoint ships
in any PyPI package) through ONNX Runtime. Checks shapes, ids and ONE decoder call per frame for all targets; the
masks of random weights mean nothing, so their quality is not checked here (nor has the backend run on a GPU).
Needs torch, sam2 (pip install sam2==1.1.0 --no-deps), onnx and onnxruntime; skipped otherwise."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sam2")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.slow


def test_sam2_prompt_tracker_decodes_every_target_in_one_batch_per_frame(tmp_path, arc2017):
    from gear_seg_ros.export.sam2_onnx import export_sam2
    from gear_seg_ros.track import LOST, build_tracker
    from gear_seg_ros.track.settings import TrackerConfig

    torch.manual_seed(0)
    export_sam2("configs/sam2.1/sam2.1_hiera_t.yaml", None, tmp_path / "sam2")
    cfg = TrackerConfig(backend="sam2_prompt", min_score=0.0, collapse_ratio=0.0, leave_ratio=0.0)
    cfg.sam2_prompt.model_dir = str(tmp_path / "sam2")
    tracker = build_tracker(cfg)
    calls = []
    decode = tracker.sam.decode

    def counting_decode(feats, coords, labels):
        calls.append((coords.copy(), labels.copy()))
        return decode(feats, coords, labels)

    tracker.sam.decode = counting_decode
    rgb, depth = arc2017["rgb"], arc2017["depth"]
    masks = [arc2017["class_label"] == label for label in arc2017["labels"][:3]]
    started = tracker.start(rgb, masks, [4, 7, 9], depth)
    ids = {s.track_id: s.source_id for s in started}
    shifted = np.ascontiguousarray(np.roll(rgb, 6, axis=1))
    live = []
    for frame in (shifted, rgb):
        states = tracker.update(frame, depth)
        live.append(sum(s.state != LOST for s in states))
        assert all(ids[s.track_id] == s.source_id for s in states)
        assert all(s.mask.shape == (480, 640) and s.mask.dtype == bool for s in states)
        assert all(0.0 <= s.score <= 1.0 for s in states)
    assert tracker.encoder_calls == tracker.decoder_calls == len(calls) == 2
    coords, labels = calls[0]
    assert coords.shape == (3, 3, 2) and labels.tolist() == [[2.0, 3.0, 1.0]] * 3  # box corners + inner point
    size = tracker.sam.image_size
    assert (coords >= 0).all() and (coords <= size).all()  # in the model's input frame
    # the positive point lies inside its (grown) box
    assert ((coords[:, 2] >= coords[:, 0]) & (coords[:, 2] <= coords[:, 1])).all()
    assert calls[1][0].shape == (live[0], 3, 2)  # the second frame prompts the tracks still live
