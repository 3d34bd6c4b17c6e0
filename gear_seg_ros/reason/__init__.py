"""Stage 3: an LLM (or a text matcher) reads the numbered descriptions and picks the target masks."""
from gear_seg_ros.reason.base import MODES, Reasoner

REASONERS = {
    "llama_cpp": "gear_seg_ros.reason.llama_cpp:LlamaCppReasoner",
    "openai": "gear_seg_ros.reason.openai_compat:OpenAIReasoner",
    "embedding": "gear_seg_ros.reason.embedding:EmbeddingReasoner",
}

__all__ = ["MODES", "REASONERS", "Reasoner"]
