"""One contract per LLM answer: the schema a caller sends is derived from the pydantic model that validates the
answer, and an answer is valid under the schema (checked with the `jsonschema` library, as a decoder reads it)
exactly when the model accepts it."""
import json

import jsonschema
import numpy as np
import pytest

from gear_seg_ros.engine.options import EngineOptions
from gear_seg_ros.engine.question_schema import (
    LABEL_MAX_CHARS,
    InvalidQuestion,
    parse_question,
    question_model,
    question_schema,
)
from gear_seg_ros.engine.questions import write_questions
from gear_seg_ros.reason.answer import InvalidAnswer, answer_model, answer_schema, explanation_chars, parse_answer
from gear_seg_ros.reason.llm import LLMReasoner
from gear_seg_ros.types import MaskProposal, Perception
from gear_seg_ros.utils.llm_schema import llm_schema


def _perception(n: int) -> Perception:
    masks = [MaskProposal(np.eye(8, dtype=bool)) for _ in range(n)]
    return Perception("f", (8, 8), masks, [f"thing {i}" for i in range(n)])


class Recorder(LLMReasoner):
    """Records the schema it is sent and answers from a script."""

    def __init__(self, answers: list[str], max_targets: int = 2) -> None:
        super().__init__(max_targets=max_targets, retries=0)
        self.answers, self.schemas = list(answers), []

    def complete(self, messages, schema, *, seed=None, max_tokens=None):
        self.schemas.append(schema)
        return self.answers.pop(0)


def _agree(schema: dict, model, answer) -> bool:
    """Both sides' verdict on one answer, asserted equal."""
    try:
        jsonschema.validate(answer, schema)
        by_schema = True
    except jsonschema.ValidationError:
        by_schema = False
    try:
        model.model_validate(answer)
        by_model = True
    except ValueError:  # pydantic's ValidationError
        by_model = False
    assert by_schema == by_model, (answer, by_schema, by_model)
    return by_model


def test_the_reasoner_sends_the_schema_of_the_model_it_validates_with():
    llm = Recorder(['{"explanation": "Mask 2 is the red one.", "mask_ids": [2, 2], "confidence": 7}'])
    selection = llm.select(_perception(3), "the red ones", "referring")  # plural: up to max_targets (2)
    model = answer_model(3, 2, explanation_chars(llm.answer_tokens(), 2, 3))
    assert llm.schemas == [llm_schema(model)] and llm.schemas[0] == answer_schema(3, 2, explanation_chars(256, 2, 3))
    assert selection.ids == [2] and selection.confidence == 0.7  # the model's 1-10 rating on the [0, 1] scale
    assert "$defs" not in json.dumps(llm.schemas[0]) and "title" not in json.dumps(llm.schemas[0])


def test_a_singular_referring_instruction_admits_one_id_in_the_schema():
    llm = Recorder(['{"explanation": "Mask 1 is red.", "mask_ids": [1], "confidence": 9}'])
    llm.select(_perception(3), "the ripe strawberry", "referring")
    assert llm.schemas[0]["properties"]["mask_ids"]["maxItems"] == 1
    llm = Recorder(['{"explanation": "Mask 1 is red.", "mask_ids": [1], "confidence": 9}'])
    llm.select(_perception(3), "the ripe strawberry", "reasoning")  # implicit: the count is the model's
    assert llm.schemas[0]["properties"]["mask_ids"]["maxItems"] == 2


GOOD_ANSWER = {"explanation": "Masks 0 and 2 are red.", "mask_ids": [0, 2], "confidence": 7}


