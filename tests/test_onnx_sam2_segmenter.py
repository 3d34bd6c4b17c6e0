"""OnnxSam2Segmenter / Sam2Segmenter / `gear-seg export` error paths. Fast: no model is built here
(tests/test_sam2_onnx_export.py exports a real model and compares it with the official generator)."""
import json

import numpy as np
import pytest

from gear_seg_ros.config import OnnxSam2SegmenterConfig, Sam2SegmenterConfig
from gear_seg_ros.errors import BackendUnavailableError, ModelNotFoundError


def test_onnx_segmenter_missing_folder_names_export_command(tmp_path):
    pytest.importorskip("onnxruntime")
    from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter

    with pytest.raises(ModelNotFoundError, match="gear-seg export sam2"):
        OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(tmp_path / "nope")))
    with pytest.raises(ModelNotFoundError, match="metadata"):
        OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(tmp_path)))


def test_onnx_segmenter_unavailable_provider(tmp_path):
    pytest.importorskip("onnxruntime")
    from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter

    (tmp_path / "metadata.json").write_text(json.dumps({
        "image_size": 1024, "encoder": {"file": "e.onnx"}, "decoder": {"file": "d.onnx"}}))
    (tmp_path / "e.onnx").write_bytes(b"")
    (tmp_path / "d.onnx").write_bytes(b"")
    with pytest.raises(BackendUnavailableError, match="CPUExecutionProvider"):
        OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(tmp_path), providers=["NoSuchExecutionProvider"]))


def test_sam2_segmenter_missing_checkpoint_names_fetch_command(tmp_path):
    from gear_seg_ros.segment.sam2_official import Sam2Segmenter

    cfg = Sam2SegmenterConfig(checkpoint=str(tmp_path / "sam2.1_hiera_large.pt"))
    with pytest.raises(ModelNotFoundError) as err:
        Sam2Segmenter(cfg)
    assert "sam2.1_hiera_large.pt" in str(err.value)
    assert "python models/fetch.py sam2.1_hiera_large" in str(err.value)


def test_sam2_segmenter_missing_package(tmp_path, monkeypatch):
    import sys

    from gear_seg_ros.segment.sam2_official import Sam2Segmenter

    ckpt = tmp_path / "sam2.1_hiera_large.pt"
    ckpt.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "sam2", None)  # import sam2 -> ImportError, as on a machine without it
    monkeypatch.setitem(sys.modules, "sam2.automatic_mask_generator", None)
    with pytest.raises(BackendUnavailableError, match="sam2"):
        Sam2Segmenter(Sam2SegmenterConfig(checkpoint=str(ckpt)))


def test_sam2_records_to_proposals_largest_first():
    from gear_seg_ros.segment.sam2_official import masks_from_records

    small = np.zeros((8, 8), bool)
    small[1:3, 2:5] = True
    big = np.zeros((8, 8), bool)
    big[2:8, 0:6] = True
    recs = [{"segmentation": m, "area": int(m.sum()), "bbox": bbox, "predicted_iou": 0.9, "stability_score": 0.97}
            for m, bbox in ((small, [2, 1, 2, 1]), (big, [0, 2, 5, 5]))]
    props = masks_from_records(recs)
    assert [p.area for p in props] == [36, 6]
    assert props[0].box == (0, 2, 6, 8) and props[1].box == (2, 1, 5, 3)  # exclusive x1/y1, as mask_box gives


def test_cli_export_errors_exit_2(tmp_path, capsys):
    from gear_seg_ros.cli.main import main

    rc = main(["export", "sam2", "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "python models/fetch.py" in capsys.readouterr().err
    rc = main(["export", "trt", "--onnx-dir", str(tmp_path / "none")])
    assert rc == 2
    assert "gear-seg export sam2" in capsys.readouterr().err


def test_trt_without_tensorrt_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    from gear_seg_ros.export import trt

    (tmp_path / "metadata.json").write_text(json.dumps({"image_size": 1024}))
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailableError, match="tensorrt"):
        trt.build_engines(tmp_path)
    name = trt.engine_name("mask_decoder.onnx", "ab" * 32, "NVIDIA H100 80GB HBM3", "10.9.0", True, (1, 256, 1024))
    assert name == "mask_decoder.nvidia-h100-80gb-hbm3.trt10.9.0.abababababababab.fp16.b1-256-1024.engine"
