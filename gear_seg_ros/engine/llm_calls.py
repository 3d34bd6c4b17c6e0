"""Calling a reasoner's `complete(messages, schema)` reproducibly."""
from __future__ import annotations


def start_image(reasoner) -> None:
    """Forget llama.cpp's KV cache: the image's calls then run exactly as in any other run (resume == uninterrupted),
    whatever image the worker did before. Prefix reuse between the calls of one image is kept."""
    reset = getattr(reasoner, "reset", None) or getattr(getattr(reasoner, "llm", None), "reset", None)
    if reset is not None:
        reset()


def complete_json(reasoner, messages: list[dict[str, str]], schema: dict, seed: int) -> str:
    cfg = getattr(reasoner, "cfg", None)
    if cfg is not None and hasattr(cfg, "seed"):
        cfg.seed = seed  # sampling seed of this call (matters only with temperature > 0)
    return reasoner.complete(messages, schema)


def is_llm_reasoner(reasoner_cls: type) -> bool:
    from gear_seg_ros.reason.llm import LLMReasoner

    return issubclass(reasoner_cls, LLMReasoner)
