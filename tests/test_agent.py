"""The agent end to end on real photos with the embedded CPU default (classical + attributes + MiniLM)."""
import numpy as np
import pytest
from helpers import arc2017_instance, iou

from gear_seg_ros.agent import GearSegAgent
from gear_seg_ros.config import AgentConfig
from gear_seg_ros.errors import InvalidImageError, InvalidInstructionError, UnknownFrameError
from gear_seg_ros.reason.llm import LLMReasoner


def test_explicit_attribute_selects_the_instance(cpu_agent, arc2017):
    result = cpu_agent.segment(arc2017["rgb"], "the green box", "referring")
    assert result.success, result.message
    gt = arc2017_instance(arc2017, "irish_spring_soap")
    score = iou(result.union_mask, gt)
    assert score >= 0.5, f"IoU {score:.2f}; picked {result.ids}: {[result.descriptions[i] for i in result.ids]}"


class CountingSegmenter:
    """Wraps the real segmenter to count calls (a spy, not a mock: segmentation still runs)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def segment(self, image):
        self.calls += 1
        return self.inner.segment(image)


class CountingDescriber:
    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def describe(self, image, masks):
        self.calls += 1
        return self.inner.describe(image, masks)

    def describe_scene(self, image, masks):
        return self.inner.describe_scene(image, masks)


def test_second_query_on_a_cached_frame_skips_segmentation_and_description(cpu_agent, arc2017):
    seg, desc = CountingSegmenter(cpu_agent.segmenter), CountingDescriber(cpu_agent.describer)
    agent = GearSegAgent(cpu_agent.config, segmenter=seg, describer=desc, reasoner=cpu_agent.reasoner)
    stages = []
    first = agent.segment(arc2017["rgb"], "the green box", "referring", frame_id="f1", progress=stages.append)
    second = agent.query("f1", "the pink scissors", "referring", progress=stages.append)
    third = agent.segment(arc2017["rgb"], "the book", "referring", frame_id="f1")
    assert (seg.calls, desc.calls) == (1, 1)
    assert stages == ["segmenting", "describing", "reasoning", "reasoning"]
    assert not first.from_cache and first.timings["segment_s"] > 0
    for later in (second, third):
        assert later.from_cache and later.timings["segment_s"] == 0 and later.timings["describe_s"] == 0


def test_content_hash_identifies_a_frame_without_an_id(cpu_agent, arc2017):
    p1, _computed1 = cpu_agent.ensure_perceived(arc2017["rgb"])
    p2, computed2 = cpu_agent.ensure_perceived(arc2017["rgb"].copy())
    assert p1 is p2 and not computed2


@pytest.mark.parametrize("image, match", [
    (np.zeros((0, 0, 3), np.uint8), "empty"),
    (np.zeros((64, 64, 3), np.float32), "dtype float32"),
    (np.zeros((64, 64, 2), np.uint8), "shape"),
    (np.zeros((8, 8, 3), np.uint8), "too small"),
    ("not an image", "numpy array"),
])
def test_bad_images_are_rejected_with_the_reason(cpu_agent, image, match):
    with pytest.raises(InvalidImageError, match=match):
        cpu_agent.perceive(image)


def test_mono_and_rgba_images_are_accepted(cpu_agent, arc2017):
    gray = arc2017["rgb"].mean(axis=2).astype(np.uint8)
    assert cpu_agent.perceive(gray).image_size == gray.shape
    rgba = np.dstack([arc2017["rgb"], np.full(gray.shape, 255, np.uint8)])
    assert cpu_agent.perceive(rgba).image_size == gray.shape


@pytest.mark.parametrize("instruction, match", [("", "empty"), ("   ", "empty"), ("x" * 5000, "limit of 2000")])
def test_bad_instructions(cpu_agent, arc2017, instruction, match):
    with pytest.raises(InvalidInstructionError, match=match):
        cpu_agent.segment(arc2017["rgb"], instruction, "referring")


def test_unknown_mode_and_unknown_frame(cpu_agent):
    with pytest.raises(InvalidInstructionError, match="unknown mode"):
        cpu_agent.check_instruction("x", "guess")
    with pytest.raises(UnknownFrameError, match="perceive"):
        cpu_agent.query("never-seen", "the box", "referring")


class NonsenseLLM(LLMReasoner):
    """Stands in for a model that answers nonsense (no real model can be made to do that on demand)."""

    def __init__(self, answers):
        super().__init__(max_targets=6, retries=1)
        self.answers, self.calls = list(answers), 0

    def complete(self, messages, schema, *, seed=None, max_tokens=None):
        self.calls += 1
        return self.answers.pop(0)


def test_nonsense_answer_twice_gives_an_empty_selection_with_the_reason(cpu_agent, arc2017):
    llm = NonsenseLLM(["I think it is the box!", '{"mask_ids": [999], "explanation": "x", "confidence": 5}'])
    agent = GearSegAgent(cpu_agent.config, segmenter=cpu_agent.segmenter, describer=cpu_agent.describer, reasoner=llm)
    result = agent.segment(arc2017["rgb"], "the box", "reasoning")
    assert llm.calls == 2 and not result.success and result.ids == []
    assert "not a JSON object" in result.message and "do not exist" in result.message
    assert not result.union_mask.any()


def test_invalid_then_valid_answer_is_retried_once(cpu_agent, arc2017):
    llm = NonsenseLLM(["nonsense", '{"explanation": "The first region fits.", "mask_ids": [0], "confidence": 7}'])
    agent = GearSegAgent(cpu_agent.config, segmenter=cpu_agent.segmenter, describer=cpu_agent.describer, reasoner=llm)
    result = agent.segment(arc2017["rgb"], "anything", "reasoning")
    assert result.success and result.ids == [0] and result.union_mask.sum() == result.targets[0].mask.sum()


def test_missing_model_file_names_the_fetch_command(tmp_path):
    from gear_seg_ros.errors import ModelNotFoundError

    cfg = AgentConfig.from_dict({"reasoner": {"backend": "llama_cpp",
                                              "llama_cpp": {"model_path": str(tmp_path / "qwen.gguf")}}})
    with pytest.raises(ModelNotFoundError, match=r"qwen.gguf.*models/fetch.py"):
        _ = GearSegAgent(cfg).reasoner


class SeedRecordingLLM(LLMReasoner):
    """Records the seed of each call (the agent must pass a query's seed through to the LLM)."""

    def __init__(self):
        super().__init__(max_targets=6, retries=0)
        self.seeds = []

    def complete(self, messages, schema, *, seed=None, max_tokens=None):
        self.seeds.append(seed)
        return '{"explanation": "Mask 1 is everything.", "mask_ids": [1], "confidence": 7}'


def test_perception_api_round_trips_and_query_forwards_the_seed():
    from gear_seg_ros.types import MaskProposal, Perception

    masks = [MaskProposal(np.eye(8, dtype=bool)), MaskProposal(np.ones((8, 8), bool))]
    p = Perception("stored-1", (8, 8), masks, ["a diagonal line", "everything"], scene="a test")
    llm = SeedRecordingLLM()
    agent = GearSegAgent(AgentConfig(), reasoner=llm)
    assert agent.get_perception("stored-1") is None and not agent.has_frame("stored-1")
    agent.add_perception(p)
    assert agent.get_perception("stored-1") is p and agent.has_frame("stored-1")
    assert agent.cache_stats()["entries"] == 1 and agent.cache_stats()["bytes"] == p.nbytes
    result = agent.query("stored-1", "everything", "referring", seed=42)
    agent.query("stored-1", "everything", "referring")
    assert result.success and result.ids == [1] and result.union_mask.all()
    assert llm.seeds == [42, None]


def test_add_perception_rejects_what_query_could_not_use():
    from gear_seg_ros.errors import GearSegError
    from gear_seg_ros.types import MaskProposal, Perception

    agent = GearSegAgent(AgentConfig())
    with pytest.raises(GearSegError, match="no frame_id"):
        agent.add_perception(Perception("", (4, 4), [], [], scene=""))
    with pytest.raises(GearSegError, match="1 descriptions for 2 masks"):
        agent.add_perception(Perception("f", (4, 4), [MaskProposal(np.ones((4, 4), bool))] * 2, ["x"], scene=""))
    with pytest.raises(TypeError, match="takes a Perception"):
        agent.add_perception({"frame_id": "f"})
