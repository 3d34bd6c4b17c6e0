"""SAM 2 "segment everything" over ONNX files (see gear_seg_ros/export/sam2_onnx.py) with onnxruntime.

Our own automatic mask generator, equivalent to the official SAM2AutomaticMaskGenerator with crop_n_layers=0 and no
small-region postprocessing, but built for throughput: the image encoder runs once, the points_per_side**2 grid
prompts are decoded in a few large batches (the decoder has a dynamic prompt batch), and every filter
(predicted IoU, stability score with offset, box NMS) and the upscaling to the original size are vectorised numpy.
Only prompts that pass the predicted-IoU filter are upscaled. Providers: CPU, CUDA or TensorRT (onnxruntime-gpu).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from gear_seg_ros.config import OnnxSam2SegmenterConfig
from gear_seg_ros.errors import BackendUnavailableError, InvalidImageError, ModelNotFoundError
from gear_seg_ros.segment import amg_utils as amg
from gear_seg_ros.segment.base import Segmenter
from gear_seg_ros.types import MaskProposal

log = logging.getLogger(__name__)

PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
}
EXPORT_HINT = ("export it with `gear-seg export sam2 --checkpoint models/weights/sam2.1_hiera_large.pt "
               "--out {dir}` (fetch the checkpoint with: python models/fetch.py sam2.1_hiera_large)")
# Upscaled float32 logits held at once while filtering (bytes): bounds memory for large images.
UPSCALE_BUDGET_BYTES = 256 * 1024 * 1024


@dataclass
class AmgResult:
    """What the generator found, in the official generator's order (after NMS: highest predicted IoU first)."""

    masks: np.ndarray  # K x H x W bool
    iou_preds: np.ndarray  # K float32
    stability: np.ndarray  # K float32
    boxes: np.ndarray  # K x 4, x1/y1 INCLUSIVE as in sam2's batched_mask_to_box
    points: np.ndarray  # K x 2 grid point (pixels) that produced each mask
    timings: dict[str, float] = field(default_factory=dict)


def normalize_providers(names: list[str]) -> list[str]:
    return [PROVIDER_ALIASES.get(n.lower(), n) for n in names]