@pytest.mark.parametrize("change, valid", [
    ({}, True),
    ({"mask_ids": []}, True),
    ({"mask_ids": [1, 1]}, True),  # repeats are schema-valid; parse_answer counts them once
    ({"explanation": "x" * 31 + "."}, True),
    ({"explanation": "x" * 32 + "."}, False),  # longer than the token budget allows
    ({"explanation": "it is red and it is a"}, False),  # cut mid-sentence: an explanation ends with . ! or ?
    ({"explanation": 'the "red" one is mask 0.'}, False),  # no character that JSON must escape
    ({"explanation": "la fraise m\u00fbre est rouge."}, False),  # printable ASCII only: one byte a character
    ({"mask_ids": [3]}, False),  # no such mask
    ({"mask_ids": [0, 1, 2]}, False),  # more than max_targets
    ({"mask_ids": [True]}, False),  # JSON true is not the integer 1
    ({"confidence": 0}, False),
    ({"confidence": 11}, False),
    ({"confidence": True}, False),
    ({"confidence": "7"}, False),
    ({"confidence": 7.5}, False),
    ({"confidence": None}, False),
    ({"extra": 1}, False),
])
def test_an_answer_is_valid_under_the_schema_exactly_when_the_model_accepts_it(change, valid):
    schema, model = answer_schema(3, 2, 32), answer_model(3, 2, 32)
    answer = {**GOOD_ANSWER, **change}
    assert _agree(schema, model, answer) is valid
    if valid:
        assert parse_answer(json.dumps(answer), 3, 2, 32).ids == list(dict.fromkeys(answer["mask_ids"]))
    else:
        with pytest.raises(InvalidAnswer):
            parse_answer(json.dumps(answer), 3, 2, 32)


def _longest(schema: dict):
    """The longest value `schema` admits, built from its bounds (printable characters, a full stop last)."""
    if "enum" in schema:
        return max(schema["enum"], key=lambda v: len(json.dumps(v)))
    if schema["type"] == "object":
        return {k: _longest(v) for k, v in schema["properties"].items()}
    if schema["type"] == "array":
        return [_longest(schema["items"])] * schema["maxItems"]
    return "~" * (schema["maxLength"] - 1) + "."


def test_every_llm_schema_is_bounded_and_the_bound_covers_its_longest_answer():
    from gear_seg_ros.engine.autolabel import label_schema
    from gear_seg_ros.utils.llm_schema import max_json_bytes

    schemas = [answer_schema(64, 6, explanation_chars(192, 6, 64)), answer_schema(64, 1, explanation_chars(192, 1, 64)),
               question_schema(list(range(10, 64)), EngineOptions(), 6), label_schema(list(range(56, 64)))]
    for schema in schemas:
        bound = max_json_bytes(schema)
        longest = _longest(schema)
        jsonschema.validate(longest, schema)
        assert len(json.dumps(longest, separators=(", ", ": "))) <= bound  # one space after a token at most
    # the reasoner's answer at the configured budget: its longest form fits max_tokens
    assert max_json_bytes(answer_schema(64, 6, explanation_chars(192, 6, 64))) <= 192
    with pytest.raises(ValueError, match="maxItems"):
        max_json_bytes({"type": "array", "items": {"enum": [1]}})
    with pytest.raises(ValueError, match="maxLength"):
        max_json_bytes({"type": "string"})


def test_a_budget_too_small_for_the_answer_is_a_clear_error():
    from gear_seg_ros.reason.answer import AnswerBudgetError

    with pytest.raises(AnswerBudgetError, match=r"raise reasoner.llama_cpp.max_tokens to \d+"):
        explanation_chars(40, 6, 64, "reasoner.llama_cpp.max_tokens")
    from gear_seg_ros.engine.question_schema import QuestionBudgetError

    with pytest.raises(QuestionBudgetError, match="--max-tokens 200 cannot hold"):
        question_schema(list(range(64)), EngineOptions(max_tokens=200), 6)
    shrunk = question_schema(list(range(64)), EngineOptions(max_tokens=900), 6)
    from gear_seg_ros.utils.llm_schema import max_json_bytes

    assert max_json_bytes(shrunk) <= 900 < max_json_bytes(question_schema(list(range(64)), EngineOptions(), 6))


def test_missing_fields_fail_both_and_no_masks_admits_no_ids():
    schema, model = answer_schema(3, 2), answer_model(3, 2)
    for key in GOOD_ANSWER:
        answer = {k: v for k, v in GOOD_ANSWER.items() if k != key}
        assert not _agree(schema, model, answer)
    with pytest.raises(InvalidAnswer, match="confidence"):
        parse_answer(json.dumps({"explanation": "Masks 0 and 2 are red.", "mask_ids": [0]}), 3, 2)
    empty_schema, empty_model = answer_schema(0, 2), answer_model(0, 2)
    assert _agree(empty_schema, empty_model, {**GOOD_ANSWER, "mask_ids": []})
    assert not _agree(empty_schema, empty_model, {**GOOD_ANSWER, "mask_ids": [0]})


