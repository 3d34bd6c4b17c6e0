"""NVIDIA's Describe Anything Model (DAM-3B), full + focal-crop prompting, one description per mask.

Masks are described `batch_size` at a time in one batched generation: every mask shares the same prompt, so the
prompt ids are repeated per mask and each mask contributes its own (full image + focal crop, with mask channel)
tensor; sequences finish at the end-of-sequence token. `batch_size: 1` is DAM's own one-call-per-mask path.

`vision.model_dir` (a `gear-seg export dam-vision` folder) runs the vision side on a TensorRT engine or ONNX Runtime
instead of PyTorch (describe/dam_vision_runtime.py); the language model stays FP16 PyTorch.

Batched and one-by-one generation give the same greedy tokens except where two candidates tie at FP16 precision
(batched kernels round differently). Run here only through DAM's real code with a tiny random-weight model on CPU
(tests/test_dam_real.py; DAM's CUDA placements pointed at the CPU); the DAM-3B weights were never loaded. DAM runs
on a CUDA machine; to keep it (its pins, its licence) out of the node's environment use `dam_server`. DAM weights are
under NVIDIA's non-commercial license: for commercial robots use the `openai_vlm` describer with a license-clean VLM.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from gear_seg_ros.describe.base import Describer
from gear_seg_ros.describe.settings import DamDescriberConfig
from gear_seg_ros.errors import BackendUnavailableError, ModelNotFoundError
from gear_seg_ros.models import resolve_model_path
from gear_seg_ros.types import MaskProposal


@contextlib.contextmanager
def dam_fast_init(disable_torch_init):
    """DAM's `disable_torch_init()` for the load only: it replaces torch.nn.Linear / LayerNorm.reset_parameters for the
    whole process, for good, so any module built later in the node (or a test) would keep uninitialised weights."""
    import torch

    saved = {cls: cls.__dict__["reset_parameters"] for cls in (torch.nn.Linear, torch.nn.LayerNorm)}
    disable_torch_init()
    try:
        yield
    finally:
        for cls, method in saved.items():
            cls.reset_parameters = method


class DamDescriber(Describer):
    name = "dam"

    def __init__(self, cfg: DamDescriberConfig, base_dir: str = "") -> None:
        self.cfg = cfg
        path = resolve_model_path(cfg.model_path, base_dir, what="DAM-3B weights folder", fetch_name="DAM-3B")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # its loader must read the local folder, never a model hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from dam import DescribeAnythingModel, disable_torch_init  # NVlabs/describe-anything
        except ImportError:
            raise BackendUnavailableError(
                "describer.backend 'dam' needs NVIDIA's describe-anything package on a CUDA machine (see docs/gpu.md, "
                "'GPU environment'); on CPU use describer.backend 'attributes'") from None
        with dam_fast_init(disable_torch_init):
            self.model = DescribeAnythingModel(model_path=str(path), conv_mode="v1", prompt_mode="full+focal_crop")
        if cfg.vision.model_dir:
            self._use_exported_vision_encoder(base_dir)

    def _use_exported_vision_encoder(self, base_dir: str) -> None:
        from pathlib import Path

        from gear_seg_ros.describe.dam_vision_runtime import EXPORT_HINT, ExportedVisionEncoder

        vision = self.cfg.vision
        try:
            export_dir = Path(resolve_model_path(vision.model_dir, base_dir, what="DAM vision export folder"))
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(f"{exc}; " + EXPORT_HINT.format(dir=vision.model_dir)) from None
        engine_dir = Path(resolve_model_path(vision.engine_dir, base_dir, what="DAM vision engine folder")) \
            if vision.engine_dir else None
        ExportedVisionEncoder(export_dir, vision.runtime, vision.providers, engine_dir).install(self.model.model)

    def describe(self, image: np.ndarray, masks: list[MaskProposal]) -> list[str]:
        from PIL import Image

        pil_image = Image.fromarray(image)
        pil_masks = [Image.fromarray(m.mask.astype(np.uint8) * 255) for m in masks]
        out: list[str] = []
        for start in range(0, len(masks), self.cfg.batch_size):
            batch = pil_masks[start:start + self.cfg.batch_size]
            out += self._describe_batch(pil_image, batch) if len(batch) > 1 else [self._describe_one(pil_image,
                                                                                                      batch[0])]
        return [" ".join(text.split()) for text in out]

    def _describe_one(self, pil_image, pil_mask) -> str:
        return str(self.model.get_description(
            pil_image, pil_mask, self.cfg.prompt, streaming=False, temperature=self.cfg.temperature,
            top_p=self.cfg.top_p, num_beams=self.cfg.num_beams, max_new_tokens=self.cfg.max_new_tokens))

    def _describe_batch(self, pil_image, pil_masks: list) -> list[str]:
        import torch
        from dam.model.constants import IMAGE_TOKEN_INDEX
        from dam.model.conversation import SeparatorStyle
        from dam.model.mm_utils import tokenizer_image_token

        dam = self.model
        prompt, conv = dam.get_prompt(self.cfg.prompt)
        crop_mode, crop_mode2 = dam.prompt_mode.split("+")
        images = [dam.get_image_tensor(pil_image, m, crop_mode=crop_mode, crop_mode2=crop_mode2) for m in pil_masks]
        ids = tokenizer_image_token(prompt, dam.tokenizer, IMAGE_TOKEN_INDEX, return_tensors="pt")
        ids = ids.unsqueeze(0).repeat(len(pil_masks), 1).to(dam.model.device)
        stop = conv.sep if conv.sep_style != SeparatorStyle.TWO else conv.sep2
        with torch.inference_mode():
            output_ids = dam.model.generate(
                input_ids=ids, images=images, use_cache=True, do_sample=self.cfg.temperature > 0,
                temperature=self.cfg.temperature, top_p=self.cfg.top_p, num_beams=self.cfg.num_beams,
                max_new_tokens=self.cfg.max_new_tokens)
        texts = dam.tokenizer.batch_decode(output_ids, skip_special_tokens=True)
        return [text.split(stop)[0].strip() for text in texts]
