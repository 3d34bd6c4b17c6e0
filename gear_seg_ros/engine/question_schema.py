"""The JSON schema an LLM-written question must follow (mask ids: an enum of eligible ids), and its validation.

The schema constrains decoding; `parse_question` validates again with pydantic, because a remote endpoint may
ignore the schema and a token limit may cut the JSON short.
"""
from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gear_seg_ros.engine.options import EngineOptions


class InvalidQuestion(ValueError):
    pass


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    mask_id: int
    label: str = Field(min_length=1, max_length=60)


class GeneratedQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    answers: list[_Answer] = Field(min_length=1)
    questions: list[str] = Field(min_length=1)
    explanation: str = Field(min_length=1)
    confidence: int = Field(ge=1, le=10)


def question_schema(eligible_ids: list[int], opts: EngineOptions, max_targets: int) -> dict:
    answer = {
        "type": "object",
        "properties": {"mask_id": {"type": "integer", "enum": list(eligible_ids)},
                       "label": {"type": "string", "minLength": 1, "maxLength": 40}},
        "required": ["mask_id", "label"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "answers": {"type": "array", "items": answer, "minItems": 1,
                        "maxItems": min(max_targets, len(eligible_ids))},
            "questions": {"type": "array", "minItems": opts.paraphrases, "maxItems": opts.paraphrases,
                          "items": {"type": "string", "minLength": 8, "maxLength": opts.max_question_chars}},
            "explanation": {"type": "string", "minLength": 20, "maxLength": opts.max_explanation_chars},
            "confidence": {"type": "integer", "enum": list(range(1, 11))},
        },
        "required": ["answers", "questions", "explanation", "confidence"],
        "additionalProperties": False,
    }


_ID_LEAK = re.compile(r"\b(mask|region)\s*#?\s*\d", re.IGNORECASE)
_LEAD = re.compile(r"^\s*(?:(?:question|q)\s*\d*\s*[:.)-]|\d+\s*[.):-])\s*", re.IGNORECASE)  # "Question 2:", "3)"


def normalise_text(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def parse_question(text: str, eligible_ids: list[int], opts: EngineOptions,
                   max_targets: int) -> GeneratedQuestion:
    """Strict parse, then clean-up: paraphrases stripped and de-duplicated, those naming a mask id dropped."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidQuestion(f"not a complete JSON object ({exc.__class__.__name__}): {str(text)[-120:]!r}") from None
    try:
        q = GeneratedQuestion.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidQuestion(f"schema violation at {where or 'top'}: {first['msg']}") from None
    ids = [a.mask_id for a in q.answers]
    bad = [i for i in ids if i not in set(eligible_ids)]
    if bad:
        raise InvalidQuestion(f"mask ids {bad} do not exist or are too small (valid: {list(eligible_ids)})")
    if len(set(ids)) != len(ids):
        raise InvalidQuestion(f"mask ids repeat: {ids}")
    if len(ids) > max_targets:
        raise InvalidQuestion(f"{len(ids)} answers, at most {max_targets} allowed")
    seen, paraphrases = set(), []
    for raw in q.questions:
        line = _LEAD.sub("", " ".join(raw.split()))
        key = normalise_text(line)
        if len(key) < 8 or key in seen or _ID_LEAK.search(line):
            continue
        seen.add(key)
        paraphrases.append(line)
    if len(paraphrases) < opts.min_paraphrases:
        raise InvalidQuestion(f"only {len(paraphrases)} usable distinct paraphrase(s), {opts.min_paraphrases} needed")
    explanation = " ".join(q.explanation.split())
    if len(explanation) < 20:
        raise InvalidQuestion("the explanation is too short")
    answers = [_Answer(mask_id=a.mask_id, label=" ".join(a.label.split()) or "target") for a in q.answers]
    return GeneratedQuestion(answers=answers, questions=paraphrases, explanation=explanation,
                             confidence=q.confidence)
