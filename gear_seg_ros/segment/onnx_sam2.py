"""SAM 2 "segment everything" over ONNX files (see gear_seg_ros/export/sam2_onnx.py) with onnxruntime.

Our own automatic mask generator, equivalent to the official SAM2AutomaticMaskGenerator with crop_n_layers=0 and no
small-region postprocessing, but built for throughput: the image encoder runs once, the points_per_side**2 grid
prompts are decoded in a few large batches (the decoder has a dynamic prompt batch), and every filter
(predicted IoU, stability score with offset, box NMS) and the upscaling to the original size are vectorised numpy.
Only prompts that pass the predicted-IoU filter are upscaled.

Runtimes: ONNX Runtime with the CPU, CUDA or TensorRT provider (onnxruntime-gpu), or the TensorRT engines of
`gear-seg export trt` (`runtime: tensorrt`; features and decoder outputs stay on the GPU). Filtering runs in numpy
(segment/amg_utils.py) or, on a GPU, in torch (segment/amg_torch.py); both take the same steps.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gear_seg_ros.errors import ConfigError, InvalidImageError, ModelNotFoundError
from gear_seg_ros.runtime.formats import (
    SAM2_DECODER_OUTPUTS,
    SAM2_ENCODER_OUTPUTS,
    SAM2_EXPORT_HINT,
    SAM2_IMAGE_INPUT,
    SAM2_PIXEL_MEAN,
    SAM2_PIXEL_STD,
    read_sam2_metadata,
)
from gear_seg_ros.runtime.ort_session import import_onnxruntime, open_session, provider_list
from gear_seg_ros.segment import amg_utils as amg
from gear_seg_ros.segment.base import Segmenter
from gear_seg_ros.segment.settings import OnnxSam2SegmenterConfig
from gear_seg_ros.types import MaskProposal

log = logging.getLogger(__name__)

EXPORT_HINT = "export it with " + SAM2_EXPORT_HINT


@dataclass
class AmgResult:
    """What the generator found, in the official generator's order (after NMS: highest predicted IoU first)."""

    masks: np.ndarray  # K x H x W bool
    iou_preds: np.ndarray  # K float32
    stability: np.ndarray  # K float32
    boxes: np.ndarray  # K x 4, x1/y1 INCLUSIVE as in sam2's batched_mask_to_box
    points: np.ndarray  # K x 2 grid point (pixels) that produced each mask
    timings: dict[str, float] = field(default_factory=dict)


