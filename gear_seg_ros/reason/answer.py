"""The answer the LLM must give: one pydantic model per (masks, targets, length), the schema derived from it for
constrained decoding, and validation of what came back against the same model."""
from __future__ import annotations

import json
from functools import lru_cache

from pydantic import BaseModel, Field, ValidationError, create_model

from gear_seg_ros.errors import GearSegError
from gear_seg_ros.types import Selection
from gear_seg_ros.utils.llm_schema import STRICT, llm_schema, max_json_bytes, one_of
from gear_seg_ros.utils.llm_schema import text as text_field

MAX_EXPLANATION = 240  # characters; shorter when the answer's token budget needs it
MIN_EXPLANATION = 16  # a budget that leaves less than this for the sentence is a configuration error


class AnswerBudgetError(GearSegError):
    """max_tokens cannot hold the longest answer the schema admits."""


def explanation_chars(max_tokens: int, max_targets: int, num_masks: int = 1000, key: str = "max_tokens") -> int:
    """The longest explanation for which the longest answer the schema admits still fits `max_tokens` tokens (one
    token is at least one byte: utils/llm_schema.max_json_bytes), so constrained decoding always closes the JSON."""
    overhead = max_json_bytes(answer_schema(num_masks, max_targets, 1)) - 1
    chars = min(MAX_EXPLANATION, max_tokens - overhead)
    if chars < MIN_EXPLANATION:
        raise AnswerBudgetError(
            f"{key} {max_tokens} cannot hold an answer of {max_targets} mask id(s) and a one-sentence explanation "
            f"({overhead + MIN_EXPLANATION} tokens at least); raise {key} to {overhead + MIN_EXPLANATION} or more, "
            f"or lower reasoner.max_targets")
    return chars


@lru_cache(maxsize=64)
def answer_model(num_masks: int, max_targets: int, max_explanation: int = MAX_EXPLANATION) -> type[BaseModel]:
    """The answer's contract: an explanation of one or two sentences short enough to fit the token budget
    (printable ASCII, ending in . ! or ?), ids that exist (with no masks: none at all), at most `max_targets` of
    them (1 when the instruction asks for one object, reason/count.py), a confidence from 1 to 10 (an enum:
    llama-cpp-python's grammar ignores integer bounds, a model answered 0), read as confidence / 10."""
    ids = one_of(range(num_masks) if num_masks else [-1])
    return create_model(
        "MaskSelection", __config__=STRICT,
        explanation=(text_field(min(MIN_EXPLANATION, max_explanation), max_explanation, sentence=True), ...),
        mask_ids=(list[ids], Field(max_length=max_targets if num_masks else 0)),
        confidence=(one_of(range(1, 11)), ...))


def answer_schema(num_masks: int, max_targets: int, max_explanation: int = MAX_EXPLANATION) -> dict:
    """JSON schema whose id field admits only ids that exist (used for constrained decoding)."""
    return llm_schema(answer_model(num_masks, max_targets, max_explanation))


class InvalidAnswer(ValueError):
    pass


def parse_answer(text: str, num_masks: int, max_targets: int, max_explanation: int = MAX_EXPLANATION) -> Selection:
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
                     confidence=answer.confidence / 10)
