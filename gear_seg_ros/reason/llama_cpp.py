"""Local LLM through llama-cpp-python, with the answer constrained by a JSON-schema grammar."""
from __future__ import annotations

from pathlib import Path

from gear_seg_ros.errors import BackendUnavailableError
from gear_seg_ros.models import resolve_model_path
from gear_seg_ros.reason.budget import LlamaTokens
from gear_seg_ros.reason.llama_load import cpu_features, load_llama, repack_choice
from gear_seg_ros.reason.llm import LLMReasoner
from gear_seg_ros.reason.settings import ReasonerConfig

__all__ = ["LlamaCppReasoner", "cpu_features", "repack_choice"]


class LlamaCppReasoner(LLMReasoner):
    name = "llama_cpp"

    def __init__(self, cfg: ReasonerConfig, base_dir: str = "") -> None:
        super().__init__(cfg.max_targets, cfg.retries)
        self.cfg = cfg.llama_cpp
        path = resolve_model_path(self.cfg.model_path, base_dir, what="reasoner GGUF model",
                                  fetch_name="qwen3-8b-q4_k_m")
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise BackendUnavailableError(
                "reasoner.backend 'llama_cpp' needs llama-cpp-python; install it (requirements/cpu.txt, or the CUDA "
                "build in docs/gpu.md, 'GPU environment') or choose reasoner.backend 'embedding'") from None
        self.model_path = Path(path)
        self.llm = load_llama(path, self.cfg.cpu_repack, n_ctx=self.cfg.n_ctx, n_gpu_layers=self.cfg.n_gpu_layers,
                              n_threads=self.cfg.n_threads, seed=self.cfg.seed, verbose=False)
        self.is_qwen3 = "qwen3" in str(self.llm.metadata.get("general.name", path.name)).lower()

    def query_suffix(self) -> str:
        # Qwen3's documented soft switch. The grammar already forbids a <think> block; this keeps the prompt in the
        # distribution the model was tuned on for non-thinking answers.
        return "/no_think" if self.is_qwen3 and not self.cfg.thinking else ""

    def prompt_budget(self) -> tuple[LlamaTokens, int, str]:
        return LlamaTokens(self.llm), self.llm.n_ctx(), "reasoner.llama_cpp.n_ctx"

    def answer_tokens(self) -> int:
        return self.cfg.max_tokens

    def reset(self) -> None:
        """Forgets the KV cache (the next prompt is evaluated from scratch)."""
        self.llm.reset()

    def tokens_key(self) -> str:
        return "reasoner.llama_cpp.max_tokens"

    def complete(self, messages: list[dict[str, str]], schema: dict, *, seed: int | None = None,
                 max_tokens: int | None = None) -> str:
        out = self.llm.create_chat_completion(
            messages=messages,
            response_format={"type": "json_object", "schema": schema},
            temperature=self.cfg.temperature,
            max_tokens=self.cfg.max_tokens if max_tokens is None else max_tokens,
            seed=self.cfg.seed if seed is None else seed,
        )
        return out["choices"][0]["message"]["content"] or ""
