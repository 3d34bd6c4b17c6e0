"""The per-image record (validated with pydantic) and crash-safe writing: temp file + fsync + os.replace."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

RECORD_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaskRecord(_Model):
    id: int = Field(ge=0)
    description: str
    area: int = Field(ge=0)
    box: list[int] = Field(min_length=4, max_length=4)  # x0, y0, x1, y1 (exclusive)
    rle: dict  # COCO RLE, counts as str
    eligible: bool  # large enough to be an answer (min_mask_fraction)
    joined_from: list[int] = Field(default_factory=list)  # a target joined from these masks (their union); [] = a
    # perception mask (or a labelme correction)


class AnswerRecord(_Model):
    mask_id: int = Field(ge=0)
    label: str = Field(min_length=1)


class QuestionRecord(_Model):
    question_id: str
    category: str
    text: list[str] = Field(min_length=1)  # the paraphrases
    is_sentence: bool
    explanation: str
    answers: list[AnswerRecord] = Field(min_length=1)
    confidence: float | None = None

    @property
    def answer_ids(self) -> list[int]:
        return [a.mask_id for a in self.answers]


class InstanceRecord(_Model):
    mask_id: int = Field(ge=0)
    category: str = Field(min_length=1)


class DropRecord(_Model):
    stage: str
    reason: str


class ImageRecord(_Model):
    version: int = RECORD_VERSION
    image_id: str
    image_file: str  # relative to the images folder
    height: int = Field(gt=0)
    width: int = Field(gt=0)
    scene: str = ""
    masks: list[MaskRecord]
    questions: list[QuestionRecord] = Field(default_factory=list)
    instances: list[InstanceRecord] = Field(default_factory=list)
    dropped: list[DropRecord] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_exist(self) -> ImageRecord:
        if [m.id for m in self.masks] != list(range(len(self.masks))):
            raise ValueError("mask ids must be 0..n-1 in order")
        eligible = {m.id for m in self.masks if m.eligible}
        for q in self.questions:
            bad = [i for i in q.answer_ids if i not in eligible]
            if bad or len(set(q.answer_ids)) != len(q.answer_ids):
                raise ValueError(f"question {q.question_id}: answer ids {q.answer_ids} are not distinct eligible ids")
        bad = [i.mask_id for i in self.instances if i.mask_id not in eligible]
        if bad:
            raise ValueError(f"instance mask ids {bad} are not eligible ids")
        return self


def record_dir(out: Path) -> Path:
    return Path(out) / "records"


def record_path(out: Path, stem: str) -> Path:
    return record_dir(out) / f"{stem}.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Readers see the old file or the whole new one, never a truncated one (also after a kill or power loss)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_record(out: Path, record: ImageRecord) -> Path:
    record = ImageRecord.model_validate(record.model_dump())  # never write what would not read back
    path = record_path(out, record.image_id)
    atomic_write_text(path, json.dumps(record.model_dump(), indent=1, ensure_ascii=False) + "\n")
    return path


def read_record(path: Path) -> ImageRecord:
    return ImageRecord.model_validate_json(Path(path).read_text(encoding="utf-8"))


def finished_stems(out: Path) -> set[str]:
    """Stems whose record reads back valid; removes temp files a killed run left behind."""
    folder = record_dir(out)
    if not folder.is_dir():
        return set()
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    done = set()
    for path in folder.glob("*.json"):
        try:
            read_record(path)
        except (ValidationError, ValueError, OSError):
            continue  # unreadable: the image is done again
        done.add(path.stem)
    return done


def iter_records(out: Path) -> Iterator[ImageRecord]:
    for path in sorted(record_dir(out).glob("*.json")):
        yield read_record(path)
