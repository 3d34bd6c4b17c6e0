"""What the data-set writers share: an engine record placed in a split, its categories, hard-linked images.

The writers (coco, lisa, parquet, yolo) import this module, never dataset.py (which imports them)."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gear_seg_ros.engine.autolabel import category_name
from gear_seg_ros.engine.records import ImageRecord, QuestionRecord
from gear_seg_ros.utils.rle import decode_rle


@dataclass
class Item:
    record: ImageRecord
    image_path: Path
    split: str

    def mask(self, mask_id: int) -> np.ndarray:
        return decode_rle(self.record.masks[mask_id].rle)

    def union(self, question: QuestionRecord) -> np.ndarray:
        out = np.zeros((self.record.height, self.record.width), dtype=bool)
        for i in question.answer_ids:
            out |= self.mask(i)
        return out

    def instances(self) -> list[tuple[int, str]]:
        """(mask id, category): the auto-labels when there are any, else every question's answers by label."""
        if self.record.instances:
            return [(i.mask_id, i.category) for i in self.record.instances]
        seen: dict[tuple[int, str], None] = {}
        for q in self.record.questions:
            for a in q.answers:
                name = category_name(a.label)
                if name:
                    seen[(a.mask_id, name)] = None
        return list(seen)


def category_names(items: list[Item]) -> list[str]:
    return sorted({name for item in items for _, name in item.instances()})


def place_image(source: Path, target: Path) -> None:
    """Hard link when the file system allows it (no copy of every photo per question), else copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
