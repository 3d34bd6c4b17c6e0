"""Walks the records once per format; each writer builds its folder in a temp place and swaps it in when done."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from gear_seg_ros.engine.records import iter_records
from gear_seg_ros.engine.splits import split_of
from gear_seg_ros.engine.writers.common import Item

FORMATS = ("lisa", "parquet", "coco", "yolo")


def iter_items(out: Path, images_dir: Path, ratios: tuple[float, float, float],
               only_accepted: bool = False) -> Iterator[Item]:
    """The records as the review left them (rejected questions out, edited text in; OUT/review.json)."""
    from gear_seg_ros.engine.review.decisions import apply_decisions, load_decisions

    decisions = load_decisions(out)
    for record in iter_records(out):
        record = apply_decisions(record, decisions, only_accepted)
        yield Item(record, Path(images_dir) / record.image_file, split_of(record.image_id, ratios))


def export_dataset(out: Path, images_dir: Path, formats: list[str], ratios: tuple[float, float, float],
                   keyword: str | None = None, only_accepted: bool = False) -> dict[str, Path]:
    from gear_seg_ros.engine.writers import coco, lisa, parquet, yolo  # lazily: parquet needs pyarrow

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
