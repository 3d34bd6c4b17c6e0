"""NVIDIA's Describe Anything Model (DAM-3B), full + focal-crop prompting, one description per mask.

GPU only, and not installable on the CPU development machines (its package pins a CUDA torch stack and its weights
come from a model hub), so this backend has NOT been run here; the input preparation it relies on
(`focal_crop.region_input`) is tested. DAM weights are under NVIDIA's non-commercial license: for commercial robots
use a license-clean describer.
"""
from __future__ import annotations

import numpy as np

from gear_seg_ros.config import DamDescriberConfig
from gear_seg_ros.describe.base import Describer
from gear_seg_ros.describe.focal_crop import region_input
from gear_seg_ros.errors import BackendUnavailableError
from gear_seg_ros.models import resolve_model_path
from gear_seg_ros.types import MaskProposal


class DamDescriber(Describer):
    name = "dam"

    def __init__(self, cfg: DamDescriberConfig, base_dir: str = "") -> None:
        self.cfg = cfg
        path = resolve_model_path(cfg.model_path, base_dir, what="DAM-3B weights folder", fetch_name="DAM-3B")
        try:
            from dam import DescribeAnythingModel, disable_torch_init  # NVlabs/describe-anything
        except ImportError:
            raise BackendUnavailableError(
                "describer.backend 'dam' needs NVIDIA's describe-anything package on a CUDA machine (see README, "
                "'GPU backends'); on CPU use describer.backend 'attributes'") from None
        disable_torch_init()
        self.model = DescribeAnythingModel(model_path=str(path), conv_mode="v1", prompt_mode="full+focal_crop")

    def describe(self, image: np.ndarray, masks: list[MaskProposal]) -> list[str]:
        from PIL import Image

        pil_image = Image.fromarray(image)
        out = []
        for proposal in masks:
            region = region_input(image, proposal, self.cfg.crop_min_side, self.cfg.crop_scale)
            text = self.model.get_description(
                pil_image, Image.fromarray(region.mask.astype(np.uint8) * 255), self.cfg.prompt,
                streaming=False, temperature=self.cfg.temperature, top_p=self.cfg.top_p,
                num_beams=self.cfg.num_beams, max_new_tokens=self.cfg.max_new_tokens)
            out.append(" ".join(str(text).split()))
        return out
