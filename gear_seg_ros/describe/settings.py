"""The describe stage's settings: one section per describer backend (config `describer`).

A light module (pydantic only), so config.py assembles the sections without importing a backend.
"""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from gear_seg_ros.runtime.settings import ExportRuntimeSettings
from gear_seg_ros.utils.openai_client import ApiKeyEnv, BaseUrl, EndpointSettings, ModelName, TimeoutS
from gear_seg_ros.utils.settings_model import Section


class AttributesDescriberConfig(Section):
    """`describer.attributes`: AttributeDescriber (describe/attributes.py), colour / size / texture words on CPU."""

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


class DamDescriberConfig(Section):
    """`describer.dam`: DamDescriber (describe/dam.py), the Describe Anything Model in this process; `vision` runs its
    vision encoder from a `gear-seg export dam-vision` folder instead of PyTorch (describe/dam_vision_runtime.py)."""

    renamed_keys: ClassVar[dict[str, str]] = {"vision_encoder": "vision.model_dir", "vision_runtime": "vision.runtime",
                                              "vision_providers": "vision.providers",
                                              "vision_engine_dir": "vision.engine_dir"}

    model_path: str = Field("models/weights/DAM-3B", description="Describe Anything Model folder")
    prompt: str = Field("<image>\nDescribe the masked region in detail.", description="DAM prompt")
    temperature: float = Field(0.2, ge=0.0, le=10.0, description="sampling temperature")
    top_p: float = Field(0.5, gt=0.0, le=1.0, description="nucleus sampling mass")
    num_beams: int = Field(1, ge=1, le=64, description="beam search width")
    max_new_tokens: int = Field(512, ge=1, le=10**6, description="longest description, tokens")
    batch_size: int = Field(8, ge=1, le=1024, description="masks per batched generation; 1 = one call per mask")
    vision: ExportRuntimeSettings = Field(default_factory=lambda: ExportRuntimeSettings(
        model_dir="", runtime="tensorrt", providers=["CUDAExecutionProvider", "CPUExecutionProvider"]))


class OpenAIVlmDescriberConfig(EndpointSettings):
    """`describer.openai_vlm`: OpenAIVlmDescriber (describe/openai_vlm.py), any OpenAI-compatible vision endpoint; the
    endpoint's keys (base_url, model, api_key_env, timeout_s, connect_timeout_s, retries) are EndpointSettings'."""

    base_url: BaseUrl = "http://127.0.0.1:8000/v1"
    model: ModelName = "Qwen/Qwen2.5-VL-7B-Instruct"
    prompt: str = Field("The region outlined in green is the object of interest. Describe that object in detail: what it "
                   "is, its colour, material, shape, state (e.g. ripeness, damage) and where it is relative to "
                   "its neighbours. One or two sentences.", description="instruction sent with each mask's image")
    temperature: float = Field(0.2, ge=0.0, le=10.0, description="sampling temperature")
    max_tokens: int = Field(160, ge=8, le=10**6, description="longest description, tokens")
    crop_min_side: int = Field(48, ge=1, le=100000, description="focal crop at least this many pixels a side")
    crop_scale: float = Field(3.0, ge=1.0, le=100.0, description="focal crop = the mask's box enlarged this many times")
    concurrency: int = Field(8, ge=1, le=1024, description="requests in flight (the server batches them)")
    send_full_image: bool = Field(True, description="also send the whole image (context) with the focal crop")


class DamServerDescriberConfig(EndpointSettings):
    """`describer.dam_server`: DamServerDescriber (describe/dam_server.py), DAM's own dam_server.py, which serves
    /chat/completions (its model name "describe_anything_model" skips the server's model check; it takes no key)."""

    base_url: BaseUrl = "http://127.0.0.1:8010"
    model: ModelName = "describe_anything_model"
    api_key_env: ApiKeyEnv = ""
    timeout_s: TimeoutS = 120.0
    prompt: str = Field("Describe the masked region in detail.", description="the server adds DAM's <image> prefix")
    max_tokens: int = Field(512, ge=1, le=10**6, description="sent, but dam_server.py decodes with its own --max_new_tokens")
    temperature: float = Field(0.2, ge=0.0, le=10.0, description="sent, but dam_server.py uses its own --temperature")
    concurrency: int = Field(4, ge=1, le=1024, description="requests in flight")
    max_side: int = Field(0, ge=0, le=100000, description="downscale the image sent to this longest side; 0 = full size")


class DescriberConfig(Section):
    """Config section `describer`: the backend's name (describe/__init__.py DESCRIBERS) and each backend's settings."""

    backend: str = Field("attributes", description="describer backend: attributes | dam | dam_server | openai_vlm")
    attributes: AttributesDescriberConfig = Field(default_factory=AttributesDescriberConfig)
    dam: DamDescriberConfig = Field(default_factory=DamDescriberConfig)
    openai_vlm: OpenAIVlmDescriberConfig = Field(default_factory=OpenAIVlmDescriberConfig)
    dam_server: DamServerDescriberConfig = Field(default_factory=DamServerDescriberConfig)
