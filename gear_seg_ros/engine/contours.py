"""Mask <-> polygons, as LISA / labelme / YOLO store them (outer contours; holes are filled)."""
from __future__ import annotations

import cv2
import numpy as np

from gear_seg_ros.utils.polygons import polygons_to_mask  # noqa: F401 - re-exported: the engine's mask <-> polygons pair


def mask_to_polygons(mask: np.ndarray, min_points: int = 3) -> list[list[list[int]]]:
    """Outer contours as [[x, y], ...] pixel coordinates, largest first. Drawn back with cv2.fillPoly + polylines
    (the LISA reader's rule, utils/polygons.py) they reproduce the mask up to holes."""
    contours, _ = cv2.findContours(np.asarray(mask, dtype=np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted(contours, key=lambda c: -cv2.contourArea(c))
    polygons = [c.reshape(-1, 2).tolist() for c in contours]
    return [p for p in polygons if len(p) >= min_points]
