"""SAM 2 -> ONNX export, and the ONNX automatic mask generator against the official one (same weights, same photo).

Random weights (build_sam2(cfg, None) under a fixed seed; no SAM checkpoint ships in any PyPI package), the tiny
SAM 2.1 config, 8 x 8 grid points: about a minute and a half on a 2-core CPU, shared by all tests in this module.
Needs torch, sam2 (pip install sam2==1.1.0 --no-deps), onnx and onnxruntime; skipped otherwise.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from helpers import TESTS

torch = pytest.importorskip("torch")
pytest.importorskip("sam2")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.slow
# `gear-seg ...` whose official sam2 generator runs on the torchvision stand-in where torchvision does not import
STAND_IN_CLI = [sys.executable, "-m", "support.torchvision_standin", "gear_seg_ros.cli.main"]
STAND_IN_ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (TESTS, os.environ.get("PYTHONPATH")) if p))

MODEL_CFG = "configs/sam2.1/sam2.1_hiera_t.yaml"
# Random weights give mask logits of magnitude ~0.4, so every stability score at offset 0.7 is 0. Scaling the last
# layer of the hypernetwork MLPs by this factor changes no mask (the sign of every logit is kept) but gives logits
# of a few units, so the stability filter has something to filter.
LOGIT_SCALE = 20.0
# Thresholds for random weights (predicted IoUs ~0.47-0.55, stabilities ~0.3-0.8): about half the 192 candidate masks
# pass. Every random-weight mask spans the whole image (box = the image), so box NMS at 0.7 would keep one mask;
# 1.0 disables it here, and test_onnx_amg_utils.py checks box_nms against a greedy oracle separately.
AMG_KW = dict(points_per_side=8, points_per_batch=64, pred_iou_thresh=0.5, stability_score_thresh=0.55,
              stability_score_offset=0.7, box_nms_thresh=1.0)


@pytest.fixture(scope="module")
def official_sam2():
    """sam2's predictor / generator, with a torchvision stand-in when torchvision is absent (no CPU wheel exists)."""
    from support.torchvision_standin import official_sam2 as importable

    with importable() as (predictor, generator, _stand_in):
        yield predictor, generator


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from gear_seg_ros.export.sam2_onnx import build_model, export_sam2

    torch.manual_seed(0)
    model = build_model(MODEL_CFG, None)
    with torch.no_grad():
        for mlp in model.sam_mask_decoder.output_hypernetworks_mlps:
            mlp.layers[-1].weight.mul_(LOGIT_SCALE)
    out = tmp_path_factory.mktemp("sam2_onnx")
    meta = export_sam2(MODEL_CFG, None, out, model=model)
    return model, out, meta


@pytest.fixture(scope="module")
def photo():
    skimage_data = pytest.importorskip("skimage.data")
    return skimage_data.astronaut()  # 512 x 512 RGB


def test_export_files_metadata_and_dynamic_batch(exported):
    from gear_seg_ros.export.sam2_onnx import sha256_of

    _, out, meta = exported
    on_disk = json.loads((out / "metadata.json").read_text())
    assert on_disk == meta
    assert meta["model_cfg"] == MODEL_CFG and meta["random_weights"] and meta["image_size"] == 1024
    for part in ("encoder", "decoder"):
        assert sha256_of(out / meta[part]["file"]) == meta[part]["sha256"]
    enc = ort.InferenceSession(str(out / meta["encoder"]["file"]), providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(out / meta["decoder"]["file"]), providers=["CPUExecutionProvider"])
    assert [i.name for i in enc.get_inputs()] == ["image"]
    assert [o.name for o in enc.get_outputs()] == ["image_embed", "high_res_feats_0", "high_res_feats_1"]
    shapes = {i.name: i.shape for i in dec.get_inputs()}
    assert isinstance(shapes["point_coords"][0], str)  # dynamic prompt batch
    feats = {"image_embed": np.zeros((1, 256, 64, 64), np.float32),
             "high_res_feats_0": np.zeros((1, 32, 256, 256), np.float32),
             "high_res_feats_1": np.zeros((1, 64, 128, 128), np.float32)}
    for n, p in ((1, 1), (5, 2)):
        masks, iou = dec.run(None, {**feats, "point_coords": np.full((n, p, 2), 100.0, np.float32),
                                    "point_labels": np.ones((n, p), np.float32)})
        assert masks.shape == (n, 3, 256, 256) and iou.shape == (n, 3)


