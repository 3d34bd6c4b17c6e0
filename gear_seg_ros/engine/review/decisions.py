"""Review decisions (accept / reject / flag a question, edit its text), kept in OUT/review.json.

Every change rewrites the file atomically (temp + fsync + os.replace) before the page hears back, so a killed review
loses nothing and the next one resumes. `apply_decisions` is the one place the export reads them.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gear_seg_ros.engine.records import ImageRecord, atomic_write_text
from gear_seg_ros.errors import GearSegError

DECISIONS_FILE = "review.json"
STATUSES = ("pending", "accepted", "rejected", "flagged")  # flagged: the mask needs fixing (labelme)
Status = Literal["pending", "accepted", "rejected", "flagged"]
MAX_TEXT_CHARS = 1000


def clean_texts(texts: list[str]) -> list[str]:
    """Paraphrases as edited on the page: whitespace collapsed, blank lines dropped, at least one left."""
    lines = [" ".join(str(t).split()) for t in texts]
    lines = [t for t in lines if t]
    if not lines:
        raise ValueError("the question text is empty; type at least one line (the question)")
    too_long = [t for t in lines if len(t) > MAX_TEXT_CHARS]
    if too_long:
        raise ValueError(f"a line is {len(too_long[0])} characters long; at most {MAX_TEXT_CHARS}")
    return lines


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image_id: str
    status: Status = "pending"
    text: list[str] | None = None  # edited paraphrases (first line = the question); None = as generated
    note: str = ""
    updated: float = 0.0  # unix time of the last change

    @field_validator("text")
    @classmethod
    def _clean(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else clean_texts(value)


class DecisionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    decisions: dict[str, Decision] = Field(default_factory=dict)  # by question_id


def decisions_path(out: Path) -> Path:
    return Path(out) / DECISIONS_FILE


def load_decisions(out: Path) -> dict[str, Decision]:
    path = decisions_path(out)
    if not path.is_file():
        return {}
    try:
        return DecisionFile.model_validate_json(path.read_text(encoding="utf-8")).decisions
    except (ValidationError, ValueError, UnicodeDecodeError) as exc:
        raise GearSegError(f"{path} is not a review decisions file ({str(exc).splitlines()[0]}); fix it or move it "
                           f"away to start the review afresh") from None


class DecisionStore:
    """The decisions of one output folder; thread-safe (the review server answers requests in threads)."""

    def __init__(self, out: Path) -> None:
        self.path = decisions_path(out)
        self._lock = threading.Lock()
        self.decisions = load_decisions(out)

    def get(self, question_id: str) -> Decision | None:
        return self.decisions.get(question_id)

    def update(self, question_id: str, image_id: str, *, status: str | None = None,
               text: list[str] | None = None, reset_text: bool = False, note: str | None = None) -> Decision:
        with self._lock:
            old = self.decisions.get(question_id) or Decision(image_id=image_id)
            changes = {"updated": time.time()}
            if status is not None:
                changes["status"] = status
            if text is not None:
                changes["text"] = text
            if reset_text:
                changes["text"] = None
            if note is not None:
                changes["note"] = note
            decision = Decision.model_validate({**old.model_dump(), **changes})  # raises on a bad status / text
            self.decisions[question_id] = decision
            self._save()
            return decision

    def _save(self) -> None:
        doc = DecisionFile(decisions=dict(sorted(self.decisions.items())))
        atomic_write_text(self.path, doc.model_dump_json(indent=1) + "\n")


def apply_decisions(record: ImageRecord, decisions: dict[str, Decision], only_accepted: bool = False) -> ImageRecord:
    """The record as the export writes it: rejected questions out (and, with only_accepted, all but the accepted
    ones), edited text in. Masks, instances and drops are left as they are."""
    if not decisions and not only_accepted:
        return record
    kept = []
    for question in record.questions:
        decision = decisions.get(question.question_id)
        status = decision.status if decision else "pending"
        if status == "rejected" or (only_accepted and status != "accepted"):
            continue
        if decision and decision.text:
            question = question.model_copy(update={"text": list(decision.text)})
        kept.append(question)
    return record.model_copy(update={"questions": kept})


def decision_counts(decisions: dict[str, Decision]) -> dict[str, int]:
    counts = {status: 0 for status in STATUSES}
    for decision in decisions.values():
        counts[decision.status] += 1
    counts["edited"] = sum(d.text is not None for d in decisions.values())
    return counts
