"""Mask <-> polygons, as LISA / labelme / YOLO store them (outer contours; holes are filled)."""
from __future__ import annotations

import cv2
import numpy as np


def mask_to_polygons(mask: np.ndarray, min_points: int = 3) -> list[list[list[int]]]:
    """Outer contours as [[x, y], ...] pixel coordinates, largest first. Drawn back with cv2.fillPoly + polylines
    (the LISA reader's rule) they reproduce the mask up to holes."""
    contours, _ = cv2.findContours(np.asarray(mask, dtype=np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted(contours, key=lambda c: -cv2.contourArea(c))
    polygons = [c.reshape(-1, 2).tolist() for c in contours]
    return [p for p in polygons if len(p) >= min_points]


def polygons_to_mask(polygons: list[list[list[float]]], height: int, width: int) -> np.ndarray:
    canvas = np.zeros((height, width), dtype=np.uint8)
    for polygon in polygons:
        points = np.array([polygon], dtype=np.int32)
        cv2.polylines(canvas, points, True, 1, 1)
        cv2.fillPoly(canvas, points, 1)
    return canvas.astype(bool)