def test_encoder_and_decoder_match_torch(exported, official_sam2, photo):
    SAM2ImagePredictor, _ = official_sam2
    model, out, _ = exported
    predictor = SAM2ImagePredictor(model)
    predictor.set_image(photo)
    from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter
    from gear_seg_ros.segment.settings import OnnxSam2SegmenterConfig

    seg = OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(out)))
    feats = seg.encode(photo)  # our numpy preprocessing + ONNX encoder
    ref = {"image_embed": predictor._features["image_embed"],
           "high_res_feats_0": predictor._features["high_res_feats"][0],
           "high_res_feats_1": predictor._features["high_res_feats"][1]}
    for name, value in ref.items():
        value = value.numpy()
        assert feats[name].shape == value.shape
        assert np.abs(feats[name] - value).max() < 1e-3 * max(1.0, np.abs(value).max()), name

    rng = np.random.default_rng(0)
    pts = (rng.random((7, 1, 2)) * 1024).astype(np.float32)
    _, iou_t, low_t = predictor._predict(torch.from_numpy(pts), torch.ones(7, 1, dtype=torch.int),
                                         multimask_output=True, return_logits=True)
    low_o, iou_o = seg.decode(feats, pts, np.ones((7, 1), np.float32))
    assert np.abs(iou_o - iou_t.numpy()).max() < 1e-4
    # the official predictor clamps the low-res logits it returns to [-32, 32]
    assert np.abs(np.clip(low_o, -32, 32) - low_t.numpy()).max() < 1e-3 * LOGIT_SCALE


def test_onnx_generator_matches_official_generator(exported, official_sam2, photo):
    _, SAM2AutomaticMaskGenerator = official_sam2
    model, out, _ = exported
    from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter, proposals_from_result
    from gear_seg_ros.segment.settings import OnnxSam2SegmenterConfig

    with torch.inference_mode():
        official = SAM2AutomaticMaskGenerator(model, crop_n_layers=0, min_mask_region_area=0, **AMG_KW).generate(photo)
    seg = OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(out), **AMG_KW))
    ours = seg.generate(photo)

    assert len(official) >= 30  # a meaningful number of masks passed the filters
    assert len(ours.masks) == len(official)
    # Same order (after NMS: highest predicted IoU first), same scores, (almost) the same pixels: float rounding in
    # the two upscaling implementations may flip a pixel whose logit is within ~1e-5 of the threshold.
    ref_iou = np.array([r["predicted_iou"] for r in official], dtype=np.float32)
    ref_stab = np.array([r["stability_score"] for r in official], dtype=np.float32)
    assert np.abs(ours.iou_preds - ref_iou).max() < 1e-4
    assert np.abs(ours.stability - ref_stab).max() < 1e-3
    for k, rec in enumerate(official):
        a, b = rec["segmentation"], ours.masks[k]
        assert (a & b).sum() / max((a | b).sum(), 1) > 0.999, k
        x, y, w, h = rec["bbox"]
        assert abs(ours.boxes[k] - np.array([x, y, x + w, y + h])).max() <= 1
        assert np.allclose(ours.points[k], rec["point_coords"][0], atol=1e-3)
        assert (ours.masks[k] != a).sum() <= 10

    proposals = proposals_from_result(ours)  # what seg.segment(photo) returns
    assert len(proposals) == len(official)
    areas = [p.area for p in proposals]
    assert areas == sorted(areas, reverse=True)  # largest first
    assert proposals[0].mask.shape == photo.shape[:2]


