"""What an evaluation reader yields: one image, its queries, and the ground truth they share."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from gear_seg_ros.errors import InvalidImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class EvalQuery:
    text: str
    is_sentence: bool | None = None  # None: the data set does not say
    category: str | None = None


@dataclass
class GtInstance:
    """One ground-truth instance of the sample's category (for COCO mAP)."""

    mask: np.ndarray
    iscrowd: bool = False


@dataclass
class EvalSample:
    """One ground-truth target and the queries that all point at it.

    `target` and `ignore` are bool H x W; ignore pixels are left out of every score.
    `image_id` doubles as the agent's frame id and as the stem used by the reference output layout.
    """

    image_id: str
    image: np.ndarray  # RGB uint8 H x W x 3
    queries: list[EvalQuery]
    target: np.ndarray
    ignore: np.ndarray
    sample_id: str = ""
    instances: list[GtInstance] = field(default_factory=list)
    category_id: int | None = None

    def __post_init__(self) -> None:
        self.target = np.asarray(self.target, dtype=bool)
        self.ignore = np.asarray(self.ignore, dtype=bool)
        if not self.sample_id:
            self.sample_id = self.image_id
        if self.target.shape != self.ignore.shape:
            raise ValueError(f"{self.sample_id}: target {self.target.shape} and ignore {self.ignore.shape} differ")


def decode_image(data: bytes, name: str = "image") -> np.ndarray:
    """Encoded image bytes -> RGB uint8 (cv2 decoding, as LISA reads images)."""
    array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if array is None:
        raise InvalidImageError(f"{name}: not a readable image (jpg/png/...); check the file")
    return cv2.cvtColor(array, cv2.COLOR_BGR2RGB)


def read_image(path: Path) -> np.ndarray:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidImageError(f"cannot read image {path}: {exc}") from exc
    return decode_image(data, str(path))


def find_image(folder: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def label_text(label: str, template: str = "the {label}") -> str:
    """Query text for a class label: underscores read as spaces ("R_strawberry" -> "the R strawberry")."""
    return template.format(label=label.replace("_", " ").strip())
