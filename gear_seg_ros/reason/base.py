from __future__ import annotations

from abc import ABC, abstractmethod

from gear_seg_ros.errors import GearSegError
from gear_seg_ros.types import Perception, Selection

MODES = ("reasoning", "referring")


class CompletionUnsupportedError(GearSegError):
    """The reasoner has no LLM: it cannot answer free prompts (the engine's question writing, auto-labels)."""


class Reasoner(ABC):
    """Picks the ids of the masks an instruction is about, from the frame's numbered descriptions.

    The contract every caller outside `reason/` uses (nobody reaches into a reasoner's attributes):
    - select(perception, instruction, mode, seed=None) -> Selection
    - complete(messages, schema, seed=None, max_tokens=None) -> str: the raw answer of an LLM to chat messages,
      constrained to the JSON schema where the backend can; `seed` is that call's sampling seed, `max_tokens` its
      answer limit (None = the configured ones). A caller whose schema is bounded (utils/llm_schema.py) passes
      max_json_bytes(schema), so the answer always closes.
      Reasoners without an LLM raise CompletionUnsupportedError.
    - reset(): forget state carried between calls (llama.cpp's KV cache), so the next call runs as in a fresh
      process; a no-op where there is none.
    """

    name = "reasoner"

    @abstractmethod
    def select(self, perception: Perception, instruction: str, mode: str, *, seed: int | None = None) -> Selection:
        ...

    def complete(self, messages: list[dict[str, str]], schema: dict, *, seed: int | None = None,
                 max_tokens: int | None = None) -> str:
        raise CompletionUnsupportedError(
            f"reasoner {self.name!r} has no LLM and cannot complete prompts; use reasoner.backend 'llama_cpp' or "
            f"'openai'")

    def reset(self) -> None:
        """Nothing is carried between calls here."""
