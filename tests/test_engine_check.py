"""The engine check's numeric core (compare / select_precision) and the stale-engine refusal, on CPU.

TensorRT cannot exist on these machines: the "engine" outputs here are ONNX-Runtime-like arrays perturbed on
purpose; tests/test_sam2_onnx_export.py runs the same core on the real random-weight SAM 2.1-tiny export.
"""
import json

import numpy as np
import pytest

from gear_seg_ros.errors import GearSegError
from gear_seg_ros.export.engine_check import TOLERANCES, EngineCheckError, compare, mask_ious, select_precision

DECODER = TOLERANCES[("sam2", "decoder")]


def decoder_outputs(seed=0, n=16):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    centres = rng.uniform(10, 54, size=(n, 3, 2))
    radius = rng.uniform(5, 20, size=(n, 3))
    dist = np.hypot(yy - centres[..., 0, None, None], xx - centres[..., 1, None, None])
    logits = (radius[..., None, None] - dist).astype(np.float32)  # > 0 inside a disc, a few units at the edge
    return {"masks": logits, "iou_predictions": rng.uniform(0.4, 1.0, size=(n, 3)).astype(np.float32)}


def test_identical_outputs_pass_and_report_every_metric():
    ref = decoder_outputs()
    report = compare("decoder", "fp16", ref, {k: v.copy() for k, v in ref.items()}, DECODER)
    assert report.passed and report.failures == []
    assert report.metrics["masks"]["max_abs_diff"] == 0.0 and report.metrics["masks"]["mask_iou_min"] == 1.0
    assert report.as_dict()["passed"] is True


def test_fp16_rounding_passes_but_shifted_logits_and_scores_fail():
    ref = decoder_outputs()
    fp16 = {k: v.astype(np.float16).astype(np.float32) for k, v in ref.items()}
    assert compare("decoder", "fp16", ref, fp16, DECODER).passed
    shifted = {"masks": ref["masks"] + 3.0, "iou_predictions": ref["iou_predictions"] + 0.05}
    report = compare("decoder", "fp16", ref, shifted, DECODER)
    assert not report.passed
    text = "; ".join(report.failures)
    assert "masks: max abs difference 3 > 0.5" in text and "iou_predictions: max abs difference 0.05" in text
    assert "mean mask IoU" in text  # discs grown by 3 px: masks change at the generator's threshold


def test_non_finite_and_wrong_shapes_fail():
    ref = decoder_outputs()
    bad = {"masks": ref["masks"].copy(), "iou_predictions": ref["iou_predictions"][:4]}
    bad["masks"][0, 0, 0, 0] = np.inf
    failures = compare("decoder", "fp16", ref, bad, DECODER).failures
    assert any("non-finite" in f for f in failures) and any("shape" in f for f in failures)


def test_mask_iou_at_threshold():
    a = np.zeros((2, 4, 4), np.float32) - 1
    b = a.copy()
    a[0, :2] = 1  # 8 px
    b[0, :1] = 1  # 4 px inside them
    assert mask_ious(a, b, 0.0).tolist() == [0.5, 1.0]  # two empty masks agree


def test_feature_tolerance_uses_relative_error_and_cosine():
    tol = TOLERANCES[("dam_vision", "vision")]
    ref = {"image_features": np.random.default_rng(0).normal(size=(3, 16, 8)).astype(np.float32) * 40}
    near = {"image_features": ref["image_features"] * 1.001}
    assert compare("vision", "fp16", ref, near, tol).passed
    far = {"image_features": ref["image_features"] + np.random.default_rng(1).normal(size=(3, 16, 8)) * 10}
    failures = compare("vision", "fp16", ref, far, tol).failures
    assert any("relative" in f for f in failures) and any("cosine" in f for f in failures)


def test_select_precision_falls_back_to_fp32_then_refuses():
    ref = decoder_outputs()
    built = []

    def build(precision):
        built.append(precision)
        return f"decoder.{precision}.engine"

    def run(engine, broken=("fp16",)):
        shift = 3.0 if any(f".{p}." in engine for p in broken) else 0.0
        return {"masks": ref["masks"] + shift, "iou_predictions": ref["iou_predictions"]}

    engine, precision, reports = select_precision("decoder", ["fp16", "fp32"], build, run, ref, DECODER)
    assert (engine, precision, built) == ("decoder.fp32.engine", "fp32", ["fp16", "fp32"])
    assert [r.passed for r in reports] == [False, True]
    built.clear()
    assert select_precision("decoder", ["fp16", "fp32"], build, lambda e: run(e, ()), ref, DECODER)[1] == "fp16"
    assert built == ["fp16"]  # FP32 is only built when FP16 misses
    with pytest.raises(EngineCheckError, match=r"refusing the decoder engine.*fp16: masks.*fp32: masks") as info:
        select_precision("decoder", ["fp16", "fp32"], build, lambda e: run(e, ("fp16", "fp32")), ref, DECODER)
    assert len(info.value.reports) == 2


