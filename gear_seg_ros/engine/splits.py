"""Image-level train/val/test split, deterministic by a hash of the image stem (an image's questions stay together)."""
from __future__ import annotations

import hashlib

SPLITS = ("train", "val", "test")


def parse_ratios(text: str) -> tuple[float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 3 or any(v < 0 for v in values) or sum(values) <= 0:
        raise ValueError(f"--split wants three non-negative ratios train,val,test such as 0.8,0.1,0.1, got {text!r}")
    total = sum(values)
    return tuple(v / total for v in values)  # type: ignore[return-value]


def split_of(stem: str, ratios: tuple[float, float, float]) -> str:
    digest = hashlib.blake2b(stem.encode("utf-8"), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2.0 ** 64
    if u < ratios[0]:
        return "train"
    return "val" if u < ratios[0] + ratios[1] else "test"
