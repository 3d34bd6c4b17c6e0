"""Engine pieces without a model: schema validation, filters, records' crash safety, splits, CLI errors."""
import json
import os

import pytest

from gear_seg_ros.cli.main import main
from gear_seg_ros.engine.autolabel import category_name, plural
from gear_seg_ros.engine.options import EngineOptions
from gear_seg_ros.engine.question_schema import InvalidQuestion, parse_question, question_schema
from gear_seg_ros.engine.questions import pick_categories, rejection
from gear_seg_ros.engine.records import (
    AnswerRecord,
    ImageRecord,
    MaskRecord,
    QuestionRecord,
    finished_stems,
    record_path,
    write_record,
)
from gear_seg_ros.engine.splits import parse_ratios, split_of

OPTS = EngineOptions(paraphrases=3, min_paraphrases=2)
GOOD = {"answers": [{"mask_id": 2, "label": "mug"}], "questions": ["what holds my coffee?",
        "where could I pour coffee?", "what do I drink from?"], "explanation": "A mug holds hot drinks.",
        "confidence": 8}


def test_schema_enumerates_only_eligible_ids():
    schema = question_schema([0, 2, 5], OPTS, max_targets=6)
    answer = schema["properties"]["answers"]
    assert answer["items"]["properties"]["mask_id"]["enum"] == [0, 2, 5] and answer["maxItems"] == 3
    assert schema["properties"]["questions"]["minItems"] == 3


def test_parse_accepts_good_and_rejects_bad_ids_truncation_and_types():
    q = parse_question(json.dumps(GOOD), [0, 2], OPTS, 6)
    assert [a.mask_id for a in q.answers] == [2] and len(q.questions) == 3
    for bad in ({**GOOD, "answers": [{"mask_id": 7, "label": "x"}]}, {**GOOD, "confidence": "9"},
                {**GOOD, "answers": [{"mask_id": 2, "label": "a"}, {"mask_id": 2, "label": "b"}]},
                {**GOOD, "questions": ["same question here"] * 3}, {**GOOD, "extra": 1}):
        with pytest.raises(InvalidQuestion):
            parse_question(json.dumps(bad), [0, 2], OPTS, 6)
    with pytest.raises(InvalidQuestion, match="JSON"):
        parse_question(json.dumps(GOOD)[:-10], [0, 2], OPTS, 6)


def test_paraphrases_naming_a_mask_id_are_dropped_and_numbering_stripped():
    q = parse_question(json.dumps({**GOOD, "questions": ["which is mask 2?"] + GOOD["questions"][1:]}), [2], OPTS, 6)
    assert q.questions == GOOD["questions"][1:]
    numbered = ["Question 1: what holds my coffee?", "2) what holds my coffee?", "Q3: what do I drink from?"]
    q = parse_question(json.dumps({**GOOD, "questions": numbered}), [2], OPTS, 6)
    assert q.questions == ["what holds my coffee?", "what do I drink from?"]


def _question(qid, text, ids, confidence=0.8, category="functional"):
    return QuestionRecord(question_id=qid, category=category, text=text, is_sentence=True, explanation="e",
                          answers=[AnswerRecord(mask_id=i, label="x") for i in ids], confidence=confidence)


def test_filters_confidence_and_duplicates():
    kept = [_question("a", ["What is for drinking?"], [1])]
    assert "confidence" in rejection(_question("b", ["x y z"], [2], confidence=0.5), [], OPTS)
    assert "same question" in rejection(_question("b", ["what is FOR drinking"], [2]), kept, OPTS)
    assert "same answer" in rejection(_question("b", ["other words"], [1]), kept, OPTS)
    assert rejection(_question("b", ["other words"], [1], category="part"), kept, OPTS) == ""


def test_categories_depend_on_seed_and_stem_only():
    opts = EngineOptions(questions_per_image=4, seed=3)
    assert pick_categories(opts, "img") == pick_categories(EngineOptions(questions_per_image=4, seed=3), "img")
    assert len(set(pick_categories(opts, "img"))) == 4


def test_category_names_and_plurals():
    assert category_name("Ripe Strawberries") == "ripe_strawberry"
    assert category_name("diseased leaves!") == "diseased_leave"  # naive singular; still one stable name
    assert category_name("background") == "" and category_name("  ") == ""
    assert plural("strawberry") == "strawberries" and plural("apple") == "apples"


