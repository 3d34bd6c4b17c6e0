"""The evaluation runner with the real GearSegAgent and small injected stages (no models)."""
import json

import numpy as np
import pytest

from gear_seg_ros.agent import GearSegAgent
from gear_seg_ros.evaluation.evaluate import evaluate
from gear_seg_ros.evaluation.readers import open_dataset
from gear_seg_ros.evaluation.reference_outputs import write_outputs
from gear_seg_ros.evaluation.samples import EvalQuery, EvalSample, GtInstance
from gear_seg_ros.types import MaskProposal, Perception, Selection

H, W = 20, 24
LABELS = ["red mug", "blue plate", "mug handle"]


def proposals():
    masks = [np.zeros((H, W), bool) for _ in LABELS]
    masks[0][2:10, 2:10] = True  # exactly the target
    masks[1][12:18, 12:21] = True  # 54 px elsewhere
    masks[2][2:10, 2:6] = True  # half of the target
    return [MaskProposal(m) for m in masks]


class FixedSegmenter:
    def segment(self, image):
        return proposals()


class LabelDescriber:
    def describe(self, image, masks):
        return [LABELS[[np.array_equal(m.mask, p.mask) for p in proposals()].index(True)] for m in masks]

    def describe_scene(self, image, masks):
        return "a table"


class NoSegmenter:
    def segment(self, image):
        raise AssertionError("segmentation must not run with from_outputs")


class SubstringReasoner:
    """Picks the masks whose description occurs in the instruction; 'explode' makes it fail."""

    def select(self, perception, instruction, mode):
        if "explode" in instruction:
            raise RuntimeError("boom")
        return Selection(ids=[i for i, d in enumerate(perception.descriptions) if d in instruction],
                         explanation=f"{mode}: substring match")


@pytest.fixture
def lisa_dir(tmp_path):
    import cv2

    data = tmp_path / "data"
    data.mkdir()
    for stem in ("scene_a", "scene_b"):
        cv2.imwrite(str(data / f"{stem}.png"), np.full((H, W, 3), 128, np.uint8))
        shapes = [{"label": "target", "points": [[2, 2], [9, 2], [9, 9], [2, 9]]}]  # 8 x 8 = 64 px
        doc = {"text": ["the red mug", "the blue plate", "explode now"], "is_sentence": stem == "scene_a",
               "shapes": shapes}
        (data / f"{stem}.json").write_text(json.dumps(doc))
    return data


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_perceive_score_and_write(lisa_dir, tmp_path):
    agent = GearSegAgent(segmenter=FixedSegmenter(), describer=LabelDescriber(), reasoner=SubstringReasoner())
    out = tmp_path / "out"
    summary = evaluate(open_dataset(lisa_dir), agent, out_dir=out, overlays=True, limit=1)
    records = read_jsonl(out / "results.jsonl")
    assert [r["iou"] for r in records] == [1.0, 0.0, 0.0]
    assert [r["mode"] for r in records] == ["reasoning"] * 3  # is_sentence true
    mug, plate, failed = records
    assert mug["ids"] == [0] and mug["success"] and mug["ceiling"] == 1.0
    assert (plate["intersection"], plate["union"]) == (0, 64 + 54)
    assert not failed["success"] and (failed["intersection"], failed["union"]) == (0, 64)
    assert "boom" in failed["message"]
    assert mug["timings"]["perceive_s"] > 0 and plate["timings"]["perceive_s"] == 0
    assert summary["overall"]["count"] == 3 and summary["overall"]["failed"] == 1
    assert summary["overall"]["gIoU"] == pytest.approx(1 / 3)
    assert summary["overall"]["cIoU"] == pytest.approx(64 / (64 + 118 + 64))
    assert summary["attribution"]["mean_ceiling"] == 1.0
    assert summary["attribution"]["lost_to_description_reasoning"] == pytest.approx(2 / 3)
    assert json.loads((out / "summary.json").read_text())["overall"] == summary["overall"]
    assert len(list((out / "overlays").glob("*.png"))) == 3


