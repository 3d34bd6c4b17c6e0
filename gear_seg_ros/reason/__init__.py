"""Stage 3: an LLM (or a text matcher) reads the numbered descriptions and picks the target masks."""
from gear_seg_ros.reason.base import MODES, Reasoner

REASONERS = {
    "llama_cpp": "gear_seg_ros.reason.llama_cpp:LlamaCppReasoner",
    "openai": "gear_seg_ros.reason.openai_compat:OpenAIReasoner",
    "embedding": "gear_seg_ros.reason.embedding:EmbeddingReasoner",
}


def can_complete(backend: str) -> bool:
    """Whether the reasoner `backend` answers `Reasoner.complete` (it has an LLM), without building it: the data
    engine checks this before a run. Raises ConfigError for an unknown name, BackendUnavailableError when its
    package is missing."""
    from gear_seg_ros import registry
    from gear_seg_ros.reason.llm import LLMReasoner

    return issubclass(registry.load_backend("reasoner", REASONERS, backend), LLMReasoner)


__all__ = ["MODES", "REASONERS", "Reasoner", "can_complete"]