def test_torch_postprocess_gives_the_numpy_masks(exported, photo):
    """The GPU filtering path (torch; run on CPU tensors here, the same code runs on CUDA) against the numpy one."""
    from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter
    from gear_seg_ros.segment.settings import OnnxSam2SegmenterConfig

    _, out, _ = exported
    kw = AMG_KW  # box NMS (the same numpy code on both paths) is off: every random-weight mask spans the image
    seg_np = OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(out), postprocess="numpy", **kw))
    seg_torch = OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=str(out), postprocess="torch", **kw))
    assert not seg_np.torch_postprocess and seg_torch.torch_postprocess
    a, b = seg_np.generate(photo), seg_torch.generate(photo)
    assert len(a.masks) >= 10 and len(b.masks) == len(a.masks)
    assert np.abs(a.iou_preds - b.iou_preds).max() < 1e-6
    assert np.abs(a.stability - b.stability).max() < 1e-3
    assert np.abs(a.boxes - b.boxes).max() <= 1
    assert np.allclose(a.points, b.points)
    for k in range(len(a.masks)):
        assert (a.masks[k] != b.masks[k]).sum() <= 10, k


def test_official_sam2_segmenter_on_cpu(exported, official_sam2, photo, tmp_path):
    """Sam2Segmenter end to end (a checkpoint saved from the random model; CPU; a 2 x 2 grid to keep it short)."""
    from gear_seg_ros.segment.sam2_official import Sam2Segmenter
    from gear_seg_ros.segment.settings import Sam2SegmenterConfig

    model, _, _ = exported
    ckpt = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": model.state_dict()}, ckpt)
    cfg = Sam2SegmenterConfig(checkpoint=str(ckpt), model_cfg=MODEL_CFG, device="cpu", points_per_side=2,
                              pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0,
                              min_mask_region_area=0)
    proposals = Sam2Segmenter(cfg).segment(photo)
    assert len(proposals) == 12  # 4 points x 3 masks, no filter
    areas = [p.area for p in proposals]
    assert areas == sorted(areas, reverse=True)
    for p in proposals:
        assert p.mask.shape == photo.shape[:2] and p.area == int(p.mask.sum())
        if p.area:
            from gear_seg_ros.types import mask_box

            assert p.box == mask_box(p.mask)


def test_generators_benchmark_command_reports_both_side_by_side():
    import subprocess

    proc = subprocess.run([*STAND_IN_CLI, "bench", "generators", "--points-per-side", "4", "--json"],
                          capture_output=True, text=True, timeout=900, env=STAND_IN_ENV)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["ours"]["masks"] == report["official"]["masks"] > 0
    assert report["official_masks_matched_iou_min"] > 0.99
    assert report["ours"]["median_s"] > 0 and report["official"]["median_s"] > 0


def test_bench_report_runs_the_three_comparisons_in_one_run(tmp_path):
    import subprocess

    out = tmp_path / "report"
    proc = subprocess.run([*STAND_IN_CLI, "bench", "report", "--images", "arc2017", "--points-per-side", "2",
                           "--out", str(out)], capture_output=True, text=True, timeout=900, env=STAND_IN_ENV)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["pipeline"]["frames"] == 1 and report["pipeline"]["stages"]["cached_query.total_s"]["n"] == 1
    assert report["describers"]["masks"] == report["pipeline"]["masks_per_frame"][0] > 0
    gen = report["generators"]
    assert gen["image_hw"] == [512, 512] and gen["ours"]["masks"] == gen["official"]["masks"] > 0
    markdown = (out / "report.md").read_text()
    assert markdown in proc.stdout
    for heading in ("| stage | median | p90 |", "| variant | time | per mask |", "| generator | time | masks |"):
        assert heading in markdown


