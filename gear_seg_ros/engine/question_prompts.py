"""Prompts of the data engine. The frame part (scene + regions) comes first so llama.cpp can reuse its KV prefix."""
from __future__ import annotations

from gear_seg_ros.engine.options import CATEGORIES
from gear_seg_ros.types import Perception

FRAME_HEADER = (
    "You write training data for reasoning segmentation. A photo was split into numbered regions (masks), each "
    "described in text. You cannot see the photo; rely on the scene and the region descriptions.\n")


def frame_prompt(perception: Perception, ids: list[int]) -> str:
    lines = [FRAME_HEADER]
    if perception.scene:
        lines.append(f"Scene: {perception.scene}\n")
    lines.append("Regions:")
    lines += [f"[Mask {i}]: {perception.descriptions[i]}" for i in ids]
    return "\n".join(lines)


def question_messages(perception: Perception, ids: list[int], category: str, paraphrases: int,
                      earlier: list[str], limits: tuple[int, int] = (140, 400)) -> list[dict[str, str]]:
    avoid = ("\nDo not repeat these earlier questions: " + " | ".join(earlier)) if earlier else ""
    q_chars, e_chars = limits
    user = (
        f"Write one {category} question: it {CATEGORIES[category]}. The question must not name the target object "
        f"directly; a reader has to reason to find it. Answer with a JSON object: \"answers\" (the mask ids that "
        f"answer the question, one per object, each with a short label naming the object), \"questions\" "
        f"({paraphrases} different wordings of the same question, each at most {q_chars} characters), "
        f"\"explanation\" (2-3 sentences, at most {e_chars} characters, ending with a full stop: the logic chain "
        f"from the question to the answer) and \"confidence\" (1-10: how sure you are that the answer is right "
        f"and unambiguous).{avoid}")
    return [{"role": "system", "content": frame_prompt(perception, ids)}, {"role": "user", "content": user}]


def label_messages(perception: Perception, ids: list[int], keyword: str) -> list[dict[str, str]]:
    user = (
        f"The photo shows a {keyword} scene. Give every listed region a category: a short snake_case noun phrase "
        f"for what the region is, as specific as the description allows (e.g. ripe_{keyword}, diseased_leaf, pole, "
        f"fastener). Use \"background\" for regions that are not an object. Answer with a JSON object mapping each "
        f"mask id to its category.")
    return [{"role": "system", "content": frame_prompt(perception, ids)}, {"role": "user", "content": user}]


def retry_messages(messages: list[dict[str, str]], answer: str, problem: str) -> list[dict[str, str]]:
    return messages[:2] + [
        {"role": "assistant", "content": answer[:2000]},
        {"role": "user", "content": f"That answer is invalid: {problem}. Reply again with only the JSON object."},
    ]
