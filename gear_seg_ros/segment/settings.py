"""The segment stage's settings: one section per segmenter backend, beside the mask NMS's (config `segmenter`, `nms`).

A light module (pydantic only), so config.py assembles the sections without importing a backend.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gear_seg_ros.runtime.settings import ExportDir, ExportRuntimeSettings
from gear_seg_ros.utils.settings_model import Section

SAM2_EXPORT_DIR = "models/weights/sam2_onnx"


class ClassicalSegmenterConfig(Section):
    """`segmenter.classical`: ClassicalSegmenter (segment/classical.py), Felzenszwalb proposals grouped on CPU."""

    work_side: int = Field(320, ge=64, le=4096, description="longest image side the proposals are computed at")
    felzenszwalb_scales: list[Annotated[float, Field(gt=0.0, le=100000.0)]] = Field(
                                             default_factory=lambda: [50.0, 100.0, 300.0],
                                             description="Felzenszwalb scales, one proposal set each (larger = bigger "
                                                         "regions)")
    sigma: float = Field(0.8, ge=0.0, le=20.0, description="Gaussian smoothing before Felzenszwalb, pixels")
    min_region_fraction: float = Field(1 / 600, ge=0.0, lt=1.0, description="drop proposals smaller than this "
                                                                             "fraction of the image")
    max_region_fraction: float = Field(0.5, gt=0.0, le=1.0, description="drop proposals larger than this fraction "
                                                                        "of the image")
    duplicate_iou: float = Field(0.85, gt=0.0, le=1.0, description="drop a proposal this similar to a better one")
    max_proposals: int = Field(120, ge=1, le=10000, description="keep at most this many proposals (best first)")
    rank_pool: int = Field(3, ge=1, le=100, description="the best (rank_pool x max_proposals) candidates by outline "
                                                        "contrast get the costlier shape checks")
    hist_bins: int = Field(12, ge=2, le=64, description="colour-histogram bins per Lab channel of the region "
                                                        "similarity that drives the grouping")
    min_merge_share: float = Field(0.15, ge=0.0, le=0.5, description="a merge whose smaller part is below this "
                                                                     "share of the result is a near-duplicate of the "
                                                                     "larger part: not a proposal")
    edge_contrast_scale: float = Field(15.0, gt=0.0, le=1000.0,
                                       description="Lab distance across the outline that gives edge score 0.63: "
                                                   "score = (1 - exp(-contrast / this)) x solidity")
    hole_fill_fraction: float = Field(0.3, ge=0.0, le=1.0, description="fill holes up to this fraction of the "
                                                                        "region's area (larger ones are usually "
                                                                        "other objects lying inside)")
    iou_side: int = Field(160, ge=16, le=4096, description="longest side masks are compared at for duplicates "
                                                           "and stability, pixels")


class AutomaticMaskConfig(Section):
    """The automatic mask generator's grid and filters; defaults as the reference implementation."""

    points_per_side: int = Field(32, ge=1, le=512, description="point prompts per image side (the grid has this squared)")
    points_per_batch: int = Field(64, ge=1, le=65536, description="point prompts decoded per batch (memory vs speed)")
    pred_iou_thresh: float = Field(0.8, ge=0.0, le=1.0, description="drop masks whose predicted IoU is below this")
    stability_score_thresh: float = Field(0.95, ge=0.0, le=1.0,
                                          description="drop masks whose stability score is below this")
    stability_score_offset: float = Field(0.7, ge=0.0, le=100.0, description="logit offset the stability score thresholds "
                                                                   "the mask at")
    box_nms_thresh: float = Field(0.7, gt=0.0, le=1.0, description="box IoU above which duplicate masks are "
                                                                   "suppressed")


class Sam2SegmenterConfig(AutomaticMaskConfig):
    """`segmenter.sam2`: Sam2Segmenter (segment/sam2_official.py), the official SAM 2 generator on torch."""

    checkpoint: str = Field("models/weights/sam2.1_hiera_large.pt", description="SAM 2 checkpoint (.pt)")
    model_cfg: str = Field("configs/sam2.1/sam2.1_hiera_l.yaml", description="sam2 package config of the checkpoint")
    device: str = Field("cuda", description="torch device: cuda | cuda:N | cpu")
    min_mask_region_area: int = Field(100, ge=0, le=10**8, description="remove holes and islands smaller than this, pixels")
    crop_n_layers: int = Field(0, ge=0, le=8, description="extra crop layers of the automatic mask generator (0 = none)")


class OnnxSam2SegmenterConfig(ExportRuntimeSettings, AutomaticMaskConfig):
    """`segmenter.onnx_sam2`: OnnxSam2Segmenter (segment/onnx_sam2.py) on a `gear-seg export sam2` folder; model_dir,
    runtime, providers and engine_dir are the export runtime's (runtime/settings.py)."""

    model_dir: ExportDir = SAM2_EXPORT_DIR
    postprocess: Literal["auto", "numpy", "torch"] = Field(
        "auto", description="mask filtering in numpy or torch (GPU when available); auto = torch when on a GPU")
    points_per_batch: int = Field(256, ge=1, le=65536, description="point prompts decoded per batch (memory vs speed)")


class SegmenterConfig(Section):
    """Config section `segmenter`: the backend's name (segment/__init__.py SEGMENTERS) and each backend's settings."""

    backend: str = Field("classical", description="segmenter backend: classical | sam2 | onnx_sam2")
    classical: ClassicalSegmenterConfig = Field(default_factory=ClassicalSegmenterConfig)
    sam2: Sam2SegmenterConfig = Field(default_factory=Sam2SegmenterConfig)
    onnx_sam2: OnnxSam2SegmenterConfig = Field(default_factory=OnnxSam2SegmenterConfig)


class NmsConfig(Section):
    """Config section `nms`: filter_masks (segment/nms.py), run on every segmenter's proposals."""

    containment_thresh: float = Field(0.99, gt=0.0, le=1.0,
                                      description="duplicate when the overlap covers more than this of BOTH masks")
    iou_thresh: float = Field(0.9, gt=0.0, le=1.0, description="also suppress pairs above this IoU (1.0 disables)")
    min_area_fraction: float = Field(1 / 600, ge=0.0, lt=1.0, description="drop masks smaller than this fraction "
                                                                           "of the image")
    max_masks: int = Field(64, ge=1, le=10000, description="keep at most this many masks (largest first)")