class OrtStandInBackend:
    """TensorRT cannot exist on these machines: this stand-in "builds" an engine by copying the ONNX file and runs it
    with ONNX Runtime, FP16 "engines" with their outputs rounded to float16; `broken` names (ONNX stem, precision)
    pairs whose engine is off by 3 logits / 0.05 IoU, as a badly degraded FP16 decoder would be."""

    version, gpu = "stand-in", "cpu-stand-in"

    def __init__(self, broken=()):
        self.broken, self.built = set(broken), []

    def build(self, onnx_path, engine_path, fp16, workspace_gb, shapes):
        import shutil

        shutil.copy(onnx_path, engine_path)
        self.built.append(engine_path.name)

    def runner(self, engine_path):
        from gear_seg_ros.export.engine_probe import ort_runner

        run = ort_runner(engine_path)
        stem, precision = engine_path.name.split(".")[0], "fp16" if ".fp16." in engine_path.name else "fp32"

        def engine(feed):
            out = run(feed)
            if precision == "fp16":
                out = {k: v.astype(np.float16).astype(np.float32) for k, v in out.items()}
            if (stem, precision) in self.broken:
                out = {k: v + (3.0 if k == "masks" else 0.05) for k, v in out.items()}
            return out

        return engine


def test_engine_check_on_the_real_export(exported):
    from gear_seg_ros.export.engine_check import TOLERANCES, compare
    from gear_seg_ros.export.engine_probe import EngineProbe, ort_runner

    _, out, meta = exported
    probe = EngineProbe(out, meta, (1, 64, 64))
    ref = probe.reference("decoder")
    assert ref["masks"].shape == (64, 3, 256, 256) and ref["iou_predictions"].shape == (64, 3)
    same = probe.candidate("decoder", ort_runner(out / meta["decoder"]["file"]))
    assert compare("decoder", "fp32", ref, same, TOLERANCES[("sam2", "decoder")]).metrics["masks"]["max_abs_diff"] == 0
    fp16 = OrtStandInBackend().runner(_copy_as(out, "mask_decoder", "fp16"))
    report = compare("decoder", "fp16", ref, probe.candidate("decoder", fp16), TOLERANCES[("sam2", "decoder")])
    m = report.metrics["masks"]
    assert 0 < m["max_abs_diff"] < 0.5 and m["mask_iou_mean"] > 0.98, report.as_dict()  # FP16 rounding only


def _copy_as(out, stem, precision):
    import shutil

    target = out.parent / f"{stem}.x.{precision}.engine"
    shutil.copy(out / f"{stem}.onnx", target)
    return target


def test_export_trt_builds_fp32_where_fp16_misses_and_records_it(exported, tmp_path):
    from gear_seg_ros.export.engine_check import EngineCheckError
    from gear_seg_ros.export.trt import build_engines
    from gear_seg_ros.runtime.trt_session import load_engine_index

    _, out, meta = exported
    backend = OrtStandInBackend(broken={("mask_decoder", "fp16")})
    index = build_engines(out, tmp_path / "engines", opt_batch=64, max_batch=64, backend=backend)
    assert index["precision"] == {"encoder": "fp16", "decoder": "fp32"}
    assert [r["passed"] for r in index["checks"]["decoder"]] == [False, True]
    assert "masks: max abs difference" in index["checks"]["decoder"][0]["failures"][0]
    assert index["export_sha256"] == {p: meta[p]["sha256"] for p in ("encoder", "decoder")}
    assert [n.split(".")[0] + "." + n.split(".")[4] for n in backend.built] == [
        "image_encoder.fp16", "mask_decoder.fp16", "mask_decoder.fp32"]
    on_disk = load_engine_index(tmp_path / "engines", out, ("encoder", "decoder"))
    assert on_disk["decoder"].endswith(index["decoder"]) and ".fp32." in index["decoder"]

    before = (tmp_path / "engines" / "engines.json").read_text()
    with pytest.raises(EngineCheckError, match="refusing the decoder engine"):
        build_engines(out, tmp_path / "engines", opt_batch=64, max_batch=64,
                      backend=OrtStandInBackend(broken={("mask_decoder", "fp16"), ("mask_decoder", "fp32")}))
    assert (tmp_path / "engines" / "engines.json").read_text() == before  # the refused build changes nothing


def test_export_trt_on_this_machine_stops_at_the_missing_tensorrt(exported, capsys, monkeypatch):
    import sys

    from gear_seg_ros.cli.main import main

    _, out, _ = exported
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # as on any machine without TensorRT
    assert main(["export", "trt", "--onnx-dir", str(out), "--out", str(out.parent / "e")]) == 2
    assert "tensorrt-cu13" in capsys.readouterr().err
