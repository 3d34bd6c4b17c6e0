"""The question an LLM writes: a pydantic model per (eligible ids, options, targets), the JSON schema derived from
it (mask ids: an enum of eligible ids), and validation of the answer against the same model.

The schema constrains decoding; `parse_question` validates again with the model, because a remote endpoint may
ignore the schema and a token limit may cut the JSON short.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, Field, ValidationError, create_model

from gear_seg_ros.engine.options import EngineOptions
from gear_seg_ros.utils.llm_schema import STRICT, llm_schema, one_of

# A short name for the answer object. The export turns it into a category of at most four words
# (autolabel.category_name), so 40 characters (what the decoder was always held to) leave room to spare.
LABEL_MAX_CHARS = 40


class InvalidQuestion(ValueError):
    pass


@lru_cache(maxsize=64)
def _question_model(eligible_ids: tuple[int, ...], paraphrases: int, max_question_chars: int,
                    max_explanation_chars: int, max_targets: int) -> type[BaseModel]:
    answer = create_model("Answer", __config__=STRICT, mask_id=(one_of(eligible_ids), ...),
                          label=(str, Field(min_length=1, max_length=LABEL_MAX_CHARS)))
    paraphrase = Annotated[str, Field(min_length=8, max_length=max_question_chars)]
    return create_model(
        "GeneratedQuestion", __config__=STRICT,
        answers=(list[answer], Field(min_length=1, max_length=min(max_targets, len(eligible_ids)))),
        questions=(list[paraphrase], Field(min_length=paraphrases, max_length=paraphrases)),
        explanation=(str, Field(min_length=20, max_length=max_explanation_chars)),
        confidence=(one_of(range(1, 11)), ...))


def question_model(eligible_ids: list[int], opts: EngineOptions, max_targets: int) -> type[BaseModel]:
    """The contract of one generated question; eligible_ids must not be empty."""
    return _question_model(tuple(eligible_ids), opts.paraphrases, opts.max_question_chars,
                           opts.max_explanation_chars, max_targets)


def question_schema(eligible_ids: list[int], opts: EngineOptions, max_targets: int) -> dict:
    return llm_schema(question_model(eligible_ids, opts, max_targets))


_ID_LEAK = re.compile(r"\b(mask|region)\s*#?\s*\d", re.IGNORECASE)
_LEAD = re.compile(r"^\s*(?:(?:question|q)\s*\d*\s*[:.)-]|\d+\s*[.):-])\s*", re.IGNORECASE)  # "Question 2:", "3)"


def normalise_text(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def parse_question(text: str, eligible_ids: list[int], opts: EngineOptions,
                   max_targets: int) -> BaseModel:
    """Strict parse against question_model, then clean-up: paraphrases stripped and de-duplicated, those naming a
    mask id dropped (the result may hold fewer paraphrases than the model asks for)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidQuestion(f"not a complete JSON object ({exc.__class__.__name__}): {str(text)[-120:]!r}") from None
    try:
        q = question_model(eligible_ids, opts, max_targets).model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidQuestion(f"schema violation at {where or 'top'}: {first['msg']}") from None
    ids = [a.mask_id for a in q.answers]
    if len(set(ids)) != len(ids):
        raise InvalidQuestion(f"mask ids repeat: {ids}")
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
    answers = [a.model_copy(update={"label": " ".join(a.label.split()) or "target"}) for a in q.answers]
    return q.model_copy(update={"answers": answers, "questions": paraphrases, "explanation": explanation})
