"""Plain helpers shared by the tests (conftest.py holds the fixtures)."""
import socket
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TESTS = str(REPO / "tests")  # on PYTHONPATH for a subprocess that imports `support.*` (tests/support/)


def arc2017_instance(data, class_name: str) -> np.ndarray:
    index = data["class_names"].index(class_name)
    k = list(data["labels"]).index(index)
    return data["masks"][k].astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def free_port() -> int:
    """A TCP port free on loopback now (the OS picks it; a server started right after binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
