"""The question an LLM writes: a pydantic model per (eligible ids, options, targets), the JSON schema derived from
it (mask ids: an enum of eligible ids), and validation of the answer against the same model.

The schema constrains decoding; `parse_question` validates again with the model, because a remote endpoint may
ignore the schema and a token limit may cut the JSON short.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache

from pydantic import BaseModel, Field, ValidationError, create_model

from gear_seg_ros.engine.options import EngineOptions
from gear_seg_ros.errors import GearSegError
from gear_seg_ros.utils.llm_schema import STRICT, llm_schema, max_json_bytes, one_of
from gear_seg_ros.utils.llm_schema import text as text_field

# A short name for the answer object. The export turns it into a category of at most four words
# (autolabel.category_name), so 40 characters (what the decoder was always held to) leave room to spare.
LABEL_MAX_CHARS = 40


class InvalidQuestion(ValueError):
    pass


class QuestionBudgetError(GearSegError):
    """--max-tokens is too small for the question schema."""


@lru_cache(maxsize=64)
def _question_model(eligible_ids: tuple[int, ...], paraphrases: int, max_question_chars: int,
                    max_explanation_chars: int, max_targets: int) -> type[BaseModel]:
    # Every string and list is bounded (utils/llm_schema.text, max_length) so the longest answer has a known size
    # and the engine gives each call that many tokens: constrained decoding always closes the object.
    answer = create_model("Answer", __config__=STRICT, mask_id=(one_of(eligible_ids), ...),
                          label=(text_field(1, LABEL_MAX_CHARS), ...))
    paraphrase = text_field(min(8, max_question_chars), max_question_chars)
    return create_model(
        "GeneratedQuestion", __config__=STRICT,
        answers=(list[answer], Field(min_length=1, max_length=min(max_targets, len(eligible_ids)))),
        questions=(list[paraphrase], Field(min_length=paraphrases, max_length=paraphrases)),
        explanation=(text_field(min(20, max_explanation_chars), max_explanation_chars, sentence=True), ...),
        confidence=(one_of(range(1, 11)), ...))


def question_model(eligible_ids: list[int], opts: EngineOptions, max_targets: int) -> type[BaseModel]:
    """The contract of one generated question; eligible_ids must not be empty. With `opts.max_tokens` set, the
    question and explanation lengths shrink until the longest answer fits it (question_limits)."""
    q_chars, e_chars = question_limits(opts, max_targets, len(eligible_ids), max(eligible_ids))
    return _question_model(tuple(eligible_ids), opts.paraphrases, q_chars, e_chars, max_targets)


def question_schema(eligible_ids: list[int], opts: EngineOptions, max_targets: int) -> dict:
    return llm_schema(question_model(eligible_ids, opts, max_targets))


@lru_cache(maxsize=64)
def _limits(paraphrases: int, q_chars: int, e_chars: int, max_tokens: int, max_targets: int, n_ids: int,
            top_id: int) -> tuple[int, int]:
    ids = tuple(range(top_id - n_ids + 1, top_id + 1))  # as many ids as eligible, as long as the longest
    while True:
        need = max_json_bytes(llm_schema(_question_model(ids, paraphrases, q_chars, e_chars, max_targets)))
        if not max_tokens or need <= max_tokens:
            return q_chars, e_chars
        if q_chars <= 24 and e_chars <= 40:
            raise QuestionBudgetError(
                f"--max-tokens {max_tokens} cannot hold a question with {paraphrases} paraphrases and "
                f"{min(max_targets, n_ids)} answers ({need} tokens even with 24-character questions); raise "
                f"--max-tokens, leave it unset (each call then gets what its answer needs), or lower --paraphrases")
        q_chars, e_chars = max(24, q_chars * 9 // 10), max(40, e_chars * 9 // 10)


def question_limits(opts: EngineOptions, max_targets: int, n_ids: int, top_id: int) -> tuple[int, int]:
    """(question chars, explanation chars): the options' own, or shorter when `opts.max_tokens` needs it."""
    return _limits(opts.paraphrases, opts.max_question_chars, opts.max_explanation_chars, opts.max_tokens or 0,
                   max_targets, n_ids, top_id)


def question_tokens(schema: dict) -> int:
    """The answer budget of one question call: the longest JSON the schema admits (one token is at least a byte)."""
    return max_json_bytes(schema)


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
