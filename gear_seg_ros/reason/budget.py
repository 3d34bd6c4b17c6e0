"""The prompt budget: a frame's numbered descriptions must fit the LLM's context next to the answer.

When they do not, the descriptions are shortened fairly by water-filling: every id stays, the longest descriptions
are cut first, down to one common length chosen as large as the budget allows. When even short stubs do not fit,
the request fails with a message naming the settings that size the prompt.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Protocol

from gear_seg_ros.errors import GearSegError
from gear_seg_ros.types import Perception

PER_MESSAGE_TOKENS = 8  # chat-template tokens around each message (role markers, separators), generously
MIN_DESCRIPTION_TOKENS = 4  # below this a description says nothing: fail instead
RETRY_EXTRA_TOKENS = 160  # a retry adds the invalid answer and a short correction
ELLIPSIS = "..."


class PromptTooLongError(GearSegError):
    pass


class TokenCounter(Protocol):
    def count(self, text: str) -> int: ...

    def truncate(self, text: str, n_tokens: int) -> str: ...


class LlamaTokens:
    """The model's own tokenizer (llama_cpp.Llama)."""

    def __init__(self, llm) -> None:
        self.llm = llm

    def _tokens(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def count(self, text: str) -> int:
        return len(self._tokens(text))

    def truncate(self, text: str, n_tokens: int) -> str:
        return self.llm.detokenize(self._tokens(text)[:n_tokens]).decode("utf-8", errors="ignore")


class CharEstimate:
    """An estimate for remote endpoints: English runs about 4 characters a token; 3 leaves a margin."""

    def __init__(self, chars_per_token: float = 3.0) -> None:
        self.cpt = chars_per_token

    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.cpt)

    def truncate(self, text: str, n_tokens: int) -> str:
        return text[:int(n_tokens * self.cpt)]


def answer_reserve(max_tokens: int, retries: int) -> int:
    """Tokens kept free for the answer, and for the invalid answer + correction + new answer of each retry."""
    return max_tokens + retries * (max_tokens + RETRY_EXTRA_TOKENS)


def count_messages(messages: list[dict[str, str]], counter: TokenCounter) -> int:
    return sum(counter.count(m["content"]) + PER_MESSAGE_TOKENS for m in messages) + PER_MESSAGE_TOKENS


def water_level(lengths: list[int], budget: int) -> int:
    """The largest cap c with sum(min(L, c)) <= budget (lengths all fit: their maximum)."""
    lo, hi = 0, max(lengths, default=0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) for n in lengths) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit(perception: Perception, build: Callable[[Perception], list[dict[str, str]]], counter: TokenCounter,
        limit: int, ctx_key: str) -> tuple[Perception, list[dict[str, str]], str]:
    """(perception as the reasoner sees it, its messages, a note saying what was shortened or "")."""
    messages = build(perception)
    total = count_messages(messages, counter)
    if total <= limit:
        return perception, messages, ""
    n = len(perception.descriptions)
    lengths = [counter.count(d) for d in perception.descriptions]
    fixed = total - sum(lengths)
    budget = limit - fixed
    for _ in range(6):  # tokens do not add exactly across a cut: re-count and tighten
        cap = water_level(lengths, budget)
        if cap < MIN_DESCRIPTION_TOKENS:
            raise PromptTooLongError(
                f"the frame's {n} mask descriptions need {total} prompt tokens, and {limit} are available "
                f"({ctx_key} minus the answer's budget); even cut to {MIN_DESCRIPTION_TOKENS} tokens each they do "
                f"not fit. Raise {ctx_key}, lower nms.max_masks (fewer masks), or lower the describer's token limit "
                f"(describer.dam.max_new_tokens / describer.openai_vlm.max_tokens)")
        short = [d if k <= cap else counter.truncate(d, cap).rstrip() + ELLIPSIS
                 for d, k in zip(perception.descriptions, lengths)]
        shortened = dataclasses.replace(perception, descriptions=short)
        messages = build(shortened)
        now = count_messages(messages, counter)
        if now <= limit:
            cut = sum(k > cap for k in lengths)
            return shortened, messages, (
                f"{cut} of {n} mask descriptions were shortened to {cap} tokens to fit the prompt ({total} tokens "
                f"needed, {limit} available: {ctx_key} minus the answer's budget); raise {ctx_key} or lower "
                f"nms.max_masks to keep them whole")
        budget -= now - limit + n
    raise PromptTooLongError(f"could not fit the frame's {n} descriptions into {limit} prompt tokens; raise {ctx_key} "
                             f"or lower nms.max_masks")