OPTS = EngineOptions(paraphrases=3, min_paraphrases=2, max_question_chars=60, max_explanation_chars=80)
GOOD_QUESTION = {"answers": [{"mask_id": 2, "label": "mug"}],
                 "questions": ["what holds my coffee?", "where could I pour coffee?", "what do I drink from?"],
                 "explanation": "A mug holds hot drinks.", "confidence": 8}


def test_the_engine_sends_the_schema_of_the_model_it_validates_with():
    llm = Recorder([json.dumps(GOOD_QUESTION)] * 3)
    kept, _dropped = write_questions(llm, _perception(6), [0, 2, 5], "img", OPTS, max_targets=6, retries=0)
    model = question_model([0, 2, 5], OPTS, 6)
    assert llm.schemas and all(s == llm_schema(model) for s in llm.schemas)
    assert llm.schemas[0] == question_schema([0, 2, 5], OPTS, 6)
    assert kept and kept[0].answers[0].label == "mug"


@pytest.mark.parametrize("change, valid", [
    ({}, True),
    ({"answers": [{"mask_id": 2, "label": "m" * LABEL_MAX_CHARS}]}, True),
    ({"answers": [{"mask_id": 2, "label": "m" * (LABEL_MAX_CHARS + 1)}]}, False),  # the label that used to differ
    ({"answers": [{"mask_id": 2, "label": ""}]}, False),
    ({"answers": [{"mask_id": 1, "label": "mug"}]}, False),  # exists but is not eligible
    ({"answers": [{"mask_id": 2, "label": "mug", "why": "x"}]}, False),
    ({"answers": [{"mask_id": i, "label": "x"} for i in (0, 2, 5, 0)]}, False),  # more than the eligible ids
    ({"answers": []}, False),
    ({"questions": GOOD_QUESTION["questions"][:2]}, False),  # fewer paraphrases than asked for
    ({"questions": [*GOOD_QUESTION["questions"][:2], "short"]}, False),
    ({"questions": [*GOOD_QUESTION["questions"][:2], "q" * 61]}, False),
    ({"questions": [*GOOD_QUESTION["questions"][:2], "what is \u00e0 la mode?"]}, False),  # ASCII only
    ({"explanation": "too short"}, False),
    ({"explanation": "e" * 80 + "."}, False),
    ({"explanation": "A mug holds hot drinks and so"}, False),  # not a finished sentence
    ({"confidence": True}, False),
    ({"confidence": 10}, True),
])
def test_a_question_is_valid_under_the_schema_exactly_when_the_model_accepts_it(change, valid):
    schema, model = question_schema([0, 2, 5], OPTS, 6), question_model([0, 2, 5], OPTS, 6)
    question = {**GOOD_QUESTION, **change}
    assert _agree(schema, model, question) is valid
    if valid:
        assert parse_question(json.dumps(question), [0, 2, 5], OPTS, 6).answers[0].mask_id == 2
    else:
        with pytest.raises(InvalidQuestion, match="schema violation"):
            parse_question(json.dumps(question), [0, 2, 5], OPTS, 6)


def test_a_field_called_title_survives_and_defs_are_inlined():
    from pydantic import BaseModel, ConfigDict

    class Inner(BaseModel):
        model_config = ConfigDict(extra="forbid")
        title: str

    class Outer(BaseModel):
        model_config = ConfigDict(extra="forbid")
        items: list[Inner]

    schema = llm_schema(Outer)
    assert schema["properties"]["items"]["items"] == {
        "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"],
        "additionalProperties": False}


@pytest.mark.parametrize("answer, valid", [
    ({"3": "strawberry", "5": "green leaf"}, True),
    ({"3": "s", "5": "leaf"}, False),                      # shorter than 2
    ({"3": "x" * 33, "5": "leaf"}, False),                  # longer than 32
    ({"3": "strawberry"}, False),                           # a mask left out
    ({"3": "strawberry", "5": "leaf", "7": "stem"}, False),  # an id not asked for
    ({"3": 4, "5": "leaf"}, False),
])
def test_the_auto_label_schema_is_the_one_its_model_validates(answer, valid):
    from gear_seg_ros.engine.autolabel import label_model, label_schema

    schema = label_schema([3, 5])
    assert schema == llm_schema(label_model((3, 5)))
    assert schema["required"] == ["3", "5"] and schema["additionalProperties"] is False
    assert _agree(schema, label_model((3, 5)), answer) is valid
