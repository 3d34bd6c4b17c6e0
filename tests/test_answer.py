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
    ('{"mask_ids": [0], "explanation": "Mask 0 is the red one.", "confidence": 11}', "confidence"),
])
def test_invalid_answers_say_what_is_wrong(text, match):
    with pytest.raises(InvalidAnswer, match=match):
        parse_answer(text, 3, 2)


def test_valid_answer_deduplicates_ids():
    sel = parse_answer(json.dumps({"explanation": "Masks 2 and 0 are red.", "mask_ids": [2, 2, 0], "confidence": 8}),
                       3, 6)
    assert sel.ids == [2, 0] and sel.explanation == "Masks 2 and 0 are red." and sel.confidence == 0.8


def test_explanation_length_keeps_the_whole_answer_within_max_tokens():
    from gear_seg_ros.reason.answer import explanation_chars
    from gear_seg_ros.utils.llm_schema import max_json_bytes

    # one token is at least one byte: the longest answer the schema admits must fit max_tokens
    for max_tokens, targets, masks in ((256, 6, 64), (128, 3, 64), (1024, 6, 64), (192, 1, 64), (96, 2, 3)):
        n = explanation_chars(max_tokens, targets, masks)
        assert 16 <= n <= 240 and max_json_bytes(answer_schema(masks, targets, n)) <= max_tokens
    overhead = max_json_bytes(answer_schema(3, 2, 16)) - 16
    assert explanation_chars(96, 2, 3) == 96 - overhead  # all the rest goes to the explanation