"""The answer schema the LLM must follow, and validation of what it returned."""
from __future__ import annotations

import json

from gear_seg_ros.types import Selection


def explanation_chars(max_tokens: int, max_targets: int) -> int:
    """Longest explanation whose whole answer still fits `max_tokens` even at one token per character: a grammar
    that lets the model ramble past max_tokens yields a truncated, invalid JSON object."""
    return max(16, min(240, max_tokens - 24 - 4 * max_targets))


def answer_schema(num_masks: int, max_targets: int, max_explanation: int = 240) -> dict:
    """JSON schema whose id field admits only ids that exist (used for constrained decoding)."""
    ids: dict = {"type": "integer", "enum": list(range(num_masks))} if num_masks else {"type": "integer",
                                                                                       "enum": [-1]}
    return {
        "type": "object",
        "properties": {
            "explanation": {"type": "string", "maxLength": max_explanation},
            "mask_ids": {"type": "array", "items": ids, "maxItems": 0 if num_masks == 0 else max_targets},
            # an enum, not minimum/maximum: llama-cpp-python's grammar ignores integer bounds (a model answered 0)
            "confidence": {"type": "integer", "enum": list(range(1, 11))},
        },
        "required": ["explanation", "mask_ids", "confidence"],
        "additionalProperties": False,
    }


class InvalidAnswer(ValueError):
    pass


def parse_answer(text: str, num_masks: int, max_targets: int) -> Selection:
    """Strict: the whole text must be one JSON object with valid ids. Raises InvalidAnswer saying what is wrong."""
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
    unique = list(dict.fromkeys(ids))
    if len(unique) > max_targets:
        raise InvalidAnswer(f"{len(unique)} mask ids given, at most {max_targets} allowed")
    explanation = data.get("explanation", "")
    if not isinstance(explanation, str):
        raise InvalidAnswer("explanation must be a string")
    confidence = data.get("confidence")
    if confidence is not None and (not isinstance(confidence, (int, float)) or not 1 <= confidence <= 10):
        raise InvalidAnswer(f"confidence must be a number from 1 to 10, got {confidence!r}")
    return Selection(ids=unique, explanation=explanation.strip(),
                     confidence=float(confidence) if confidence is not None else None)