def _record(stem="img", answer=0):
    mask = MaskRecord(id=0, description="d", area=4, box=[0, 0, 2, 2], rle={"size": [2, 2], "counts": "04"},
                      eligible=True)
    return ImageRecord(image_id=stem, image_file=f"{stem}.jpg", height=2, width=2, masks=[mask],
                       questions=[_question("q", ["t"], [answer])])


def test_record_rejects_ids_that_do_not_exist():
    with pytest.raises(ValueError, match="eligible"):
        _record(answer=3)


def test_records_are_written_atomically_and_resume_skips_only_valid_ones(tmp_path):
    write_record(tmp_path, _record("a"))
    record_path(tmp_path, "b").write_text('{"image_id": "b", "trunc')  # what a non-atomic writer could leave
    (record_path(tmp_path, "c").parent / ".c.json.x.tmp").write_text("{")
    assert finished_stems(tmp_path) == {"a"}
    assert not list(record_path(tmp_path, "a").parent.glob(".*.tmp"))


def test_split_ratios():
    assert parse_ratios("8,1,1") == pytest.approx((0.8, 0.1, 0.1))
    with pytest.raises(ValueError):
        parse_ratios("0.8,0.2")
    splits = [split_of(f"img{i}", (0.8, 0.1, 0.1)) for i in range(1000)]
    assert 700 < splits.count("train") < 900 and splits.count("val") > 50 and splits.count("test") > 50


