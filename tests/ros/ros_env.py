"""Environment for tests that start ROS 2 processes: loopback-only Fast DDS, a per-session domain, logs in tmp."""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "config" / "fastdds_loopback.xml"
DOMAIN_ID = 1 + os.getpid() % 100  # one domain per pytest session: parallel sessions do not see each other
SKIP_REASON = "ROS 2 (rclpy + gear_seg_msgs) not installed in this venv; run: scripts/setup_ros.sh .venv"


def ros_env(tmp_path: Path) -> dict[str, str]:
    """os.environ for a ROS subprocess (or this process), confined to 127.0.0.1 and to this session's domain."""
    env = dict(os.environ)
    # The ROS wheels' .pth re-executes python once with LD_LIBRARY_PATH set, guarded by this variable; a
    # child must redo that for its own venv.
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    env.update(
        FASTRTPS_DEFAULT_PROFILES_FILE=str(PROFILE),  # Jazzy
        FASTDDS_DEFAULT_PROFILES_FILE=str(PROFILE),  # Kilted and later
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        ROS_DOMAIN_ID=str(DOMAIN_ID),
        ROS_HOME=str(tmp_path / "ros_home"),
        ROS_LOG_DIR=str(tmp_path / "ros_log"),
        RMW_IMPLEMENTATION="rmw_fastrtps_cpp",
        PYTHONUNBUFFERED="1",
    )
    return env


@functools.cache
def ros_available() -> bool:
    try:
        import gear_seg_msgs.msg  # noqa: F401
        import rclpy  # noqa: F401
    except ImportError:
        return False
    return True


MESSAGE_FILTERS_SKIP = ("use_depth needs message_filters, which is not installed in this venv: make setup installs it "
                        "from ../shared/vendor/ros2-jazzy (scripts/setup_ros_tools.sh)")


def require_message_filters() -> None:
    """pytest.skip the calling test unless message_filters (the node's depth pairing) imports here."""
    import importlib.util

    if importlib.util.find_spec("message_filters") is None:
        pytest.skip(MESSAGE_FILTERS_SKIP)


def require_ros() -> None:
    """pytest.skip the calling test unless rclpy and gear_seg_msgs import here."""
    if not ros_available():
        pytest.skip(SKIP_REASON)

