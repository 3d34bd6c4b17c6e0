"""ReasonSeg parquet layout (the published test split): image, text, mask, image_id, ann_id, img_height, img_width.

`image` holds encoded bytes or {"bytes": ...}; `mask` a bool 2-D array (nested lists) or encoded PNG bytes.
An optional `is_sentence` column is used when present. Rows are streamed batch by batch.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gear_seg_ros.evaluation.samples import EvalQuery, EvalSample, decode_image

log = logging.getLogger("gear_seg.eval")


def _bytes(value) -> bytes:
    if isinstance(value, dict):
        value = value.get("bytes")
    if not isinstance(value, (bytes, bytearray)):
        raise ValueError("image/mask cell holds no bytes")
    return bytes(value)


def _mask(value, shape: tuple[int, int]) -> np.ndarray:
    if isinstance(value, (bytes, bytearray, dict)):
        return decode_image(_bytes(value), "mask")[..., 0] > 0
    mask = np.asarray(value if not isinstance(value, list) else [list(r) for r in value], dtype=bool)
    if mask.ndim == 1 and mask.size == shape[0] * shape[1]:
        mask = mask.reshape(shape)
    if mask.shape != shape:
        raise ValueError(f"mask shape {mask.shape} differs from image {shape}")
    return mask


def _stem(image_id) -> str:
    text = str(image_id)
    return Path(text).stem if Path(text).suffix.lower() in (".jpg", ".jpeg", ".png") else text


def _sample(row: dict, fallback_id: str) -> EvalSample:
    image = decode_image(_bytes(row["image"]), "parquet image")
    shape = image.shape[:2]
    texts = row.get("text")
    texts = [texts] if isinstance(texts, str) else list(texts or [])
    is_sentence = row.get("is_sentence")
    image_id = _stem(row.get("image_id") or fallback_id)
    ann_id = row.get("ann_id")
    return EvalSample(image_id, image,
                      [EvalQuery(str(t), None if is_sentence is None else bool(is_sentence)) for t in texts],
                      _mask(row["mask"], shape), np.zeros(shape, dtype=bool),
                      sample_id=f"{image_id}:{ann_id}" if ann_id is not None else image_id)


def parquet_files(path: Path) -> list[Path]:
    path = Path(path)
    return sorted(path.glob("*.parquet")) if path.is_dir() else [path]


def read_parquet(path: str | Path, batch_size: int = 16) -> Iterator[EvalSample]:
    import pyarrow.parquet as pq

    for file in parquet_files(Path(path)):
        parquet, row_number = pq.ParquetFile(file), -1
        for batch in parquet.iter_batches(batch_size=batch_size):
            for row in batch.to_pylist():
                row_number += 1
                try:
                    sample = _sample(row, f"{file.stem}_{row_number}")
                except Exception as exc:  # noqa: BLE001 - one broken row must not end the run
                    log.warning("skipping %s row %d: %s: %s", file, row_number, type(exc).__name__, exc)
                    continue
                yield sample
