"""How an exported model is run: the one settings model of every export a backend loads.

Used by segmenter.onnx_sam2 and tracker.sam2_prompt (a `gear-seg export sam2` folder; their keys sit in their own
section) and by describer.dam.vision (a `gear-seg export dam-vision` folder). Each use keeps its own defaults: a use
re-annotates a field (`model_dir: ExportDir = "models/weights/sam2_onnx"`) or builds its default instance.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gear_seg_ros.utils.settings_model import Section

ExportDir = Annotated[str, Field(description="folder of the model's export (`gear-seg export sam2` / `dam-vision`); "
                                             "describer.dam.vision: empty = the PyTorch encoder runs instead")]
Runtime = Annotated[Literal["onnxruntime", "tensorrt"], Field(
    description="onnxruntime (with `providers`) or tensorrt (engines of `gear-seg export trt`)")]
Providers = Annotated[list[str], Field(description="ONNX Runtime execution providers, in order of preference")]


class ExportRuntimeSettings(Section):
    model_dir: ExportDir = ""
    runtime: Runtime = "onnxruntime"
    providers: Providers = Field(default_factory=lambda: ["CPUExecutionProvider"])
    engine_dir: str = Field("", description="TensorRT engine folder; empty = <model_dir>/engines")