class OnnxSam2Segmenter(Segmenter):
    name = "onnx_sam2"

    def __init__(self, cfg: OnnxSam2SegmenterConfig | None = None, base_dir: str = "") -> None:
        self.cfg = cfg = cfg or OnnxSam2SegmenterConfig()
        self.model_dir = self._resolve_dir(cfg.model_dir, base_dir)
        self.meta = read_sam2_metadata(self.model_dir)
        self.image_size = int(self.meta["image_size"])
        self.mask_threshold = float(self.meta.get("mask_threshold", 0.0))
        self.low_res_size = int(self.meta.get("low_res_size", self.image_size // 4))
        self.pixel_mean = self.meta.get("pixel_mean", SAM2_PIXEL_MEAN)
        self.pixel_std = self.meta.get("pixel_std", SAM2_PIXEL_STD)
        if cfg.runtime == "tensorrt":
            self._open_engines(base_dir)
        else:
            self._open_onnx()
        on_gpu = cfg.runtime == "tensorrt" or any(p != "CPUExecutionProvider" for p in self.providers)
        self.torch_postprocess = cfg.postprocess == "torch" or (cfg.postprocess == "auto" and on_gpu)
        self._grid_cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        log.info("onnx_sam2: %s with %s, %s post-processing", self.model_dir, self.providers,
                 "torch" if self.torch_postprocess else "numpy")

    # ---- setup -------------------------------------------------------------------------------------------------
    def _open_onnx(self) -> None:
        ort = import_onnxruntime("segmenter.backend 'onnx_sam2'")
        files = {}
        for part in ("encoder", "decoder"):
            path = self.model_dir / self.meta[part]["file"]
            if not path.is_file():
                raise ModelNotFoundError(f"SAM 2 ONNX file missing: {path}; " + EXPORT_HINT.format(dir=self.model_dir))
            files[part] = path
        n = int(self.cfg.points_per_batch)  # only the prompt inputs are dynamic; a grid's last batch may be smaller
        profile = {"min": "point_coords:1x1x2,point_labels:1x1", "opt": f"point_coords:{n}x1x2,point_labels:{n}x1",
                   "max": f"point_coords:{n}x1x2,point_labels:{n}x1"}
        cache = self.model_dir / "trt_cache"
        key = "segmenter.onnx_sam2.providers"
        # the encoder has static shapes: no TensorRT optimisation profile for it
        self.encoder = open_session(ort, files["encoder"], provider_list(ort, self.cfg.providers, key, cache))
        self.decoder = open_session(ort, files["decoder"], provider_list(ort, self.cfg.providers, key, cache, profile))
        self.providers = self.decoder.get_providers()
        self.trt = False

    def _open_engines(self, base_dir: str) -> None:
        from gear_seg_ros.models import resolve_model_path
        from gear_seg_ros.runtime.trt_session import TrtSession, read_engine_index

        engine_dir = Path(resolve_model_path(self.cfg.engine_dir, base_dir, what="SAM 2 TensorRT engine folder")) \
            if self.cfg.engine_dir else self.model_dir / "engines"
        index = read_engine_index(engine_dir, self.model_dir, ("encoder", "decoder"))
        self.encoder = TrtSession(index["encoder"])
        self.decoder = TrtSession(index["decoder"])
        largest = self.decoder.shape_range("point_coords")[2][0]
        if self.cfg.points_per_batch > largest:
            raise ConfigError(f"segmenter.onnx_sam2.points_per_batch {self.cfg.points_per_batch} is larger than the "
                              f"decoder engine's largest prompt batch {largest}; lower it or rebuild the engines with "
                              f"`gear-seg export trt --onnx-dir {self.model_dir} --max-batch "
                              f"{self.cfg.points_per_batch} --force`")
        self.providers = ["TensorRT engines"]
        self.trt = True

    @staticmethod
    def _resolve_dir(spec: str, base_dir: str) -> Path:
        try:
            from gear_seg_ros.models import resolve_model_path

            return Path(resolve_model_path(spec, base_dir, what="SAM 2 ONNX model folder"))
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(f"{exc}; " + EXPORT_HINT.format(dir=spec)) from None

    # ---- generator ---------------------------------------------------------------------------------------------
    def encode(self, image: np.ndarray) -> dict:
        """Image features: numpy arrays, or CUDA tensors that stay on the GPU with TensorRT engines."""
        x = amg.preprocess_image(image, self.image_size, self.pixel_mean, self.pixel_std)
        if self.trt:
            import torch

            return self.encoder.run_torch({SAM2_IMAGE_INPUT: torch.from_numpy(x)})
        return dict(zip(SAM2_ENCODER_OUTPUTS, self.encoder.run(SAM2_ENCODER_OUTPUTS, {SAM2_IMAGE_INPUT: x})))

    def decode(self, feats: dict, coords: np.ndarray, labels: np.ndarray):
        """coords N x P x 2 (model frame), labels N x P -> (low-res logits N x 3 x h x w, iou N x 3)."""
        coords = np.ascontiguousarray(coords, dtype=np.float32)
        labels = np.ascontiguousarray(labels, dtype=np.float32)
        if self.trt:
            import torch

            out = self.decoder.run_torch({**feats, "point_coords": torch.from_numpy(coords),
                                          "point_labels": torch.from_numpy(labels)})
            return tuple(out[name] for name in SAM2_DECODER_OUTPUTS)
        return tuple(self.decoder.run(SAM2_DECODER_OUTPUTS,
                                      {**feats, "point_coords": coords, "point_labels": labels}))

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

        # Per batch of prompts: decode, then filter (predicted IoU on the low-res output; only the survivors are
        # upscaled to the image size for the stability filter, binarisation and boxes); box NMS at the end.
        filt = self._mask_filter((h, w))
        sync = self._sync if self.torch_postprocess else (lambda: None)
        batch_times, post_s = [], 0.0
        for start in range(0, len(points), cfg.points_per_batch):
            tb = time.perf_counter()
            sl = slice(start, start + cfg.points_per_batch)
            coords = model_points[sl][:, None, :]
            logits, iou = self.decode(feats, coords, np.ones(coords.shape[:2], dtype=np.float32))
            sync()
            tp = time.perf_counter()
            batch_times.append(tp - tb)
            filt.add(logits, iou, points[sl])
            sync()
            post_s += time.perf_counter() - tp
        timings["decoder_s"] = float(np.sum(batch_times))
        timings["decoder_batches"] = float(len(batch_times))
        timings["decoder_batch_s"] = float(np.mean(batch_times)) if batch_times else 0.0
        timings["postprocess_s"] = post_s
        t0 = time.perf_counter()
        masks, iou, stab, boxes, pts = filt.finish(cfg.box_nms_thresh)
        timings["nms_s"] = time.perf_counter() - t0
        return AmgResult(masks=masks, iou_preds=iou, stability=stab, boxes=boxes, points=pts, timings=timings)

    def _mask_filter(self, hw: tuple[int, int]):
        cfg = self.cfg
        kw = dict(mask_threshold=self.mask_threshold, pred_iou_thresh=cfg.pred_iou_thresh,
                  stability_score_thresh=cfg.stability_score_thresh, stability_score_offset=cfg.stability_score_offset)
        if self.torch_postprocess:
            from gear_seg_ros.segment.amg_torch import TorchMaskFilter, resolve_device

            self._device = resolve_device()
            return TorchMaskFilter(hw, device=self._device, **kw)
        return amg.NumpyMaskFilter((self.low_res_size, self.low_res_size), hw, **kw)

    def _sync(self) -> None:
        if self._device.type == "cuda":  # honest per-stage timings: CUDA work is queued asynchronously
            import torch

            torch.cuda.synchronize()

    def segment(self, image: np.ndarray) -> list[MaskProposal]:
        return proposals_from_result(self.generate(image))


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