@pytest.mark.parametrize("argv, message", [
    (["engine", "/nonexistent/images"], "images folder /nonexistent/images does not exist"),
    (["engine", "{images}", "--config", "{repo}/config/cpu.yaml"], "cannot write questions"),
    (["engine", "{images}", "--split", "1,2"], "three non-negative ratios"),
    (["engine", "{images}", "--formats", "voc"], "unknown --formats"),
    (["engine", "export", "{images}"], "not an engine output folder"),
])
def test_cli_errors_exit_2(tmp_path, capsys, argv, message):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"")
    argv = [a.format(images=tmp_path / "images", repo=repo) for a in argv] + ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_too_many_questions(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["engine", "x", "--questions-per-image", "5"])
    assert exc.value.code == 2 and "between 1 and 4" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--cpus-per-actor", "0"], "must be above 0.0"),
    (["--cpus-per-actor", "two"], "expected a number"),
    (["--gpus-per-actor", "-1"], "must be at least 0.0"),
])
def test_cli_rejects_bad_ray_resources(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(["engine", "x", "--executor", "ray", *argv])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_ray_executor_refuses_bad_resources_before_starting_ray(tmp_path):
    from gear_seg_ros.config import AgentConfig
    from gear_seg_ros.engine.ray_executor import run_on_ray
    from gear_seg_ros.engine.worker import EngineJob
    from gear_seg_ros.errors import GearSegError

    job = EngineJob(AgentConfig(), OPTS, tmp_path, tmp_path)
    with pytest.raises(GearSegError, match="--cpus-per-actor must be above 0"):
        next(run_on_ray(["a.png"], job, 1, cpus_per_actor=0.0))


def test_worker_store_record_passes_a_failed_build_through_and_writes_a_good_one(tmp_path):
    from gear_seg_ros.engine.worker import Built, Outcome, store_record

    assert store_record(tmp_path, Built("a.png", None, "ValueError: bad")) == Outcome("a.png", 0, "ValueError: bad")
    record = _record("b")
    assert store_record(tmp_path, Built("b.jpg", record.model_dump())) == Outcome("b.jpg", 1)
    assert finished_stems(tmp_path) == {"b"}
    broken = {**record.model_dump(), "masks": "not a list"}
    outcome = store_record(tmp_path, Built("c.jpg", broken))
    assert outcome.questions == 0 and outcome.error.startswith("record not written")


def test_resume_accepts_a_manifest_written_before_a_key_existed(tmp_path):
    import json

    from gear_seg_ros.config import AgentConfig
    from gear_seg_ros.engine.options import EngineOptions
    from gear_seg_ros.engine.runner import MANIFEST, check_manifest
    from gear_seg_ros.errors import ConfigError

    config, opts = AgentConfig(), EngineOptions()
    check_manifest(tmp_path, tmp_path, config, opts)
    stored = json.loads((tmp_path / MANIFEST).read_text())
    del stored["config"]["describer"]["attributes"]["tiny_below"]  # a key added to the schema after this run
    del stored["options"][next(iter(stored["options"]))]
    (tmp_path / MANIFEST).write_text(json.dumps(stored))
    check_manifest(tmp_path, tmp_path, config, opts)  # same settings: resumes

    stored["config"]["describer"]["attributes"]["small_below"] = 0.5
    (tmp_path / MANIFEST).write_text(json.dumps(stored))
    with pytest.raises(ConfigError, match="describer.attributes.small_below"):
        check_manifest(tmp_path, tmp_path, config, opts)


def test_resume_reads_a_manifest_written_before_a_key_was_renamed(tmp_path):
    """reasoner.openai.http_retries -> retries, describer.dam.vision_* -> vision.*: same settings, so it resumes."""
    import json

    from gear_seg_ros.config import AgentConfig
    from gear_seg_ros.engine.options import EngineOptions
    from gear_seg_ros.engine.runner import MANIFEST, check_manifest
    from gear_seg_ros.errors import ConfigError

    config, opts = AgentConfig(), EngineOptions()
    check_manifest(tmp_path, tmp_path, config, opts)
    stored = json.loads((tmp_path / MANIFEST).read_text())
    openai, dam = stored["config"]["reasoner"]["openai"], stored["config"]["describer"]["dam"]
    openai["http_retries"] = openai.pop("retries")
    vision = dam.pop("vision")
    dam.update({"vision_encoder": vision["model_dir"], "vision_runtime": vision["runtime"],
                "vision_providers": vision["providers"], "vision_engine_dir": vision["engine_dir"]})
    (tmp_path / MANIFEST).write_text(json.dumps(stored))
    check_manifest(tmp_path, tmp_path, config, opts)  # same settings under their old names: resumes

    openai["http_retries"] = 7
    (tmp_path / MANIFEST).write_text(json.dumps(stored))
    with pytest.raises(ConfigError, match="reasoner.openai.retries"):
        check_manifest(tmp_path, tmp_path, config, opts)


def test_maturity_answers_are_targets_a_joined_one_stored_once_as_its_union():
    """The reasoner picks a strawberry, its calyx (inside it) and a second strawberry for every grade: two
    targets, the first joined from two masks and stored once as a new mask record (the union, joined_from)."""
    import numpy as np

    from gear_seg_ros.agent import GearSegAgent
    from gear_seg_ros.engine.autolabel import maturity_questions
    from gear_seg_ros.engine.image_job import mask_records
    from gear_seg_ros.types import MaskProposal, Perception, Selection
    from gear_seg_ros.utils.rle import decode_rle

    masks = [np.zeros((30, 40), bool) for _ in range(3)]
    masks[0][5:20, 5:15] = True  # a strawberry
    masks[1][5:9, 7:13] = True  # its calyx
    masks[2][5:20, 25:35] = True  # another strawberry
    perception = Perception("img", (30, 40), [MaskProposal(m) for m in masks],
                            ["a red round fruit", "green leaves on top", "a red fruit"])

    class Picker:
        def select(self, perception, instruction, mode, seed=None):
            return Selection(ids=[1, 2, 0], explanation="strawberries", confidence=9)

    agent = GearSegAgent(reasoner=Picker())
    records = mask_records(perception, 0.0)
    questions, dropped = maturity_questions(agent, perception, records, "img", EngineOptions(maturity="strawberry"))
    assert not dropped and len(questions) == 3 and len(records) == 4
    joined = records[3]
    assert joined.joined_from == [0, 1] and joined.eligible and joined.description == "a red round fruit"
    assert np.array_equal(decode_rle(joined.rle), masks[0] | masks[1]) and joined.area == int(masks[0].sum())
    assert all(q.answer_ids == [3, 2] for q in questions)  # the objects in the order of their first selected mask
    ImageRecord(image_id="img", image_file="img.png", height=30, width=40, masks=records, questions=questions)
