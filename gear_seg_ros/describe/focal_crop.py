"""DAM's "full + focal crop" input: the whole image with the mask, and a crop around the mask with context.

The crop takes the mask's box, grows it to at least `min_side` pixels, then enlarges it `scale` times around its
centre, clipped to the image. Pure numpy so it is tested without the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gear_seg_ros.types import MaskProposal


@dataclass
class RegionInput:
    image: np.ndarray  # full RGB image
    mask: np.ndarray  # full-size bool mask
    crop_box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    crop_image: np.ndarray
    crop_mask: np.ndarray


def focal_box(box: tuple[int, int, int, int], image_hw: tuple[int, int], min_side: int = 48,
              scale: float = 3.0) -> tuple[int, int, int, int]:
    h, w = image_hw
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    bw = max(x1 - x0, min_side) * scale
    bh = max(y1 - y0, min_side) * scale
    nx0, ny0 = int(np.floor(cx - bw / 2)), int(np.floor(cy - bh / 2))
    nx1, ny1 = int(np.ceil(cx + bw / 2)), int(np.ceil(cy + bh / 2))
    return max(0, nx0), max(0, ny0), min(w, nx1), min(h, ny1)


def region_input(image: np.ndarray, proposal: MaskProposal, min_side: int = 48, scale: float = 3.0) -> RegionInput:
    x0, y0, x1, y1 = focal_box(proposal.box, image.shape[:2], min_side, scale)
    return RegionInput(image=image, mask=proposal.mask, crop_box=(x0, y0, x1, y1),
                       crop_image=image[y0:y1, x0:x1], crop_mask=proposal.mask[y0:y1, x0:x1])
