"""The tracking stage's settings: the tracker section and one section per tracker backend (config `tracker`).

A light module (pydantic only), so config.py assembles the sections without importing a backend.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from gear_seg_ros.runtime.settings import ExportDir, ExportRuntimeSettings
from gear_seg_ros.segment.settings import SAM2_EXPORT_DIR
from gear_seg_ros.utils.settings_model import Section


class OpticalFlowTrackerConfig(Section):
    """CPU tracker: dense optical flow (OpenCV DIS) warps each mask from the previous frame to the new one."""

    work_side: int = Field(640, ge=32, le=4096,
                           description="longest image side the optical flow is computed at (smaller = faster)")
    preset: Literal["ultrafast", "fast", "medium"] = Field(
        "ultrafast", description="DIS optical flow preset: ultrafast (fastest) | fast | medium (most accurate)")
    finest_scale: int = Field(0, ge=-1, le=6, description="finest pyramid level DIS computes flow at: 0 = work_side "
                                                          "itself, 1 = half of it ...; -1 = the preset's own (2 for "
                                                          "ultrafast and fast: a quarter of work_side)")
    patch_stride: int = Field(8, ge=0, le=64, description="pixels between DIS patches (patches are 8 px): 8 = no "
                                                          "overlap, ~2.5x faster than the presets' 4 at the same "
                                                          "accuracy here; 0 = the preset's own")
    gradient_iterations: int = Field(0, ge=0, le=256, description="DIS gradient-descent iterations per patch; 0 = "
                                                                  "the preset's own (12 for ultrafast)")
    photometric_sigma: float = Field(
        30.0, gt=0.0, le=255.0, description="grey levels: score term exp(-mean |I_t - warped I_t-1| / sigma) in the mask")
    depth_jump_rel: float = Field(
        0.05, ge=0.0, le=10.0, description="with depth: drop a warped pixel whose depth differs from the depth at the "
                                           "point it came from by more than this fraction of it (it crossed onto "
                                           "another surface); 0 disables")
    depth_jump_min_m: float = Field(0.015, ge=0.0, le=10.0, description="smallest depth jump that drops a pixel, "
                                                                        "metres")


class Sam2PromptTrackerConfig(ExportRuntimeSettings):
    """GPU tracker: SAM 2 re-prompted with each target's predicted box and points (export of `gear-seg export sam2`);
    model_dir, runtime, providers and engine_dir are the export runtime's (runtime/settings.py)."""

    model_dir: ExportDir = SAM2_EXPORT_DIR
    box_margin: float = Field(0.1, ge=0.0, le=1.0,
                              description="the predicted box grows by this fraction of its size on each side")
    max_targets: int = Field(16, ge=1, le=256, description="largest decoder batch (targets per frame)")


class TrackerConfig(Section):
    """Follows the targets of a successful answer on every new frame (ROS node: ~/tracked_targets)."""

    enabled: bool = Field(True, description="track the targets of each successful answer until a new instruction, "
                                            "~/stop_tracking or loss")
    backend: str = Field("optical_flow", description="optical_flow (CPU) | sam2_prompt (SAM 2 export, GPU)")
    min_score: float = Field(0.5, ge=0.0, le=1.0,
                             description="below this track_score a target is PREDICTED instead of TRACKED")
    max_low_score_frames: int = Field(10, ge=1, le=10000,
                                      description="LOST after this many consecutive frames below min_score")
    min_area_px: int = Field(50, ge=1, le=10**8, description="LOST when the mask has fewer pixels than this")
    collapse_ratio: float = Field(0.35, ge=0.0, lt=1.0, description="LOST when the area falls below this fraction "
                                                                    "of the previous frame's area in one frame")
    leave_ratio: float = Field(0.3, ge=0.0, lt=1.0,
                               description="LOST (left the image) when the mask touches the border and its area is "
                                           "below this fraction of its area when it last lay fully inside")
    appearance_sigma: float = Field(
        40.0, gt=0.0, le=1000.0, description="colour levels: score term exp(-|mean colour - the track's mean colour| "
                                             "/ sigma); catches a target replaced by something else")
    reassociate_iou: float = Field(0.5, gt=0.0, le=1.0, description="snap a track to the best segmenter proposal "
                                                                    "of a new perception when their IoU reaches this")
    depth_band_rel: float = Field(0.0, ge=0.0, le=10.0,
                                  description="drop mask pixels whose depth differs from the target's median depth "
                                              "by more than this fraction of it (0 disables depth gating)")
    depth_band_min_m: float = Field(0.02, ge=0.0, le=10.0, description="smallest depth band, metres")
    morph_kernel: int = Field(5, ge=1, le=31,
                              description="opening/closing kernel (pixels) that cleans each mask; 1 disables")
    keep_component_ratio: float = Field(
        0.05, gt=0.0, le=1.0, description="keep the largest connected part of a mask and every other part at least "
                                         "this fraction of it (an occluded object can show in several parts)")
    optical_flow: OpticalFlowTrackerConfig = Field(default_factory=OpticalFlowTrackerConfig)
    sam2_prompt: Sam2PromptTrackerConfig = Field(default_factory=Sam2PromptTrackerConfig)
