"""Any OpenAI-compatible chat endpoint (llama-server, vLLM, DeepSeek...), same schema, validated, one retry."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from gear_seg_ros.config import ReasonerConfig
from gear_seg_ros.errors import GearSegError
from gear_seg_ros.reason.budget import CharEstimate
from gear_seg_ros.reason.llm import LLMReasoner


class EndpointError(GearSegError):
    pass


class OpenAIReasoner(LLMReasoner):
    name = "openai"

    def __init__(self, cfg: ReasonerConfig, base_dir: str = "") -> None:
        super().__init__(cfg.max_targets, cfg.retries)
        self.cfg = cfg.openai
        self.url = self.cfg.base_url.rstrip("/") + "/chat/completions"

    def query_suffix(self) -> str:
        return "/no_think" if "qwen3" in self.cfg.model.lower() and not self.cfg.thinking else ""

    def prompt_budget(self) -> tuple[CharEstimate, int, str] | None:
        # No tokenizer here: an estimate (3 characters a token) against the server's context, when it is given.
        return (CharEstimate(), self.cfg.n_ctx, "reasoner.openai.n_ctx") if self.cfg.n_ctx else None

    def answer_tokens(self) -> int:
        return self.cfg.max_tokens

    def complete(self, messages: list[dict[str, str]], schema: dict) -> str:
        body = {
            "model": self.cfg.model,
            "messages": messages,
            "temperature": self.cfg.temperature,
            "max_tokens": self.cfg.max_tokens,
            "response_format": (
                {"type": "json_schema", "json_schema": {"name": "mask_selection", "schema": schema, "strict": True}}
                if self.cfg.response_format == "json_schema" else {"type": "json_object", "schema": schema}),
        }
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.cfg.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.cfg.timeout_s) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise EndpointError(f"the LLM endpoint {self.url} answered HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise EndpointError(f"cannot reach the LLM endpoint {self.url} ({exc}); start the server or fix "
                                f"reasoner.openai.base_url") from None
        try:
            return payload["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            return json.dumps(payload)[:2000]
