"""COCO mask mAP / mAR (pycocotools COCOeval, iouType "segm") from in-memory ground truth and predictions.

Ground truth: per (image, category) the instance masks a reader kept (COCO and labelme readers do). Predictions:
each mask the agent selected for that query, with its proposal score. Only queried (image, category) pairs exist,
so false positives are counted only inside the pairs that were asked about.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils

STAT_NAMES = ("mAP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR1", "AR10", "AR100",
              "AR_small", "AR_medium", "AR_large")


def _rle(mask: np.ndarray) -> dict:
    return mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))


@dataclass
class CocoCollector:
    """Add ground truth and predictions per evaluated sample, then call evaluate()."""

    images: dict[str, dict] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    gt: list[dict] = field(default_factory=list)
    dt: list[dict] = field(default_factory=list)

    def _image(self, key: str, shape: tuple[int, int]) -> int:
        if key not in self.images:
            self.images[key] = {"id": len(self.images) + 1, "height": int(shape[0]), "width": int(shape[1])}
        return self.images[key]["id"]

    def _category(self, name: str) -> int:
        return self.categories.setdefault(name, len(self.categories) + 1)

    def add_ground_truth(self, image_key: str, category: str, instances: list, shape: tuple[int, int]) -> None:
        image_id, cat_id = self._image(image_key, shape), self._category(category)
        for inst in instances:
            rle = _rle(inst.mask)
            self.gt.append({"id": len(self.gt) + 1, "image_id": image_id, "category_id": cat_id, "segmentation": rle,
                            "area": float(mask_utils.area(rle)), "bbox": list(mask_utils.toBbox(rle)),
                            "iscrowd": int(inst.iscrowd)})

    def add_predictions(self, image_key: str, category: str, masks: list, scores: list,
                        shape: tuple[int, int]) -> None:
        image_id, cat_id = self._image(image_key, shape), self._category(category)
        for mask, score in zip(masks, scores):
            if np.asarray(mask).any():
                self.dt.append({"image_id": image_id, "category_id": cat_id, "segmentation": _rle(mask),
                                "score": float(score)})

    def evaluate(self) -> dict:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        if not self.gt:
            return {}
        result = {"images": len(self.images), "gt_instances": len(self.gt), "predictions": len(self.dt)}
        if not self.dt:
            return {**result, **{name: 0.0 for name in STAT_NAMES}}
        with contextlib.redirect_stdout(io.StringIO()):  # COCOeval's own printout; the stats are returned
            gt = COCO()
            gt.dataset = {"images": list(self.images.values()), "annotations": self.gt,
                          "categories": [{"id": i, "name": n} for n, i in self.categories.items()]}
            gt.createIndex()
            dt = gt.loadRes([dict(d) for d in self.dt])
            evaluator = COCOeval(gt, dt, iouType="segm")
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        stats = {name: (None if v < 0 else float(v)) for name, v in zip(STAT_NAMES, evaluator.stats)}
        return {**result, **stats}
