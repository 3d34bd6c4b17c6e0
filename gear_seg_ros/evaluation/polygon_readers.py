"""Polygon annotation readers: ReasonSeg/LISA JSON and labelme JSON (v4).

Rasterisation follows LISA's rule (utils/polygons.py: one uint8 canvas, largest polygon first, filled interior plus
a 1-px outline); targets paint 1, ignore regions 255 (left out of scoring), `flag` shapes are skipped.
"""
from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from gear_seg_ros.evaluation.samples import (
    EvalQuery,
    EvalSample,
    GtInstance,
    decode_image,
    find_image,
    label_text,
    read_image,
)
from gear_seg_ros.utils.polygons import paint_polygons, shape_points

log = logging.getLogger("gear_seg.eval")
TARGET, IGNORE = 1, 255
LABELME_IGNORE_LABELS = {"__ignore__", "ignore"}


def paint_shapes(shapes: list[dict], height: int, width: int, value_of: Callable[[dict], int | None]) -> np.ndarray:
    """uint8 canvas; value_of(shape) gives the value to paint, or None to skip the shape."""
    polygons = []
    for shape in shapes:
        value, points = value_of(shape), shape_points(shape)
        if value is not None and points is not None:
            polygons.append((points, value))
    return paint_polygons(polygons, height, width)


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:  # some ReasonSeg files are cp1252
        return json.loads(path.read_text(encoding="cp1252"))


def lisa_value(shape: dict) -> int | None:
    label = str(shape.get("label", "")).lower()
    if label == "flag":
        return None
    return IGNORE if "ignore" in label else TARGET


def read_lisa_file(json_path: Path, image_path: Path, first_text_only: bool = False) -> EvalSample:
    anno = _load_json(json_path)
    image = read_image(image_path)
    height, width = image.shape[:2]
    canvas = paint_shapes(anno.get("shapes", []), height, width, lisa_value)
    texts = anno.get("text", [])
    texts = [texts] if isinstance(texts, str) else list(texts)
    if first_text_only:
        texts = texts[:1]
    is_sentence = anno.get("is_sentence")
    queries = [EvalQuery(str(t), None if is_sentence is None else bool(is_sentence)) for t in texts]
    return EvalSample(image_path.stem, image, queries, canvas == TARGET, canvas == IGNORE)


def read_lisa_folder(folder: Path, first_text_only: bool = False) -> Iterator[EvalSample]:
    """Every `<stem>.json` in the folder that has a `<stem>.jpg` (or other image) next to it."""
    for json_path in sorted(Path(folder).glob("*.json")):
        image_path = find_image(json_path.parent, json_path.stem)
        if image_path is None:
            continue
        try:
            sample = read_lisa_file(json_path, image_path, first_text_only)
        except Exception as exc:  # noqa: BLE001 - one broken file must not end the run
            log.warning("skipping %s: %s: %s", json_path, type(exc).__name__, exc)
            continue
        yield sample


def _labelme_image(anno: dict, json_path: Path) -> tuple[np.ndarray, str]:
    if anno.get("imageData"):
        return decode_image(base64.b64decode(anno["imageData"]), str(json_path)), json_path.stem
    if anno.get("imagePath"):
        candidate = json_path.parent / anno["imagePath"]
        if candidate.is_file() and candidate.suffix.lower() != ".json":
            return read_image(candidate), json_path.stem
    found = find_image(json_path.parent, json_path.stem)
    if found is None:
        raise FileNotFoundError(f"{json_path}: no image (imageData empty, imagePath {anno.get('imagePath')!r} missing)")
    return read_image(found), json_path.stem


def _labelme_instances(shapes: list[dict], label: str, height: int, width: int) -> list[GtInstance]:
    groups: dict[object, list[dict]] = {}
    for k, shape in enumerate(shapes):
        if shape.get("label") == label:
            gid = shape.get("group_id")
            groups.setdefault(("g", gid) if gid is not None else ("s", k), []).append(shape)
    instances = []
    for members in groups.values():
        canvas = paint_shapes(members, height, width, lambda s: TARGET)
        if canvas.any():
            instances.append(GtInstance(canvas == TARGET))
    return instances


def read_labelme_file(json_path: Path, target_label: str | None = None,
                      template: str = "the {label}") -> Iterator[EvalSample]:
    """One sample per label (or only `target_label`): target = every shape with that label; `__ignore__` = ignore;
    other labels paint background (they occlude the target where drawn later, i.e. where smaller)."""
    anno = _load_json(Path(json_path))
    shapes = anno.get("shapes", [])
    image, stem = _labelme_image(anno, Path(json_path))
    height, width = image.shape[:2]
    labels = sorted({s.get("label") for s in shapes if s.get("label") not in LABELME_IGNORE_LABELS})
    if target_label is not None:
        labels = [target_label] if target_label in labels else []
    for label in labels:
        def value_of(shape: dict, label: str = label) -> int:
            name = shape.get("label")
            return IGNORE if name in LABELME_IGNORE_LABELS else (TARGET if name == label else 0)

        canvas = paint_shapes(shapes, height, width, value_of)
        yield EvalSample(stem, image, [EvalQuery(label_text(label, template), False, label)], canvas == TARGET,
                         canvas == IGNORE, sample_id=f"{stem}:{label}",
                         instances=_labelme_instances(shapes, label, height, width))


def read_labelme_folder(folder: Path, target_label: str | None = None,
                        template: str = "the {label}") -> Iterator[EvalSample]:
    for json_path in sorted(Path(folder).glob("*.json")):
        try:
            samples = list(read_labelme_file(json_path, target_label, template))
        except Exception as exc:  # noqa: BLE001 - one broken file must not end the run
            log.warning("skipping %s: %s: %s", json_path, type(exc).__name__, exc)
            continue
        yield from samples