class OnnxSam2Segmenter(Segmenter):
    name = "onnx_sam2"

    def __init__(self, cfg: Optional[OnnxSam2SegmenterConfig] = None, base_dir: str = "") -> None:
        self.cfg = cfg = cfg or OnnxSam2SegmenterConfig()
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendUnavailableError(
                "segmenter.backend 'onnx_sam2' needs onnxruntime (pip install onnxruntime, or onnxruntime-gpu for "
                "the CUDA / TensorRT providers)") from None
        from gear_seg_ros.export.sam2_onnx import read_metadata

        self.model_dir = self._resolve_dir(cfg.model_dir, base_dir)
        self.meta = read_metadata(self.model_dir)
        files = {}
        for part in ("encoder", "decoder"):
            path = self.model_dir / self.meta[part]["file"]
            if not path.is_file():
                raise ModelNotFoundError(f"SAM 2 ONNX file missing: {path}; " + EXPORT_HINT.format(dir=self.model_dir))
            files[part] = path
        self.image_size = int(self.meta["image_size"])
        self.mask_threshold = float(self.meta.get("mask_threshold", 0.0))
        self.low_res_size = int(self.meta.get("low_res_size", self.image_size // 4))
        self.pixel_mean = self.meta.get("pixel_mean", [0.485, 0.456, 0.406])
        self.pixel_std = self.meta.get("pixel_std", [0.229, 0.224, 0.225])

        providers = self._providers(ort, cfg.providers)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # the encoder has static shapes: no TensorRT optimisation profile for it
        enc_providers = [(p[0], {k: v for k, v in p[1].items() if not k.startswith("trt_profile")})
                         if isinstance(p, tuple) else p for p in providers]
        self.encoder = ort.InferenceSession(str(files["encoder"]), options, providers=enc_providers)
        self.decoder = ort.InferenceSession(str(files["decoder"]), options, providers=providers)
        self.providers = self.decoder.get_providers()
        self._grid_cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        log.info("onnx_sam2: %s with %s", self.model_dir, self.providers)

    # ---- setup -------------------------------------------------------------------------------------------------
    @staticmethod
    def _resolve_dir(spec: str, base_dir: str) -> Path:
        try:
            from gear_seg_ros.models import resolve_model_path

            return Path(resolve_model_path(spec, base_dir, what="SAM 2 ONNX model folder"))
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(f"{exc}; " + EXPORT_HINT.format(dir=spec)) from None

    def _providers(self, ort, names: list[str]) -> list:
        wanted = normalize_providers(names or ["CPUExecutionProvider"])
        available = set(ort.get_available_providers())
        missing = [p for p in wanted if p not in available]
        chosen = [p for p in wanted if p in available]
        if missing:
            log.warning("onnxruntime providers not available here: %s (available: %s); using %s",
                        missing, sorted(available), chosen or "none")
        if not chosen:
            raise BackendUnavailableError(
                f"none of the configured onnxruntime providers {wanted} is available (this onnxruntime offers "
                f"{sorted(available)}); install onnxruntime-gpu for CUDA / TensorRT or set "
                "segmenter.onnx_sam2.providers: [CPUExecutionProvider]")
        out: list = []
        for p in chosen:
            if p == "TensorrtExecutionProvider":
                cache = self.model_dir / "trt_cache"
                cache.mkdir(exist_ok=True)
                n = int(self.cfg.points_per_batch)
                # only the prompt inputs are dynamic; the last batch of a grid may be smaller than n
                out.append((p, {
                    "trt_fp16_enable": True,
                    "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(cache),
                    "trt_profile_min_shapes": "point_coords:1x1x2,point_labels:1x1",
                    "trt_profile_opt_shapes": f"point_coords:{n}x1x2,point_labels:{n}x1",
                    "trt_profile_max_shapes": f"point_coords:{n}x1x2,point_labels:{n}x1",
                }))
            else:
                out.append(p)
        return out

    # ---- generator ---------------------------------------------------------------------------------------------
    def encode(self, image: np.ndarray) -> dict[str, np.ndarray]:
        x = amg.preprocess_image(image, self.image_size, self.pixel_mean, self.pixel_std)
        names = [o.name for o in self.encoder.get_outputs()]
        return dict(zip(names, self.encoder.run(None, {"image": x})))

    def decode(self, feats: dict[str, np.ndarray], coords: np.ndarray, labels: np.ndarray):
        """coords N x P x 2 (model frame), labels N x P -> (low-res logits N x 3 x h x w, iou N x 3)."""
        inputs = dict(feats)
        inputs["point_coords"] = np.ascontiguousarray(coords, dtype=np.float32)
        inputs["point_labels"] = np.ascontiguousarray(labels, dtype=np.float32)
        masks, iou = self.decoder.run(["masks", "iou_predictions"], inputs)
        return masks, iou

    def generate(self, image: np.ndarray) -> AmgResult:
        cfg = self.cfg
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InvalidImageError(f"expected an RGB uint8 H x W x 3 image, got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        timings = {}
        t0 = time.perf_counter()
        feats = self.encode(image)
        timings["encoder_s"] = time.perf_counter() - t0

        key = (cfg.points_per_side, h, w)
        if key not in self._grid_cache:
            self._grid_cache[key] = amg.grid_prompts(cfg.points_per_side, (h, w), self.image_size)
        points, model_points = self._grid_cache[key]

        # Per batch of prompts: decode, predicted-IoU filter on the low-res output, then only the survivors are
        # upscaled to the image size (in chunks, re-used buffers) for the stability filter, binarisation and boxes.
        # Masks are kept bit-packed (8x smaller) until NMS has chosen the survivors.
        up = amg.LogitUpscaler((self.low_res_size, self.low_res_size), (h, w))
        chunk = max(1, UPSCALE_BUDGET_BYTES // (4 * h * w * 2))
        packed, ious, stabs, pts_all, boxes_all = [], [], [], [], []
        batch_times, post_s = [], 0.0
        for start in range(0, len(points), cfg.points_per_batch):
            tb = time.perf_counter()
            sl = slice(start, start + cfg.points_per_batch)
            coords = model_points[sl][:, None, :]
            logits, iou = self.decode(feats, coords, np.ones(coords.shape[:2], dtype=np.float32))
            tp = time.perf_counter()
            batch_times.append(tp - tb)
            n, m = iou.shape
            logits = logits.reshape(n * m, *logits.shape[2:])
            iou = iou.reshape(n * m).astype(np.float32)
            pts = np.repeat(points[sl], m, axis=0)
            if cfg.pred_iou_thresh > 0.0:
                keep = np.flatnonzero(iou > cfg.pred_iou_thresh)
                logits, iou, pts = logits[keep], iou[keep], pts[keep]
            for c0 in range(0, len(logits), chunk):
                big = up(np.ascontiguousarray(logits[c0:c0 + chunk]), reuse=True)
                stab = amg.stability_score(big, self.mask_threshold, cfg.stability_score_offset)
                ok = np.flatnonzero(stab >= cfg.stability_score_thresh) if cfg.stability_score_thresh > 0.0 \
                    else np.arange(len(stab))
                if ok.size == 0:
                    continue
                binary = big[ok] > self.mask_threshold
                boxes_all.append(amg.masks_to_boxes(binary))
                packed.append(np.packbits(binary.reshape(len(ok), -1), axis=1))
                stabs.append(stab[ok].astype(np.float32))
                ious.append(iou[c0:c0 + chunk][ok])
                pts_all.append(pts[c0:c0 + chunk][ok])
            post_s += time.perf_counter() - tp
        timings["decoder_s"] = float(np.sum(batch_times))
        timings["decoder_batches"] = float(len(batch_times))
        timings["decoder_batch_s"] = float(np.mean(batch_times)) if batch_times else 0.0
        timings["postprocess_s"] = post_s
        if packed:
            packed_a = np.concatenate(packed)
            iou, stab_a, pts = np.concatenate(ious), np.concatenate(stabs), np.concatenate(pts_all)
            boxes = np.concatenate(boxes_all)
        else:
            packed_a = np.zeros((0, (h * w + 7) // 8), np.uint8)
            iou, stab_a = np.zeros(0, np.float32), np.zeros(0, np.float32)
            pts, boxes = np.zeros((0, 2), np.float32), np.zeros((0, 4), np.int64)

        # 3) box NMS on predicted IoU
        t0 = time.perf_counter()
        keep = amg.box_nms(boxes, iou, cfg.box_nms_thresh)
        masks = np.unpackbits(packed_a[keep], axis=1, count=h * w).astype(bool).reshape(len(keep), h, w)
        timings["nms_s"] = time.perf_counter() - t0
        return AmgResult(masks=masks, iou_preds=iou[keep], stability=stab_a[keep], boxes=boxes[keep],
                         points=pts[keep], timings=timings)

    def segment(self, image: np.ndarray) -> list[MaskProposal]:
        result = self.generate(image)
        self.last_timings = result.timings
        return proposals_from_result(result)


def proposals_from_result(result: AmgResult) -> list[MaskProposal]:
    """AmgResult -> MaskProposals sorted largest first (index 0 = largest), as the reference does."""
    areas = result.masks.reshape(len(result.masks), -1).sum(axis=1)
    out = []
    for i in np.argsort(-areas, kind="stable"):
        x0, y0, x1, y1 = (int(v) for v in result.boxes[i])
        box = (x0, y0, x1 + 1, y1 + 1) if areas[i] else (0, 0, 0, 0)  # exclusive x1/y1 in MaskProposal
        out.append(MaskProposal(mask=result.masks[i], score=float(result.iou_preds[i]),
                                stability=float(result.stability[i]), area=int(areas[i]), box=box))
    return out
