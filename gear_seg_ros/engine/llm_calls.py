"""The engine's use of the reasoner contract (reason/base.py): seeded `complete` calls and `reset` per image."""
from __future__ import annotations

from gear_seg_ros.utils.llm_schema import max_json_bytes


def start_image(reasoner) -> None:
    """Forget llama.cpp's KV cache: the image's calls then run exactly as in any other run (resume == uninterrupted),
    whatever image the worker did before. Prefix reuse between the calls of one image is kept."""
    reasoner.reset()


def complete_json(reasoner, messages: list[dict[str, str]], schema: dict, seed: int) -> str:
    """One LLM call with its own sampling seed (matters only with temperature > 0) and as many answer tokens as
    the schema's longest answer needs (utils/llm_schema.max_json_bytes): a bounded schema then always closes."""
    return reasoner.complete(messages, schema, seed=seed, max_tokens=max_json_bytes(schema))
