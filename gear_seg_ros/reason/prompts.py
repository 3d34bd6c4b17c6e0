"""Prompts for the LLM reasoners.

Layout for llama.cpp's KV-prefix reuse: the system message holds everything about the frame (scene + numbered mask
descriptions); the user message holds only the mode's task and the instruction. A second query on the same frame then
shares the whole frame prefix and the model evaluates only the new tokens.
"""
from __future__ import annotations

from gear_seg_ros.types import Perception

FRAME_HEADER = (
    "You are the reasoning stage of a robot's vision system. The camera image was split into numbered regions "
    "(masks) and each region was described in text. You cannot see the image; rely on the descriptions.\n")

MODE_TASKS = {
    "reasoning": (
        "The instruction below may be implicit: it describes a purpose, a function or a situation rather than naming "
        "the object. Deduce which regions the instruction is about (an object can span several regions; several "
        "objects can be meant). Explain the deduction in one or two sentences, then give the mask ids."),
    "referring": (
        "The instruction below names the target explicitly by its category and attributes (colour, size, position, "
        "state). Select every region that matches all stated attributes. Explain the match in one sentence, then give "
        "the mask ids."),
}

ANSWER_RULES = (
    "Answer with a JSON object: \"explanation\" (short), \"mask_ids\" (at most {max_targets} ids from the list; [] if "
    "no region matches) and \"confidence\" (1-10).")


def frame_prompt(perception: Perception) -> str:
    lines = [FRAME_HEADER]
    if perception.scene:
        lines.append(f"Scene: {perception.scene}\n")
    lines.append("Regions:")
    lines += [f"[Mask {i}]: {text}" for i, text in perception.numbered()]
    return "\n".join(lines)


def query_prompt(instruction: str, mode: str, max_targets: int) -> str:
    return (f"{MODE_TASKS[mode]}\n{ANSWER_RULES.format(max_targets=max_targets)}\n\n"
            f"Instruction: {instruction}")


def messages(perception: Perception, instruction: str, mode: str, max_targets: int,
             suffix: str = "") -> list[dict[str, str]]:
    user = query_prompt(instruction, mode, max_targets) + (f" {suffix}" if suffix else "")
    return [{"role": "system", "content": frame_prompt(perception)}, {"role": "user", "content": user}]
