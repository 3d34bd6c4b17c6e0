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

    def complete(self, messages, schema, *, seed=None):
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
    llm = Recorder(['{"explanation": "the red one", "mask_ids": [2, 2], "confidence": 7}'])
    selection = llm.select(_perception(3), "the red one", "referring")
    model = answer_model(3, 2, explanation_chars(llm.answer_tokens(), 2))
    assert llm.schemas == [llm_schema(model)] and llm.schemas[0] == answer_schema(3, 2, explanation_chars(256, 2))
    assert selection.ids == [2] and selection.confidence == 7.0
    assert "$defs" not in json.dumps(llm.schemas[0]) and "title" not in json.dumps(llm.schemas[0])


GOOD_ANSWER = {"explanation": "the red one", "mask_ids": [0, 2], "confidence": 7}


@pytest.mark.parametrize("change, valid", [
    ({}, True),
    ({"mask_ids": []}, True),
    ({"mask_ids": [1, 1]}, True),  # repeats are schema-valid; parse_answer counts them once
    ({"explanation": "x" * 32}, True),
    ({"explanation": "x" * 33}, False),  # longer than the token budget allows
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


def test_missing_fields_fail_both_and_no_masks_admits_no_ids():
    schema, model = answer_schema(3, 2), answer_model(3, 2)
    for key in GOOD_ANSWER:
        answer = {k: v for k, v in GOOD_ANSWER.items() if k != key}
        assert not _agree(schema, model, answer)
    with pytest.raises(InvalidAnswer, match="confidence"):
        parse_answer(json.dumps({"explanation": "x", "mask_ids": [0]}), 3, 2)
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
    ({"explanation": "too short"}, False),
    ({"explanation": "e" * 81}, False),
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
