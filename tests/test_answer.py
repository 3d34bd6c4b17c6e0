import json

import pytest

from gear_seg_ros.reason.answer import InvalidAnswer, answer_schema, parse_answer


def test_schema_admits_only_existing_ids():
    schema = answer_schema(3, 2)
    assert schema["properties"]["mask_ids"]["items"]["enum"] == [0, 1, 2]
    assert schema["properties"]["mask_ids"]["maxItems"] == 2


@pytest.mark.parametrize("text, match", [
    ("not json", "not a JSON object"),
    ("[1, 2]", "expected a JSON object"),
    ('{"mask_ids": [7], "explanation": "x", "confidence": 5}', r"\[7\] do not exist"),
    ('{"mask_ids": ["1"], "explanation": "x"}', "list of integers"),
    ('{"mask_ids": [0, 1, 2], "explanation": "x"}', "at most 2"),
    ('{"mask_ids": [0], "explanation": "x", "confidence": 11}', "confidence"),
])
def test_invalid_answers_say_what_is_wrong(text, match):
    with pytest.raises(InvalidAnswer, match=match):
        parse_answer(text, 3, 2)


def test_valid_answer_deduplicates_ids():
    sel = parse_answer(json.dumps({"explanation": " red one ", "mask_ids": [2, 2, 0], "confidence": 8}), 3, 6)
    assert sel.ids == [2, 0] and sel.explanation == "red one" and sel.confidence == 8.0


def test_explanation_length_keeps_the_whole_answer_within_max_tokens():
    from gear_seg_ros.reason.answer import explanation_chars

    # one token per character at worst: explanation + ids + keys/braces must fit max_tokens
    for max_tokens, targets in ((256, 6), (128, 3), (1024, 6)):
        n = explanation_chars(max_tokens, targets)
        assert n <= 240 and n + 24 + 4 * targets <= max_tokens
    assert answer_schema(3, 2, explanation_chars(64, 2))["properties"]["explanation"]["maxLength"] == 32
