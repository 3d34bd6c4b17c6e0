"""One confidence scale, [0, 1] (None / NaN / JSON null when unknown), the one SegmentationResult.msg states:
the agent's answer, the CLI's JSON, the eval records and report, the engine's records. (The node's message and
service: tests/ros/test_node_service.py, through a real node.)"""
import json
import math

import numpy as np
import pytest
from helpers import arc2017_instance

from gear_seg_ros.cli.main import main
from gear_seg_ros.engine.options import EngineOptions
from gear_seg_ros.engine.questions import write_questions
from gear_seg_ros.evaluation.evaluate import evaluate
from gear_seg_ros.evaluation.samples import EvalQuery, EvalSample
from gear_seg_ros.reason.llm import LLMReasoner
from gear_seg_ros.types import MaskProposal, Perception

pytestmark = pytest.mark.slow  # the CLI leg loads the default models once more (~10 s shared)


def _unit(value) -> bool:
    return value is not None and not math.isnan(value) and 0.0 <= value <= 1.0


def test_the_agent_the_cli_json_and_the_eval_report_give_the_same_confidence(cpu_agent, arc2017, tmp_path,
                                                                               capsys):
    answer = cpu_agent.segment(arc2017["rgb"], "the green box", "referring")
    assert answer.success and _unit(answer.confidence)

    assert main(["segment", "pkg:arc2017", "the green box", "--mode", "referring", "--json",
                 "--out", str(tmp_path / "cli")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["confidence"] == pytest.approx(answer.confidence)

    sample = EvalSample("arc2017", arc2017["rgb"], [EvalQuery("the green box", False, "soap")],
                        arc2017_instance(arc2017, "irish_spring_soap"), np.zeros((480, 640), bool), sample_id="s")
    evaluate([sample], cpu_agent, out_dir=tmp_path / "eval", report=True)
    record = json.loads((tmp_path / "eval" / "results.jsonl").read_text().splitlines()[0])
    assert record["confidence"] == pytest.approx(answer.confidence)
    assert f"confidence {record['confidence']}" in (tmp_path / "eval" / "report.html").read_text()


class RatingLLM(LLMReasoner):
    """An LLM stand-in that answers every engine question with the same rating (the engine's own code runs)."""

    def __init__(self, rating: int) -> None:
        super().__init__(max_targets=6, retries=0)
        self.rating = rating

    def complete(self, messages, schema, *, seed=None, max_tokens=None):
        return json.dumps({"answers": [{"mask_id": 1, "label": "mug"}],
                           "questions": ["what holds my coffee?", "where could I pour coffee?"],
                           "explanation": "A mug holds hot drinks.", "confidence": self.rating})


@pytest.mark.parametrize("rating, kept", [(8, True), (5, False)])
def test_engine_records_hold_the_rating_over_ten_and_filter_on_that_scale(rating, kept):
    masks = [MaskProposal(np.eye(8, dtype=bool)) for _ in range(3)]
    perception = Perception("f", (8, 8), masks, ["a table", "a white mug", "a wall"])
    opts = EngineOptions(questions_per_image=1, paraphrases=2)  # min_confidence 0.6
    questions, dropped = write_questions(RatingLLM(rating), perception, [0, 1, 2], "img", opts, 6, 0)
    if kept:
        assert questions[0].confidence == pytest.approx(rating / 10) and _unit(questions[0].confidence)
    else:
        assert not questions and "confidence 0.5 < 0.6" in dropped[0].reason
