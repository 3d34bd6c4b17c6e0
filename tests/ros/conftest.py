from pathlib import Path

import pytest
from ros_env import require_ros, ros_env


@pytest.fixture
def ros_environ(tmp_path, monkeypatch) -> dict[str, str]:
    """Skips unless ROS 2 is installed; puts the loopback-only ROS environment into this process and returns it
    (pass it as `env=` to ROS subprocesses)."""
    require_ros()
    env = ros_env(tmp_path)
    for key, value in env.items():
        if key.startswith(("ROS_", "FASTRTPS_", "FASTDDS_", "RMW_")):
            monkeypatch.setenv(key, value)
    return env


def pytest_collection_modifyitems(config, items):
    """Every test in tests/ros is a `ros` test (`-m "not ros"` skips them all), whatever its file declares."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.ros)
