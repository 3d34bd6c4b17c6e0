from __future__ import annotations

from abc import ABC, abstractmethod

from gear_seg_ros.types import Perception, Selection

MODES = ("reasoning", "referring")


class Reasoner(ABC):
    """Picks the ids of the masks an instruction is about, from the frame's numbered descriptions."""

    name = "reasoner"

    @abstractmethod
    def select(self, perception: Perception, instruction: str, mode: str) -> Selection:
        ...
