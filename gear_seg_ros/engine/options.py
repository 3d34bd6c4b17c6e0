"""Engine options: what changes the records (kept in engine.json and checked on resume) and how a run executes."""
from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gear_seg_ros.errors import ConfigError
from gear_seg_ros.utils.settings_model import friendly_errors

# The five reasoning categories of the GEAR-Seg data engine, with the hint the LLM gets for each.
CATEGORIES = {
    "commonsense": "needs everyday knowledge about what objects are for or where they belong "
                   "(e.g. 'something I could drink coffee from')",
    "functional": "selects a group of objects that share a utility (e.g. 'all the things used for writing')",
    "manipulation": "selects two or more objects of different kinds that act together in a task "
                    "(e.g. 'what I need to divide the dessert' -> the cake and the knife)",
    "part": "selects a part of an object rather than the whole (e.g. 'the safe-to-hold part of the knife')",
    "attribute": "distinguishes objects by material, colour, shape or state "
                 "(e.g. 'the metal one, not the plastic one')",
}
MATURITY_GRADES = ("unripe", "turning", "ripe")


class EngineOptionsError(ConfigError, ValueError):
    """Bad engine options: a ConfigError that callers catching ValueError (the dataclass's old error) still catch."""


class EngineOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions_per_image: int = Field(2, ge=1, le=4, description="questions the LLM writes per image, each of "
                                                                 "another category")
    paraphrases: int = Field(5, ge=1, le=10, description="paraphrases the LLM writes per question")
    min_confidence: float = Field(0.6, ge=0.0, le=1.0,
                                  description="drop a question whose confidence (0-1: the LLM's 1-10 rating / 10) is "
                                              "below this")
    min_paraphrases: int = Field(2, ge=0, le=10, description="distinct paraphrases a question needs to be kept "
                                                             "(at most `paraphrases`: larger values are lowered)")
    min_mask_fraction: float = Field(1 / 600, ge=0.0, lt=1.0, description="masks smaller than this fraction of "
                                                                          "the image cannot be a target")
    max_question_chars: int = Field(140, ge=8, le=100000, description="longest paraphrase the schema admits")
    max_explanation_chars: int = Field(400, ge=20, le=100000, description="longest logic chain the schema admits")
    max_tokens: int | None = Field(None, ge=0, le=1000000,
                                   description="per LLM call; None or 0 = what the schema's longest answer needs "
                                               "(then every answer closes); smaller: shorter questions and "
                                               "explanations. Also the reasoner's answer limit (maturity queries)")
    seed: int = Field(0, ge=-2**63, le=2**63 - 1, description="run seed; each image's seed derives from it")
    auto_label: str | None = Field(None, description="auto-label mode (engine/autolabel.py); None = off")
    maturity: str | None = Field(None, description="fruit name for maturity questions; None = off")
    categories: list[str] = Field(default_factory=lambda: list(CATEGORIES),
                                  description=f"reasoning categories to draw from: {', '.join(CATEGORIES)}")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise EngineOptionsError("invalid engine options:\n" + friendly_errors(exc, EngineOptions)) from None

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; choose from {list(CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _clamp_min_paraphrases(self) -> EngineOptions:
        self.min_paraphrases = min(self.min_paraphrases, self.paraphrases)
        return self

    def to_dict(self) -> dict:
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: dict) -> EngineOptions:
        return cls(**data)


def derived_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed from the run seed and e.g. the image stem: independent of order and of the worker."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest()[:4], "little") & 0x7FFFFFFF
