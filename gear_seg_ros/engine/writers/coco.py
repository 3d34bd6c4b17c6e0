"""COCO instances per split (RLE masks via pycocotools); categories are the auto-labels or the answers' labels."""
from __future__ import annotations

import json
from pathlib import Path

from gear_seg_ros.engine.splits import SPLITS
from gear_seg_ros.engine.writers.common import category_names, place_image


def write(items, folder: Path, final: Path, keyword=None) -> None:
    names = category_names(items)
    cat_ids = {name: k + 1 for k, name in enumerate(names)}
    categories = [{"id": cat_ids[n], "name": n, "supercategory": keyword or "object"} for n in names]
    for split in SPLITS:
        split_items = [i for i in items if i.split == split]
        if not split_items:
            continue
        images, annotations = [], []
        for image_id, item in enumerate(split_items, start=1):
            rec = item.record
            images.append({"id": image_id, "file_name": item.image_path.name, "height": rec.height,
                           "width": rec.width, "image_stem": rec.image_id})
            place_image(item.image_path, folder / split / item.image_path.name)
            for mask_id, name in item.instances():
                mask = rec.masks[mask_id]
                x0, y0, x1, y1 = mask.box
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": cat_ids[name],
                                    "segmentation": mask.rle, "area": mask.area, "bbox": [x0, y0, x1 - x0, y1 - y0],
                                    "iscrowd": 0, "mask_id": mask_id})
        doc = {"info": {"description": "gear-seg engine auto-labels" if keyword else "gear-seg engine answers"},
               "images": images, "annotations": annotations, "categories": categories}
        (folder / split / "annotations.json").write_text(json.dumps(doc), encoding="utf-8")
