"""Shared logic of the LLM reasoners: prompt, constrained answer, validation, one retry, never a silent drop."""
from __future__ import annotations

import time
from abc import abstractmethod

from gear_seg_ros.reason import budget, prompts
from gear_seg_ros.reason.answer import InvalidAnswer, answer_schema, explanation_chars, parse_answer
from gear_seg_ros.reason.base import Reasoner
from gear_seg_ros.reason.count import ONE, count_rule
from gear_seg_ros.types import Perception, Selection


class LLMReasoner(Reasoner):
    def __init__(self, max_targets: int, retries: int) -> None:
        self.max_targets = max_targets
        self.retries = retries

    @abstractmethod
    def complete(self, messages: list[dict[str, str]], schema: dict, *, seed: int | None = None,
                 max_tokens: int | None = None) -> str:
        """The model's raw answer text for the chat `messages`, constrained to `schema` where possible, sampled
        with `seed` (None = the backend's configured seed), at most `max_tokens` tokens (None = the configured
        limit)."""

    def query_suffix(self) -> str:
        return ""

    def prompt_budget(self) -> tuple[budget.TokenCounter, int, str] | None:
        """(token counter, context size in tokens, its config key), or None when the context is unknown."""
        return None

    def fit_prompt(self, perception: Perception, instruction: str, mode: str,
                   max_explanation: int = 240) -> tuple[list[dict[str, str]], str]:
        """The chat messages, with descriptions shortened when the frame does not fit (see budget.py)."""
        def build(p: Perception) -> list[dict[str, str]]:
            return prompts.messages(p, instruction, mode, self.max_targets, self.query_suffix(), max_explanation)

        spec = self.prompt_budget()
        if spec is None:
            return build(perception), ""
        counter, n_ctx, key = spec
        limit = n_ctx - budget.answer_reserve(self.answer_tokens(), self.retries)
        _p, messages, note = budget.fit(perception, build, counter, limit, key)
        return messages, note

    def answer_tokens(self) -> int:
        return 256

    def tokens_key(self) -> str:
        """The config key of answer_tokens(), for messages."""
        return "max_tokens"

    def select(self, perception: Perception, instruction: str, mode: str, *, seed: int | None = None) -> Selection:
        n = len(perception.descriptions)
        if n == 0:
            return Selection(ids=[], explanation="", message="no masks were found in this frame")
        # One object asked for (reason/count.py): the schema itself admits one id at most.
        targets = 1 if count_rule(instruction, mode) == ONE else self.max_targets
        max_explanation = explanation_chars(self.answer_tokens(), targets, n, self.tokens_key())
        schema = answer_schema(n, targets, max_explanation)
        messages, note = self.fit_prompt(perception, instruction, mode, max_explanation)
        errors: list[str] = []
        start = time.perf_counter()
        for attempt in range(self.retries + 1):
            text = self.complete(messages, schema, seed=seed)
            try:
                selection = parse_answer(text, n, targets, max_explanation)
                selection.timings["llm_calls"] = attempt + 1
                selection.timings["llm_s"] = time.perf_counter() - start
                selection.note = note
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
