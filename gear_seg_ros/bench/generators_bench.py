"""Our ONNX automatic mask generator against the official sam2 generator: same weights, same photo, one run.

Without a checkpoint the tiny SAM 2.1 is built with random weights under a fixed seed, and the last layer of the
mask hypernetworks is scaled so that the stability filter has work to do (random masks are all unstable otherwise);
thresholds are lowered for random weights and box NMS disabled (every random mask spans the image).
"""
from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

RANDOM_WEIGHT_KW = dict(pred_iou_thresh=0.5, stability_score_thresh=0.55, stability_score_offset=0.7,
                        box_nms_thresh=1.0)
CHECKPOINT_KW = dict(pred_iou_thresh=0.8, stability_score_thresh=0.95, stability_score_offset=0.7, box_nms_thresh=0.7)


@contextlib.contextmanager
def official_generator() -> Iterator[tuple[type, str]]:
    """sam2's own SAM2AutomaticMaskGenerator and which torchvision it runs with ("real"). sam2's generator imports
    torchvision; where it has none that works with this torch (a CPU-only machine), the tests and the device check
    swap this function for one with a pure-torch stand-in (tests/support/torchvision_standin.py)."""
    try:
        import torchvision.ops.boxes  # noqa: F401
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator
    except Exception as exc:  # noqa: BLE001 - missing, or the CUDA wheel failing with CPU torch
        from gear_seg_ros.errors import BackendUnavailableError

        raise BackendUnavailableError(
            f"the official sam2 generator needs torchvision, which does not import here ({type(exc).__name__}: "
            f"{exc}); install the torchvision built for this torch (requirements/gpu.txt), or, in a checkout on a CPU "
            "machine, run it on a pure-torch stand-in: PYTHONPATH=tests python -m support.torchvision_standin "
            "gear_seg_ros.cli.main bench generators ...") from None
    yield SAM2AutomaticMaskGenerator, "real"


def _best_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each mask of a (K x H x W), the best IoU with any mask of b."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a))
    fa, fb = a.reshape(len(a), -1).astype(np.float32), b.reshape(len(b), -1).astype(np.float32)
    inter = fa @ fb.T
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter
    return (inter / np.maximum(union, 1)).max(axis=1)


def run(image: np.ndarray, model_cfg: str, checkpoint: str | None, points_per_side: int = 8,
        points_per_batch: int = 64, providers: tuple[str, ...] = ("CPUExecutionProvider",), repeats: int = 1,
        runtime: str = "onnxruntime", postprocess: str = "auto") -> dict:
    import torch

    from gear_seg_ros.export.sam2_onnx import build_model, export_sam2
    from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter
    from gear_seg_ros.segment.settings import OnnxSam2SegmenterConfig

    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = build_model(model_cfg, checkpoint, device=device)
    if checkpoint is None:
        with torch.no_grad():
            for mlp in model.sam_mask_decoder.output_hypernetworks_mlps:
                mlp.layers[-1].weight.mul_(20.0)
    kw = CHECKPOINT_KW if checkpoint else RANDOM_WEIGHT_KW
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        export_sam2(model_cfg, checkpoint, Path(tmp), model=model.cpu())
        export_s = time.perf_counter() - t0
        model.to(device)
        engine_s = None
        if runtime == "tensorrt":
            from gear_seg_ros.export.trt import build_engines

            t0 = time.perf_counter()
            build_engines(tmp, opt_batch=points_per_batch, max_batch=points_per_batch)
            engine_s = time.perf_counter() - t0
        ours = OnnxSam2Segmenter(OnnxSam2SegmenterConfig(model_dir=tmp, providers=list(providers), runtime=runtime,
                                                         postprocess=postprocess, points_per_side=points_per_side,
                                                         points_per_batch=points_per_batch, **kw))
        if device == "cuda":
            ours.generate(image)  # warm-up: TensorRT / CUDA initialisation is not what is measured
        ours_times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = ours.generate(image)
            ours_times.append(time.perf_counter() - t0)
    with official_generator() as (generator_cls, torchvision):
        generator = generator_cls(model, points_per_side=points_per_side, points_per_batch=points_per_batch, **kw)
        if device == "cuda":
            with torch.inference_mode():
                generator.generate(image)  # warm-up, as for ours
        official_times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            with torch.inference_mode():
                official = generator.generate(image)
            official_times.append(time.perf_counter() - t0)
    official_masks = np.stack([m["segmentation"] for m in official]) if official else np.zeros((0,) + image.shape[:2])
    match = _best_iou(official_masks, result.masks)
    return {
        "model_cfg": model_cfg, "weights": checkpoint or "random (seed 0)", "device": device,
        "providers": list(providers), "image_hw": list(image.shape[:2]), "points_per_side": points_per_side,
        "points_per_batch": points_per_batch, "export_s": export_s, "engine_build_s": engine_s,
        "ours": {"runtime": runtime if runtime == "tensorrt" else f"onnxruntime {','.join(ours.providers)}",
                 "postprocess": "torch" if ours.torch_postprocess else "numpy",
                 "median_s": float(np.median(ours_times)), "masks": len(result.masks),
                 "stages_s": {k: round(v, 3) for k, v in result.timings.items()}},
        "official": {"median_s": float(np.median(official_times)), "masks": len(official),
                     "torchvision": torchvision},
        "official_masks_matched_iou_min": float(match.min()) if match.size else None,
        "official_masks_matched_iou_mean": float(match.mean()) if match.size else None,
    }
