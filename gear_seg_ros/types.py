"""Typed state that flows between the stages. No ROS, no model code."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class MaskProposal:
    """One class-agnostic mask. `box` is (x0, y0, x1, y1) in pixels, x1/y1 exclusive."""

    mask: np.ndarray  # bool, H x W
    score: float = 1.0  # predicted IoU (SAM) or proposal confidence
    stability: float = 1.0
    area: int = 0
    box: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __post_init__(self) -> None:
        self.mask = np.asarray(self.mask, dtype=bool)
        if not self.area:
            self.area = int(self.mask.sum())
        if self.box == (0, 0, 0, 0) and self.area:
            self.box = mask_box(self.mask)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


@dataclass
class Perception:
    """What segment + describe produced for one frame: computed once, re-used by every query."""

    frame_id: str
    image_size: tuple[int, int]  # (height, width)
    masks: list[MaskProposal]
    descriptions: list[str]
    scene: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return sum(m.mask.nbytes for m in self.masks) + sum(len(d) for d in self.descriptions)

    def numbered(self) -> list[tuple[int, str]]:
        return list(enumerate(self.descriptions))


@dataclass
class Selection:
    """A reasoner's answer: which mask ids, and why."""

    ids: list[int]
    explanation: str = ""
    confidence: float | None = None
    message: str = ""  # why the selection is empty, when it is for a reason other than "nothing matches"
    note: str = ""  # something the caller should know about a successful answer (e.g. shortened descriptions)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Target:
    """One object an answer points at: the selected masks that belong to it, joined (gear_seg_ros/targets.py).

    `id` is the mask id of its largest member, whose description and score it carries (the most complete view of
    the object); `mask_ids` are every selected mask joined into it, in the reasoner's order; `mask` is their union.
    """

    id: int
    mask_ids: list[int]
    mask: np.ndarray  # bool H x W
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of `mask`, exclusive
    score: float
    description: str

    @property
    def area(self) -> int:
        x0, y0, x1, y1 = self.box
        return int(np.count_nonzero(self.mask[y0:y1, x0:x1]))

    def to_dict(self, with_mask: bool = False) -> dict:
        out = {"id": self.id, "mask_ids": list(self.mask_ids), "box": list(self.box), "area": self.area,
               "score": round(float(self.score), 4), "description": self.description}
        if with_mask:
            from gear_seg_ros.utils.rle import encode_rle

            out["rle"] = encode_rle(self.mask)
        return out


@dataclass
class QueryResult:
    """`ids` = the masks the reasoner selected (its order); `targets` = the objects they make up, one per object."""

    frame_id: str
    instruction: str
    mode: str
    ids: list[int]
    targets: list[Target]
    union_mask: np.ndarray
    explanation: str
    confidence: float | None
    descriptions: dict[int, str]  # the descriptions of every mask the reasoner saw
    timings: dict[str, float]
    from_cache: bool
    success: bool = True
    message: str = ""

    def to_dict(self, with_masks: bool = False) -> dict:
        out = {
            "frame_id": self.frame_id,
            "instruction": self.instruction,
            "mode": self.mode,
            "success": self.success,
            "message": self.message,
            "ids": list(self.ids),
            "targets": [t.to_dict(with_masks) for t in self.targets],
            "explanation": self.explanation,
            "confidence": self.confidence,
            "union_area": int(self.union_mask.sum()),
            "from_cache": self.from_cache,
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
            "descriptions": {str(k): v for k, v in self.descriptions.items()},
        }
        if with_masks:
            from gear_seg_ros.utils.rle import encode_rle

            out["union_rle"] = encode_rle(self.union_mask)
        return out
