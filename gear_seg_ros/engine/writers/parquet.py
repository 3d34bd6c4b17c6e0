"""The ReasonSeg parquet layout, one row per question: image (encoded bytes), text (paraphrases), mask (bool 2-D),
image_id, ann_id, img_height, img_width, plus is_sentence / category / explanation / answer_labels / confidence.
One file per split, written in row groups so memory stays bounded."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gear_seg_ros.engine.splits import SPLITS

ROWS_PER_GROUP = 32
SCHEMA = pa.schema([
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("text", pa.list_(pa.string())),
    ("mask", pa.list_(pa.list_(pa.bool_()))),
    ("image_id", pa.string()),
    ("ann_id", pa.string()),
    ("img_height", pa.int32()),
    ("img_width", pa.int32()),
    ("is_sentence", pa.bool_()),
    ("category", pa.string()),
    ("explanation", pa.string()),
    ("answer_labels", pa.list_(pa.string())),
    ("confidence", pa.float32()),
])


def mask_column(masks: list[np.ndarray]) -> pa.Array:
    """list<list<bool>> from 2-D bool arrays without a Python list per pixel row."""
    flat = pa.array(np.concatenate([m.ravel() for m in masks]), type=pa.bool_())
    row_lengths = np.concatenate([np.full(m.shape[0], m.shape[1], dtype=np.int32) for m in masks])
    rows = pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(row_lengths)]), pa.int32()), flat)
    heights = np.array([m.shape[0] for m in masks], dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(heights)]), pa.int32()), rows)


def _table(rows: list[dict]) -> pa.Table:
    columns = {name: [r[name] for r in rows] for name in SCHEMA.names if name != "mask"}
    arrays = [mask_column([r["mask"] for r in rows]) if name == "mask"
              else pa.array(columns[name], SCHEMA.field(name).type) for name in SCHEMA.names]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def write(items, folder: Path, final: Path, keyword=None) -> None:
    for split in SPLITS:
        writer, rows = None, []
        for item in (i for i in items if i.split == split):
            data = item.image_path.read_bytes()
            for q in item.record.questions:
                rows.append({"image": {"bytes": data, "path": item.image_path.name}, "text": q.text,
                             "mask": item.union(q), "image_id": item.record.image_id, "ann_id": q.question_id,
                             "img_height": item.record.height, "img_width": item.record.width,
                             "is_sentence": q.is_sentence, "category": q.category, "explanation": q.explanation,
                             "answer_labels": [a.label for a in q.answers], "confidence": q.confidence})
                if len(rows) >= ROWS_PER_GROUP:
                    writer = writer or pq.ParquetWriter(folder / f"{split}.parquet", SCHEMA)
                    writer.write_table(_table(rows))
                    rows = []
        if rows:
            writer = writer or pq.ParquetWriter(folder / f"{split}.parquet", SCHEMA)
            writer.write_table(_table(rows))
        if writer is not None:
            writer.close()
