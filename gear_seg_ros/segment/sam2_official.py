"""SAM 2 "segment everything" with the official `sam2` package (SAM2AutomaticMaskGenerator), on a GPU.

The reference implementation's settings come from Sam2SegmenterConfig (hiera-large, 32 x 32 points,
stability_score_offset 0.7, min_mask_region_area 100, crop_n_layers 0, library defaults otherwise). Masks are
returned largest first (index 0 = largest), as the reference does.

Notes:
- `sam2` imports torchvision in its mask generator and transforms; there is no CPU torchvision wheel, so this backend
  is for GPU machines. On CPU use `onnx_sam2` (same masks from the exported model) or `classical`.
- `min_mask_region_area` is passed to the generator as the reference does; in sam2 1.x that fills holes / removes
  sprinkles on the low-res logits with sam2's CUDA extension and is skipped (with a warning from sam2) when the
  extension is not built.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from gear_seg_ros.errors import BackendUnavailableError, ConfigError, InvalidImageError
from gear_seg_ros.models import resolve_model_path
from gear_seg_ros.segment.base import Segmenter
from gear_seg_ros.segment.settings import Sam2SegmenterConfig
from gear_seg_ros.types import MaskProposal

log = logging.getLogger(__name__)

DEFAULT_FETCH_NAME = "sam2.1_hiera_large"


def resolve_checkpoint(spec: str, base_dir: str = "") -> Path:
    """The checkpoint file, or ModelNotFoundError naming it and the fetch command."""
    stem = Path(spec).stem if spec else ""
    fetch_name = stem if stem.startswith("sam2") else DEFAULT_FETCH_NAME
    return Path(resolve_model_path(spec, base_dir, what="SAM 2 checkpoint", fetch_name=fetch_name))


def masks_from_records(records: list[dict]) -> list[MaskProposal]:
    """SAM2AutomaticMaskGenerator records -> MaskProposals, largest area first."""
    out = []
    for rec in records:
        x, y, w, h = (round(v) for v in rec["bbox"])  # XYWH of an inclusive xyxy box
        area = int(rec["area"])
        box = (x, y, x + w + 1, y + h + 1) if area else (0, 0, 0, 0)
        out.append(MaskProposal(mask=np.asarray(rec["segmentation"], dtype=bool), score=float(rec["predicted_iou"]),
                                stability=float(rec["stability_score"]), area=area, box=box))
    out.sort(key=lambda m: m.area, reverse=True)
    return out


class Sam2Segmenter(Segmenter):
    name = "sam2"

    def __init__(self, cfg: Sam2SegmenterConfig | None = None, base_dir: str = "") -> None:
        self.cfg = cfg = cfg or Sam2SegmenterConfig()
        checkpoint = resolve_checkpoint(cfg.checkpoint, base_dir)
        try:
            import torch
            from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator
            from sam2.build_sam import build_sam2
        except ImportError as exc:
            raise BackendUnavailableError(
                f"segmenter.backend 'sam2' needs the official `sam2` package with torch and torchvision "
                f"({exc.name or exc} is missing); install them on a GPU machine (see docs/gpu.md, 'GPU environment'), or "
                "use segmenter.backend 'onnx_sam2' (exported model, onnxruntime) or 'classical'") from None
        if cfg.device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailableError(
                f"segmenter.sam2.device is {cfg.device!r} but torch sees no CUDA device; set "
                "segmenter.sam2.device: cpu (slow) or use segmenter.backend 'onnx_sam2'")
        try:
            model = build_sam2(cfg.model_cfg, str(checkpoint), device=cfg.device)
        except Exception as exc:
            if type(exc).__name__ in ("MissingConfigException", "ConfigCompositionException"):
                raise ConfigError(
                    f"unknown segmenter.sam2.model_cfg {cfg.model_cfg!r}; use a config shipped in the sam2 package, "
                    "e.g. configs/sam2.1/sam2.1_hiera_l.yaml (it must match the checkpoint)") from None
            if isinstance(exc, RuntimeError) and "state_dict" in str(exc):
                raise ConfigError(f"checkpoint {checkpoint} does not match model_cfg {cfg.model_cfg}: {exc}") from None
            raise
        self.model = model
        self.generator = SAM2AutomaticMaskGenerator(
            model,
            points_per_side=cfg.points_per_side,
            points_per_batch=cfg.points_per_batch,
            pred_iou_thresh=cfg.pred_iou_thresh,
            stability_score_thresh=cfg.stability_score_thresh,
            stability_score_offset=cfg.stability_score_offset,
            box_nms_thresh=cfg.box_nms_thresh,
            min_mask_region_area=cfg.min_mask_region_area,
            crop_n_layers=cfg.crop_n_layers,
        )

    def segment(self, image: np.ndarray) -> list[MaskProposal]:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InvalidImageError(f"expected an RGB uint8 H x W x 3 image, got {image.dtype} {image.shape}")
        import torch

        with torch.inference_mode():
            records = self.generator.generate(image)
        return masks_from_records(records)
