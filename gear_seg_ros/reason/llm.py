"""Shared logic of the LLM reasoners: prompt, constrained answer, validation, one retry, never a silent drop."""
from __future__ import annotations

import time
from abc import abstractmethod

from gear_seg_ros.reason import prompts
from gear_seg_ros.reason.answer import InvalidAnswer, answer_schema, parse_answer
from gear_seg_ros.reason.base import Reasoner
from gear_seg_ros.types import Perception, Selection


class LLMReasoner(Reasoner):
    def __init__(self, max_targets: int, retries: int) -> None:
        self.max_targets = max_targets
        self.retries = retries

    @abstractmethod
    def complete(self, messages: list[dict[str, str]], schema: dict) -> str:
        """Returns the model's raw answer text for the chat `messages`, constrained to `schema` where possible."""

    def query_suffix(self) -> str:
        return ""

    def select(self, perception: Perception, instruction: str, mode: str) -> Selection:
        n = len(perception.descriptions)
        if n == 0:
            return Selection(ids=[], explanation="", message="no masks were found in this frame")
        schema = answer_schema(n, self.max_targets)
        messages = prompts.messages(perception, instruction, mode, self.max_targets, self.query_suffix())
        errors: list[str] = []
        start = time.perf_counter()
        for attempt in range(self.retries + 1):
            text = self.complete(messages, schema)
            try:
                selection = parse_answer(text, n, self.max_targets)
                selection.timings["llm_calls"] = attempt + 1
                selection.timings["llm_s"] = time.perf_counter() - start
                return selection
            except InvalidAnswer as exc:
                errors.append(str(exc))
                messages = messages[:2] + [
                    {"role": "assistant", "content": text[:2000]},
                    {"role": "user", "content": f"That answer is invalid: {exc}. Reply again with only the JSON "
                                                f"object, using ids from the list."},
                ]
        return Selection(ids=[], message=(
            f"the reasoner's answer failed the schema {self.retries + 1} time(s): {'; '.join(errors)}. "
            f"Try a larger model, or the 'embedding' reasoner for explicit instructions"))
