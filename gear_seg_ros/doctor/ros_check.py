"""ROS 2 interfaces: rclpy and gear_seg_msgs import (in a subprocess: no rclpy in the ROS-free core)."""
from __future__ import annotations

import subprocess
import sys

from gear_seg_ros.doctor.core import OK, WARN, Check, Context

PROBE = ("import rclpy, gear_seg_msgs.msg, gear_seg_msgs.srv, gear_seg_msgs.action, sensor_msgs.msg, std_srvs.srv; "
         "import os; print(os.environ.get('ROS_DISTRO', '') + '|' + rclpy.__file__)")
FIX = ("scripts/setup_ros.sh .venv (pip-installed Jazzy into this venv), or on a ROS 2 install: colcon build "
       "--base-paths src/gear_seg_ros/ros2_ws/src && source install/setup.bash")


def checks(ctx: Context) -> list[Check]:
    try:
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                             check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return [Check("ros", "ROS 2 interfaces", WARN, f"could not run the probe: {exc}", FIX)]
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return [Check("ros", "ROS 2 interfaces", WARN, f"the node cannot start here (the CLI can): {last}", FIX)]
    distro, _, where = out.stdout.strip().rpartition("\n")[-1].partition("|")
    return [Check("ros", "ROS 2 interfaces", OK, f"rclpy ({distro or 'ROS_DISTRO unset'}, {where}) and gear_seg_msgs "
                                                 "import")]
