"""The reference implementation's on-disk outputs <-> `Perception`.

Layout under a root folder, per image stem:
  sam/masks/<stem>/mask_<i>.png          one mask per file, foreground = pixel value > 0, i = 0, 1, ...
  dam/descriptions/<stem>.json           {"whole": {"des": "<scene>"}, "0": {"des": "..."}, "1": {...}, ...}
Importing lets stored masks and descriptions be re-reasoned and re-scored without the segment / describe stages.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np

from gear_seg_ros.types import MaskProposal, Perception

_MASK_NAME = re.compile(r"^mask_(\d+)\.png$")


def mask_dir(root: Path, stem: str) -> Path:
    return Path(root) / "sam" / "masks" / stem


def description_file(root: Path, stem: str) -> Path:
    return Path(root) / "dam" / "descriptions" / f"{stem}.json"


def has_outputs(root: str | Path, stem: str) -> bool:
    return mask_dir(Path(root), stem).is_dir() and description_file(Path(root), stem).is_file()


def _read_mask(path: Path) -> np.ndarray:
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ValueError(f"{path}: not a readable PNG mask")
    return array.any(axis=2) if array.ndim == 3 else array > 0


def read_outputs(root: str | Path, stem: str, image_size: tuple[int, int] | None = None) -> Perception:
    """Perception for `stem` (frame_id = stem). Masks in index order; description i = entry "i" ("" if missing)."""
    root = Path(root)
    folder, desc_path = mask_dir(root, stem), description_file(root, stem)
    if not folder.is_dir():
        raise FileNotFoundError(f"no masks for {stem!r}: {folder} is missing")
    if not desc_path.is_file():
        raise FileNotFoundError(f"no descriptions for {stem!r}: {desc_path} is missing")
    indexed = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _MASK_NAME.match(p.name)))
    masks = [MaskProposal(_read_mask(p)) for _, p in indexed]
    entries = json.loads(desc_path.read_text(encoding="utf-8"))

    def text(key: str) -> str:
        entry = entries.get(key, {})
        return str(entry.get("des", "")) if isinstance(entry, dict) else str(entry)

    if masks:
        size = masks[0].mask.shape
        if any(m.mask.shape != size for m in masks):
            raise ValueError(f"masks of {stem!r} differ in size")
        image_size = (int(size[0]), int(size[1]))
    return Perception(frame_id=stem, image_size=tuple(image_size or (0, 0)), masks=masks,
                      descriptions=[text(str(i)) for i, _ in indexed], scene=text("whole"))


def write_outputs(perception: Perception, root: str | Path, stem: str | None = None) -> Path:
    """Write `perception` in the reference layout; returns the description file's path."""
    stem = stem or perception.frame_id
    folder, desc_path = mask_dir(Path(root), stem), description_file(Path(root), stem)
    folder.mkdir(parents=True, exist_ok=True)
    desc_path.parent.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("mask_*.png"):
        old.unlink()
    for i, proposal in enumerate(perception.masks):
        cv2.imwrite(str(folder / f"mask_{i}.png"), proposal.mask.astype(np.uint8) * 255)
    entries = {"whole": {"des": perception.scene}}
    entries.update({str(i): {"des": d} for i, d in enumerate(perception.descriptions)})
    desc_path.write_text(json.dumps(entries, indent=2, ensure_ascii=False), encoding="utf-8")
    return desc_path
