"""LISA's polygon rasterisation rule, written once (the engine's exports and labelme round trip, the eval readers).

Each polygon is drawn as its filled interior plus a 1-px outline (cv2.fillPoly + cv2.polylines), its points
truncated to int32 pixels. Several polygons go on one uint8 canvas sorted by drawn area, largest first (stable for
ties), so a smaller polygon drawn later wins where they overlap.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

Points = Sequence[Sequence[float]]


def shape_points(shape: dict) -> list[list[float]] | None:
    """A labelme / LISA shape's polygon; a 2-point rectangle becomes its 4 corners. None for other shapes (points,
    lines, circles) and for polygons of fewer than 3 points."""
    points = shape.get("points") or []
    kind = shape.get("shape_type") or "polygon"
    if kind == "rectangle" and len(points) == 2:
        (x0, y0), (x1, y1) = points
        points = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    elif kind not in ("polygon", "rectangle") or len(points) < 3:
        return None
    return [[float(x), float(y)] for x, y in points]


def draw_polygon(canvas: np.ndarray, points: Points, value: int) -> None:
    pts = np.array([points], dtype=np.int32)
    cv2.polylines(canvas, pts, True, int(value), 1)
    cv2.fillPoly(canvas, pts, int(value))


def paint_polygons(polygons: Iterable[tuple[Points, int]], height: int, width: int) -> np.ndarray:
    """(points, value) pairs painted on a uint8 canvas, largest first."""
    painted = []
    for points, value in polygons:
        scratch = np.zeros((height, width), dtype=np.uint8)
        draw_polygon(scratch, points, 1)
        painted.append((int(scratch.sum()), points, value))
    painted.sort(key=lambda item: -item[0])
    canvas = np.zeros((height, width), dtype=np.uint8)
    for _, points, value in painted:
        draw_polygon(canvas, points, value)
    return canvas


def polygons_to_mask(polygons: Iterable[Points], height: int, width: int) -> np.ndarray:
    """The union of the polygons as a bool mask."""
    return paint_polygons(((points, 1) for points in polygons), height, width).astype(bool)
