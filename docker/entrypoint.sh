#!/usr/bin/env bash
# Sources ROS 2 and the workspace, then runs the command (default: the agent launch file).
set -e
for setup in /opt/ros/jazzy/setup.bash /opt/ros/jazzy/install/setup.bash; do
  if [ -f "$setup" ]; then
    # shellcheck disable=SC1090
    source "$setup"
    break
  fi
done
# shellcheck disable=SC1091
source /ws/install/setup.bash
exec "$@"