def _engine_folder(tmp_path, export_sha="a" * 64, built_sha="a" * 64):
    onnx = tmp_path / "sam2_onnx"
    engines = onnx / "engines"
    engines.mkdir(parents=True)
    (onnx / "metadata.json").write_text(json.dumps({
        "image_size": 1024, "encoder": {"file": "image_encoder.onnx", "sha256": export_sha},
        "decoder": {"file": "mask_decoder.onnx", "sha256": "b" * 64}}))
    for name in ("enc.engine", "dec.engine"):
        (engines / name).write_bytes(b"not a real engine")
    index = {"kind": "sam2", "gpu": "NVIDIA RTX 4090", "tensorrt": "10.16.1.11", "encoder": "enc.engine",
             "decoder": "dec.engine", "precision": {"encoder": "fp16", "decoder": "fp32"}}
    if built_sha:
        index["export_sha256"] = {"encoder": built_sha, "decoder": "b" * 64}
    (engines / "engines.json").write_text(json.dumps(index))
    return onnx, engines


def test_engine_folder_built_from_this_export_loads(tmp_path):
    from gear_seg_ros.runtime.trt_session import load_engine_index

    onnx, engines = _engine_folder(tmp_path)
    index = load_engine_index(engines, onnx, ("encoder", "decoder"))
    assert index["encoder"] == str(engines / "enc.engine") and index["precision"]["decoder"] == "fp32"


def test_stale_engine_folder_is_refused_with_the_rebuild_command(tmp_path):
    from gear_seg_ros.runtime.trt_session import load_engine_index

    onnx, engines = _engine_folder(tmp_path, export_sha="c" * 64)  # re-exported after the engines were built
    with pytest.raises(GearSegError, match=r"stale TensorRT engines.*'encoder' engine was built from an export "
                                           r"with sha256 aaaa.*now has cccc.*gear-seg export trt --onnx-dir "
                                           r".*sam2_onnx --out .*engines` --force"):
        load_engine_index(engines, onnx, ("encoder", "decoder"))


def test_engine_folder_without_export_hash_is_refused(tmp_path):
    from gear_seg_ros.runtime.trt_session import load_engine_index

    onnx, engines = _engine_folder(tmp_path, built_sha="")
    with pytest.raises(GearSegError, match="does not record which export.*--force"):
        load_engine_index(engines, onnx, ("encoder",))


def test_segmenter_refuses_a_stale_folder_before_needing_tensorrt(tmp_path, monkeypatch):
    import sys

    from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter
    from gear_seg_ros.segment.settings import OnnxSam2SegmenterConfig

    onnx, _ = _engine_folder(tmp_path, export_sha="c" * 64)
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(GearSegError, match="stale TensorRT engines"):
        OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(onnx), runtime="tensorrt"))


def test_doctor_reports_the_stale_folder_with_the_runtimes_message(tmp_path):
    from gear_seg_ros.config import AgentConfig
    from gear_seg_ros.doctor import exports
    from gear_seg_ros.doctor.core import Context
    from gear_seg_ros.doctor.model_files import MANIFEST
    from gear_seg_ros.runtime.trt_session import load_engine_index

    onnx, engines = _engine_folder(tmp_path, export_sha="c" * 64)
    for name in ("image_encoder.onnx", "mask_decoder.onnx"):
        (onnx / name).write_bytes(name.encode())
    meta = json.loads((onnx / "metadata.json").read_text())
    meta["encoder"]["sha256"] = "c" * 64
    meta["decoder"]["sha256"] = "b" * 64
    cfg = AgentConfig.from_dict({"segmenter": {"backend": "onnx_sam2",
                                               "onnx_sam2": {"model_dir": str(onnx), "runtime": "tensorrt"}}})
    rows = exports.checks(Context(cfg, lambda _m: None, MANIFEST))
    assert rows[0].status == "fail" and "does not match the sha256 in metadata.json" in rows[0].detail
    from gear_seg_ros.export.sam2_onnx import sha256_of

    for part, name in (("encoder", "image_encoder.onnx"), ("decoder", "mask_decoder.onnx")):
        meta[part]["sha256"] = sha256_of(onnx / name)
    (onnx / "metadata.json").write_text(json.dumps(meta))  # a fresh export: the engines are now stale
    rows = exports.checks(Context(cfg, lambda _m: None, MANIFEST))
    assert [r.status for r in rows] == ["ok", "fail"]
    with pytest.raises(GearSegError) as info:
        load_engine_index(engines, onnx, ("encoder", "decoder"))
    assert rows[1].detail == str(info.value) and "gear-seg export trt" in rows[1].fix
