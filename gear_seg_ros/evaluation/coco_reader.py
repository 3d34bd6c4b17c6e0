"""COCO instance files (pycocotools): one referring sample per (image, category present in it).

Query: "the <category name>"; target: the union of that category's instances; per-instance masks are kept for
COCO mAP. pycocotools' progress prints are swallowed so that `--json` output stays clean.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gear_seg_ros.evaluation.samples import EvalQuery, EvalSample, GtInstance, label_text, read_image


def load_coco(json_path: Path):
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(json_path))


def read_coco(json_path: Path, images_dir: Path | None = None, template: str = "the {label}",
              target_label: str | None = None) -> Iterator[EvalSample]:
    json_path = Path(json_path)
    images_dir = Path(images_dir) if images_dir else json_path.parent
    coco = load_coco(json_path)
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    for image_id in sorted(coco.getImgIds()):
        info = coco.loadImgs(image_id)[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        cat_ids = sorted({a["category_id"] for a in anns})
        if target_label is not None:
            cat_ids = [c for c in cat_ids if names.get(c) == target_label]
        if not cat_ids:
            continue
        path = images_dir / info["file_name"]
        if not path.is_file():
            raise FileNotFoundError(f"COCO image {info['file_name']} not found under {images_dir} (use --images DIR)")
        image = read_image(path)
        height, width = image.shape[:2]
        if (info.get("height"), info.get("width")) not in ((height, width), (None, None)):
            raise ValueError(f"{path}: image is {width}x{height}, the COCO file says {info['width']}x{info['height']}")
        stem = Path(info["file_name"]).stem
        for cat_id in cat_ids:
            with warnings.catch_warnings():  # pycocotools' decode under numpy 2 warns about copy=False
                warnings.simplefilter("ignore", DeprecationWarning)
                instances = [GtInstance(coco.annToMask(a).astype(bool), bool(a.get("iscrowd", 0)))
                             for a in anns if a["category_id"] == cat_id]
            target = np.zeros((height, width), dtype=bool)
            for inst in instances:
                target |= inst.mask
            name = names.get(cat_id, str(cat_id))
            yield EvalSample(stem, image, [EvalQuery(label_text(name, template), False, name)], target,
                             np.zeros_like(target), sample_id=f"{stem}:{name}", instances=instances,
                             category_id=cat_id)
