"""Walks the records once per format; each writer builds its folder in a temp place and swaps it in when done."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gear_seg_ros.engine.autolabel import category_name
from gear_seg_ros.engine.records import ImageRecord, QuestionRecord, iter_records
from gear_seg_ros.engine.splits import split_of
from gear_seg_ros.utils.rle import decode_rle

FORMATS = ("lisa", "parquet", "coco", "yolo")


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


def iter_items(out: Path, images_dir: Path, ratios: tuple[float, float, float],
               only_accepted: bool = False) -> Iterator[Item]:
    """The records as the review left them (rejected questions out, edited text in; OUT/review.json)."""
    from gear_seg_ros.engine.review.decisions import apply_decisions, load_decisions

    decisions = load_decisions(out)
    for record in iter_records(out):
        record = apply_decisions(record, decisions, only_accepted)
        yield Item(record, Path(images_dir) / record.image_file, split_of(record.image_id, ratios))


def category_names(items: list[Item]) -> list[str]:
    return sorted({name for item in items for _, name in item.instances()})


def place_image(source: Path, target: Path) -> None:
    """Hard link when the file system allows it (no copy of every photo per question), else copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def export_dataset(out: Path, images_dir: Path, formats: list[str], ratios: tuple[float, float, float],
                   keyword: str | None = None, only_accepted: bool = False) -> dict[str, Path]:
    from gear_seg_ros.engine.export import coco, lisa, parquet, yolo

    writers = {"lisa": lisa.write, "parquet": parquet.write, "coco": coco.write, "yolo": yolo.write}
    unknown = [f for f in formats if f not in writers]
    if unknown:
        raise ValueError(f"unknown export formats {unknown}; choose from {', '.join(FORMATS)}")
    items = list(iter_items(out, images_dir, ratios, only_accepted))
    written = {}
    for fmt in formats:
        final = Path(out) / "export" / fmt
        staging = final.with_name(f".{fmt}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        writers[fmt](items, staging, final, keyword=keyword)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        written[fmt] = final
    return written
