"""Tracking stage: follow the targets of an answer on every new frame (ROS-free).

`build_tracker(config.tracker, base_dir)` returns a Tracker: start(image, masks, ids, depth) once per answer, then
update(image, depth, proposals) per frame -> list[TrackState]. Backends are chosen by name and imported lazily.
"""
from __future__ import annotations

from gear_seg_ros.track.base import LOST, PREDICTED, TRACKED, Tracker, TrackState
from gear_seg_ros.track.settings import TrackerConfig

TRACKERS = {
    "optical_flow": "gear_seg_ros.track.optical_flow:OpticalFlowTracker",
    "sam2_prompt": "gear_seg_ros.track.sam2_prompt:Sam2PromptTracker",
}


def build_tracker(cfg: TrackerConfig, base_dir: str = "") -> Tracker:
    """cfg: the config's `tracker` section (track/settings.py)."""
    from gear_seg_ros.registry import build

    return build("tracker", TRACKERS, cfg.backend, cfg, base_dir)


__all__ = ["LOST", "PREDICTED", "TRACKED", "TRACKERS", "TrackState", "Tracker", "build_tracker"]
