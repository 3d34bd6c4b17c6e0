"""Prompts for the LLM reasoners.

Layout for llama.cpp's KV-prefix reuse: the system message holds everything about the frame (scene + numbered mask
descriptions); the user message holds only the mode's task and the instruction. A second query on the same frame then
shares the whole frame prefix and the model evaluates only the new tokens.
"""
from __future__ import annotations

from gear_seg_ros.reason.count import prompt_rule
from gear_seg_ros.types import Perception

FRAME_HEADER = (
    "You are the reasoning stage of a robot's vision system. The camera image was split into numbered regions "
    "(masks) and each region was described in text. You cannot see the image; rely on the descriptions.\n")

MODE_TASKS = {
    "reasoning": (
        "The instruction below may be implicit: it describes a purpose, a function or a situation rather than naming "
        "the object. Deduce which objects the instruction is about; one object can span several regions, so pick "
        "the region that shows each whole object."),
    "referring": (
        "The instruction below names the target explicitly by its category and attributes (colour, size, position, "
        "state). Select the regions that match all stated attributes."),
}

ANSWER_RULES = (
    "Answer with a JSON object: \"explanation\" (one or two sentences, at most {chars} characters, ending with a "
    "full stop), \"mask_ids\" (ids from the list) and \"confidence\" (1-10: how sure you are that the ids are "
    "right).")


def frame_prompt(perception: Perception) -> str:
    lines = [FRAME_HEADER]
    if perception.scene:
        lines.append(f"Scene: {perception.scene}\n")
    lines.append("Regions:")
    lines += [f"[Mask {i}]: {text}" for i, text in perception.numbered()]
    return "\n".join(lines)


def query_prompt(instruction: str, mode: str, max_targets: int, max_explanation: int = 240) -> str:
    return (f"{MODE_TASKS[mode]} {prompt_rule(instruction, mode, max_targets)}\n"
            f"{ANSWER_RULES.format(chars=max_explanation)}\n\nInstruction: {instruction}")


def messages(perception: Perception, instruction: str, mode: str, max_targets: int,
             suffix: str = "", max_explanation: int = 240) -> list[dict[str, str]]:
    user = query_prompt(instruction, mode, max_targets, max_explanation) + (f" {suffix}" if suffix else "")
    return [{"role": "system", "content": frame_prompt(perception)}, {"role": "user", "content": user}]
