"""The answer the LLM must give: one pydantic model per (masks, targets, length), the schema derived from it for
constrained decoding, and validation of what came back against the same model."""
from __future__ import annotations

import json
from functools import lru_cache

from pydantic import BaseModel, Field, ValidationError, create_model

from gear_seg_ros.types import Selection
from gear_seg_ros.utils.llm_schema import STRICT, llm_schema, one_of


def explanation_chars(max_tokens: int, max_targets: int) -> int:
    """Longest explanation whose whole answer still fits `max_tokens` even at one token per character: a grammar
    that lets the model ramble past max_tokens yields a truncated, invalid JSON object."""
    return max(16, min(240, max_tokens - 24 - 4 * max_targets))


@lru_cache(maxsize=64)
def answer_model(num_masks: int, max_targets: int, max_explanation: int = 240) -> type[BaseModel]:
    """The answer's contract: ids that exist (with no masks: none at all), at most `max_targets` of them, an
    explanation short enough to fit the token budget, a confidence from 1 to 10 (an enum: llama-cpp-python's
    grammar ignores integer bounds, a model answered 0)."""
    ids = one_of(range(num_masks) if num_masks else [-1])
    return create_model(
        "MaskSelection", __config__=STRICT,
        explanation=(str, Field(max_length=max_explanation)),
        mask_ids=(list[ids], Field(max_length=max_targets if num_masks else 0)),
        confidence=(one_of(range(1, 11)), ...))


def answer_schema(num_masks: int, max_targets: int, max_explanation: int = 240) -> dict:
    """JSON schema whose id field admits only ids that exist (used for constrained decoding)."""
    return llm_schema(answer_model(num_masks, max_targets, max_explanation))


class InvalidAnswer(ValueError):
    pass


def parse_answer(text: str, num_masks: int, max_targets: int, max_explanation: int = 240) -> Selection:
    """Strict: the whole text must be one JSON object valid under answer_model (the schema the LLM was given);
    repeated ids count once. Raises InvalidAnswer saying what is wrong."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidAnswer(f"not a JSON object ({exc}): {str(text)[:200]!r}") from None
    if not isinstance(data, dict):
        raise InvalidAnswer(f"expected a JSON object, got {type(data).__name__}")
    ids = data.get("mask_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidAnswer(f"mask_ids must be a list of integers, got {ids!r}")
    bad = [i for i in ids if not 0 <= i < num_masks]
    if bad:
        raise InvalidAnswer(f"mask_ids {bad} do not exist (valid ids: 0..{num_masks - 1})")
    if len(ids) > max_targets:
        raise InvalidAnswer(f"{len(ids)} mask ids given, at most {max_targets} allowed")
    try:
        answer = answer_model(num_masks, max_targets, max_explanation).model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top"
        raise InvalidAnswer(f"{where}: {first['msg']} (got {first.get('input')!r:.80})") from None
    return Selection(ids=list(dict.fromkeys(answer.mask_ids)), explanation=answer.explanation.strip(),
                     confidence=float(answer.confidence))
