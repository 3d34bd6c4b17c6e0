"""OnnxSam2Segmenter / Sam2Segmenter / `gear-seg export` error paths. Fast: no model is built here
(tests/test_sam2_onnx_export.py exports a real model and compares it with the official generator)."""
import json

import numpy as np
import pytest

from gear_seg_ros.errors import BackendUnavailableError, ModelNotFoundError
from gear_seg_ros.segment.settings import OnnxSam2SegmenterConfig, Sam2SegmenterConfig


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
        "image_size": 1024, "encoder": {"file": "e.onnx", "sha256": "e" * 64},
        "decoder": {"file": "d.onnx", "sha256": "d" * 64}}))
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
    err = capsys.readouterr().err
    assert "gear-seg export sam2" in err and "gear-seg export dam-vision" in err
    rc = main(["export", "dam-vision", "--model-path", str(tmp_path / "DAM-3B"), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "python models/fetch.py DAM-3B" in capsys.readouterr().err


def test_trt_without_tensorrt_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    from gear_seg_ros.export import trt

    (tmp_path / "metadata.json").write_text(json.dumps({"image_size": 1024}))
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailableError, match="tensorrt"):
        trt.build_engines(tmp_path)
    name = trt.engine_name("mask_decoder.onnx", "ab" * 32, "NVIDIA H100 80GB HBM3", "10.9.0", True, (1, 256, 1024))
    assert name == "mask_decoder.nvidia-h100-80gb-hbm3.trt10.9.0.abababababababab.fp16.b1-256-1024.engine"


def _fake_export(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(json.dumps({
        "image_size": 1024, "encoder": {"file": "e.onnx", "sha256": "e" * 64},
        "decoder": {"file": "d.onnx", "sha256": "d" * 64}}))
    return folder


def test_tensorrt_runtime_without_engines_names_the_build_command(tmp_path):
    from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter

    model_dir = _fake_export(tmp_path / "sam2_onnx")
    with pytest.raises(ModelNotFoundError, match=r"gear-seg export trt --onnx-dir .*sam2_onnx"):
        OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(model_dir), runtime="tensorrt"))
    engines = model_dir / "engines"
    engines.mkdir()
    (engines / "engines.json").write_text(json.dumps({"kind": "sam2", "encoder": "enc.engine"}))
    with pytest.raises(ModelNotFoundError, match=r"no engine for \['decoder'\]"):
        OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(model_dir), runtime="tensorrt"))
    (engines / "engines.json").write_text(json.dumps({"kind": "sam2", "encoder": "enc.engine",
                                                      "decoder": "dec.engine"}))
    with pytest.raises(ModelNotFoundError, match="TensorRT engine missing: .*enc.engine"):
        OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(model_dir), runtime="tensorrt"))


def test_tensorrt_runtime_on_a_machine_without_tensorrt(tmp_path, monkeypatch):
    """The engines exist (empty files here) but this CPU machine has no TensorRT: a clear error, no traceback."""
    import sys

    from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter

    model_dir = _fake_export(tmp_path / "sam2_onnx")
    engines = model_dir / "engines"
    engines.mkdir()
    for name in ("enc.engine", "dec.engine"):
        (engines / name).write_bytes(b"")
    (engines / "engines.json").write_text(json.dumps({"kind": "sam2", "encoder": "enc.engine",
                                                      "decoder": "dec.engine",
                                                      "export_sha256": {"encoder": "e" * 64, "decoder": "d" * 64}}))
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(BackendUnavailableError, match="tensorrt-cu13.*runtime: onnxruntime"):
        OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(model_dir), runtime="tensorrt"))


def test_trt_build_for_an_unknown_export_kind_is_a_clear_error(tmp_path):
    from gear_seg_ros.errors import GearSegError
    from gear_seg_ros.export.trt import build_engines, engine_plan

    (tmp_path / "metadata.json").write_text(json.dumps({"kind": "other"}))
    with pytest.raises(GearSegError, match="unknown export kind 'other'"):
        build_engines(tmp_path)
    plan = engine_plan({"kind": "dam_vision", "channels": 8, "image_size": 384,
                        "vision": {"inputs": ["images"]}}, (1, 8, 16), 4)
    assert plan == {"vision": {"images": ((1, 8, 384, 384), (8, 8, 384, 384), (16, 8, 384, 384))}}
    plan = engine_plan({"image_size": 1024}, (1, 256, 1024), 4)  # exports before `kind` existed are SAM 2
    assert plan["encoder"] is None and plan["decoder"]["point_coords"] == ((1, 1, 2), (256, 1, 2), (1024, 4, 2))


def test_engine_cache_keys_cover_external_weights_and_points(tmp_path):
    from gear_seg_ros.export.sam2_onnx import export_digest, sha256_of
    from gear_seg_ros.export.trt import engine_name

    (tmp_path / "dam_vision.onnx").write_bytes(b"graph")
    (tmp_path / "metadata.json").write_text("{}")
    assert export_digest(tmp_path, "dam_vision.onnx") == sha256_of(tmp_path / "dam_vision.onnx")
    (tmp_path / "onnx__MatMul_1234").write_bytes(b"weights v1")  # external data of a model over 2 GB
    with_weights = export_digest(tmp_path, "dam_vision.onnx")
    assert with_weights != sha256_of(tmp_path / "dam_vision.onnx")
    (tmp_path / "onnx__MatMul_1234").write_bytes(b"weights v2")
    assert export_digest(tmp_path, "dam_vision.onnx") != with_weights
    four = engine_name("mask_decoder.onnx", "ab" * 32, "gpu", "10.16", True, (1, 256, 256), 4)
    eight = engine_name("mask_decoder.onnx", "ab" * 32, "gpu", "10.16", True, (1, 256, 256), 8)
    assert four != eight and four.endswith(".b1-256-256.p4.engine")
