from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from gear_seg_ros.types import MaskProposal


class Segmenter(ABC):
    """Proposes class-agnostic masks for an RGB uint8 image (H x W x 3). Loads its model once in __init__."""

    name = "segmenter"

    @abstractmethod
    def segment(self, image: np.ndarray) -> list[MaskProposal]:
        ...
