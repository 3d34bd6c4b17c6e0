"""scripts/setup_ros_tools.sh: the ROS 2 tools from ../shared/vendor/ros2-jazzy in the venv, gear_seg_ros in its
ament index (what `ros2 launch gear_seg_ros ...` and `ros2 run gear_seg_ros gear_seg_agent` look up), pins that
agree with the CPU lock, and a clear message when the vendor folder is absent."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import locks

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
ROS2 = VENV / "bin" / "ros2"
VENDOR = REPO.parent / "shared" / "vendor" / "ros2-jazzy"
NO_TOOLS = (f"the ROS 2 tools are not installed in {VENV} ({VENDOR} absent, or make setup not run): "
            "see scripts/setup_ros_tools.sh")


def test_ros_tools_pins_agree_with_the_cpu_lock():
    tools, cpu = locks.read_lock(REPO / "requirements" / "ros-tools.txt"), locks.read_lock(REPO / "requirements" /
                                                                                            "cpu.txt")
    assert "osrf-pycommon" in tools
    differ = {name: (pin.version, cpu[name].version) for name, pin in tools.items()
              if name in cpu and cpu[name].version != pin.version}
    assert differ == {}


def test_without_the_vendor_folder_setup_says_how_to_get_ros2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "AMENT_PREFIX_PATH"}
    env["GEAR_SEG_ROS2_VENDOR"] = str(tmp_path / "absent")
    proc = subprocess.run(["bash", str(REPO / "scripts" / "setup_ros_tools.sh"), str(VENV)], env=env,  # untouched
                          capture_output=True, text=True, timeout=60)
    if "is installed at" in proc.stdout:
        pytest.skip(f"this machine has a system ROS 2, which the script uses: {proc.stdout.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert "ROS 2 tools NOT installed" in proc.stdout and "apt install ros-jazzy-ros-base" in proc.stdout
    assert "../shared/vendor/ros2-jazzy" in proc.stdout and "tests that need" in proc.stdout


def _ros2(*args: str) -> str:
    if not ROS2.exists():
        pytest.skip(NO_TOOLS)
    env = {k: v for k, v in os.environ.items() if k not in ("AMENT_PREFIX_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE")}
    proc = subprocess.run([str(ROS2), *args], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_gear_seg_ros_is_in_the_venvs_ament_index_with_nothing_sourced():
    """`ros2 pkg` reads the ament index the .pth put on AMENT_PREFIX_PATH (unset here, as in a fresh shell)."""
    assert _ros2("pkg", "prefix", "gear_seg_ros").strip() == str(VENV)
    assert "gear_seg_ros gear_seg_agent" in _ros2("pkg", "executables", "gear_seg_ros")
    share = VENV / "share" / "gear_seg_ros"
    assert (share / "launch" / "agent.launch.py").resolve() == REPO / "launch" / "agent.launch.py"
    assert (share / "config" / "cpu.yaml").is_file() and (share / "package.xml").is_file()
    agent = VENV / "lib" / "gear_seg_ros" / "gear_seg_agent"
    assert os.access(agent, os.X_OK) and agent.read_text().startswith(f"#!{VENV}/bin/python")
    for name in ("vision_msgs", "composition_interfaces", "launch_ros", "ros2cli"):
        assert name in _ros2("pkg", "list").split(), name
