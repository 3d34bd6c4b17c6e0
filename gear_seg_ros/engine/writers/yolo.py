"""YOLO segmentation labels (`class x1 y1 x2 y2 ...`, coordinates normalised to 0..1), one line per polygon, and
data.yaml; the classes are the COCO export's categories in the same order (class k = COCO id k + 1)."""
from __future__ import annotations

from pathlib import Path

import yaml

from gear_seg_ros.engine.contours import mask_to_polygons
from gear_seg_ros.engine.writers.common import category_names, place_image


def write(items, folder: Path, final: Path, keyword=None) -> None:
    names = category_names(items)
    classes = {name: k for k, name in enumerate(names)}
    for item in items:
        rec = item.record
        lines = []
        for mask_id, name in item.instances():
            for polygon in mask_to_polygons(item.mask(mask_id)):
                coords = " ".join(f"{x / rec.width:.6f} {y / rec.height:.6f}" for x, y in polygon)
                lines.append(f"{classes[name]} {coords}")
        stem = item.image_path.stem
        label = folder / "labels" / item.split / f"{stem}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        place_image(item.image_path, folder / "images" / item.split / item.image_path.name)
    data = {"path": str(Path(final).resolve()), "train": "images/train", "val": "images/val", "test": "images/test",
            "names": dict(enumerate(names))}
    (folder / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
