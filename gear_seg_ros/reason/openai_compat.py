"""Any OpenAI-compatible chat endpoint (llama-server, vLLM, DeepSeek...), same schema, validated, one retry."""
from __future__ import annotations

from gear_seg_ros.reason.budget import CharEstimate
from gear_seg_ros.reason.llm import LLMReasoner
from gear_seg_ros.reason.settings import ReasonerConfig
from gear_seg_ros.utils.openai_client import ChatClient
from gear_seg_ros.utils.openai_client import EndpointError as _ClientError


class EndpointError(_ClientError):
    pass


class OpenAIReasoner(LLMReasoner):
    name = "openai"

    def __init__(self, cfg: ReasonerConfig, base_dir: str = "") -> None:
        super().__init__(cfg.max_targets, cfg.retries)
        self.cfg = cfg.openai
        self.client = ChatClient(self.cfg, what="the LLM endpoint", config_key="reasoner.openai", error=EndpointError)
        self.url = self.client.url

    def query_suffix(self) -> str:
        return "/no_think" if "qwen3" in self.cfg.model.lower() and not self.cfg.thinking else ""

    def prompt_budget(self) -> tuple[CharEstimate, int, str] | None:
        # No tokenizer here: an estimate (3 characters a token) against the server's context, when it is given.
        return (CharEstimate(), self.cfg.n_ctx, "reasoner.openai.n_ctx") if self.cfg.n_ctx else None

    def answer_tokens(self) -> int:
        return self.cfg.max_tokens

    def reset(self) -> None:
        """Nothing to forget here: the server owns its cache, and every request carries the whole prompt."""

    def close(self) -> None:
        """The HTTP client's connections (GearSegAgent.close, the node's cleanup)."""
        self.client.close()

    def tokens_key(self) -> str:
        return "reasoner.openai.max_tokens"

    def complete(self, messages: list[dict[str, str]], schema: dict, *, seed: int | None = None,
                 max_tokens: int | None = None) -> str:
        body = {
            "model": self.cfg.model,
            "messages": messages,
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens if max_tokens is None else max_tokens,
            "seed": self.cfg.seed if seed is None else seed,
            "response_format": (
                {"type": "json_schema", "json_schema": {"name": "mask_selection", "schema": schema, "strict": True}}
                if self.cfg.response_format == "json_schema" else {"type": "json_object", "schema": schema}),
        }
        return self.client.chat(body)
