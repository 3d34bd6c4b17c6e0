from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from gear_seg_ros.types import MaskProposal


class Describer(ABC):
    """Writes one description per mask (same order as `masks`) and a whole-scene description."""

    name = "describer"

    @abstractmethod
    def describe(self, image: np.ndarray, masks: list[MaskProposal]) -> list[str]:
        ...

    def describe_scene(self, image: np.ndarray, masks: list[MaskProposal]) -> str:
        return ""
