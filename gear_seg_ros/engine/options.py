"""Engine options: what changes the records (kept in engine.json and checked on resume) and how a run executes."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

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


@dataclass
class EngineOptions:
    questions_per_image: int = 2
    paraphrases: int = 5
    min_confidence: float = 6.0
    min_paraphrases: int = 2  # distinct paraphrases a question needs to be kept
    min_mask_fraction: float = 1 / 600
    max_question_chars: int = 140
    max_explanation_chars: int = 400
    max_tokens: int | None = None  # per LLM call; None = the reasoner's config
    seed: int = 0
    auto_label: str | None = None
    maturity: str | None = None  # fruit name
    categories: list[str] = field(default_factory=lambda: list(CATEGORIES))

    def __post_init__(self) -> None:
        if not 1 <= self.questions_per_image <= 4:
            raise ValueError(f"questions per image must be 1..4, got {self.questions_per_image}")
        if not 1 <= self.paraphrases <= 10:
            raise ValueError(f"paraphrases must be 1..10, got {self.paraphrases}")
        if not 1 <= self.min_confidence <= 10:
            raise ValueError(f"min confidence must be 1..10, got {self.min_confidence}")
        self.min_paraphrases = min(self.min_paraphrases, self.paraphrases)
        unknown = [c for c in self.categories if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; choose from {list(CATEGORIES)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EngineOptions:
        return cls(**data)


def derived_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed from the run seed and e.g. the image stem: independent of order and of the worker."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest()[:4], "little") & 0x7FFFFFFF