def test_from_outputs_and_a_failing_sample_do_not_abort(lisa_dir, tmp_path):
    stored = tmp_path / "stored"
    write_outputs(Perception("scene_a", (H, W), proposals(), LABELS, scene="a table"), stored)  # no scene_b
    agent = GearSegAgent(segmenter=NoSegmenter(), reasoner=SubstringReasoner())
    summary = evaluate(open_dataset(lisa_dir), agent, mode="referring", out_dir=tmp_path / "o",
                       from_outputs=stored)
    records = read_jsonl(tmp_path / "o" / "results.jsonl")
    assert len(records) == 6 and {r["mode"] for r in records} == {"referring"}
    assert [r["iou"] for r in records[:3]] == [1.0, 0.0, 0.0]
    assert all(not r["success"] and "perception failed" in r["message"] for r in records[3:])
    assert summary["overall"]["failed"] == 4 and summary["images"] == 2
    assert set(summary["by_is_sentence"]) == {"sentence", "phrase"}
    assert agent.has_frame("scene_a")


def test_coco_map_from_instances(tmp_path):
    masks = proposals()
    target = masks[0].mask | masks[1].mask
    instances = [GtInstance(masks[0].mask), GtInstance(masks[1].mask)]
    sample = EvalSample("img", np.zeros((H, W, 3), np.uint8), [EvalQuery("red mug, blue plate", False, "thing")],
                        target, np.zeros_like(target), instances=instances)
    agent = GearSegAgent(segmenter=FixedSegmenter(), describer=LabelDescriber(), reasoner=SubstringReasoner())
    summary = evaluate([sample], agent)
    assert summary["overall"]["gIoU"] == 1.0
    assert summary["by_mode"] == {"referring": summary["overall"]}
    assert summary["coco"]["mAP"] == pytest.approx(1.0) and summary["coco"]["gt_instances"] == 2


@pytest.mark.parametrize("join, targets, precision", [(True, 1, 1.0), (False, 2, 0.5)])
def test_instance_precision_and_recall_of_targets(tmp_path, join, targets, precision):
    """'red mug, mug handle' selects the mug and its handle (inside it): one object, one target (issue 18); with
    targets.join false each selected mask is a target and the handle is a false positive."""
    from gear_seg_ros.config import AgentConfig

    masks = proposals()
    instances = [GtInstance(masks[0].mask), GtInstance(masks[1].mask)]  # the mug and the plate
    sample = EvalSample("img", np.zeros((H, W, 3), np.uint8), [EvalQuery("red mug, mug handle", False, "thing")],
                        masks[0].mask | masks[1].mask, np.zeros((H, W), bool), instances=instances)
    agent = GearSegAgent(AgentConfig.from_dict({"targets": {"join": join}}), segmenter=FixedSegmenter(),
                         describer=LabelDescriber(), reasoner=SubstringReasoner())
    summary = evaluate([sample], agent, out_dir=tmp_path)
    record = read_jsonl(tmp_path / "results.jsonl")[0]
    assert record["ids"] == [0, 2] and len(record["targets"]) == targets
    assert record["instances"] == {"targets": targets, "gt_instances": 2, "matched": 1}
    assert summary["instances"] == {"iou_threshold": 0.5, "queries": 1, "targets": targets, "gt_instances": 2,
                                    "matched": 1, "precision": precision, "recall": 0.5}
    assert summary["coco"]["predictions"] == targets


def test_match_instances_one_to_one_best_first_and_crowds():
    from gear_seg_ros.evaluation.instances import match_instances

    a = np.zeros((10, 10), bool)
    a[:5] = True
    b = np.zeros((10, 10), bool)
    b[5:] = True
    half = np.zeros((10, 10), bool)
    half[:5, :6] = True  # IoU 0.6 with a
    assert match_instances([a, half], [GtInstance(a)]).to_dict() == {"targets": 2, "gt_instances": 1, "matched": 1}
    assert match_instances([half, a], [GtInstance(a), GtInstance(b)]).matched == 1  # a takes a; half is left
    assert match_instances([b], [GtInstance(a), GtInstance(b, iscrowd=True)]).to_dict() == \
        {"targets": 0, "gt_instances": 1, "matched": 0}  # inside a crowd: neither right nor wrong
    assert match_instances([np.zeros((10, 10), bool)], [GtInstance(a)]).targets == 0  # empty masks do not count
