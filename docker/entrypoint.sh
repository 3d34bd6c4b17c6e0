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
# GEAR_SEG_BUILD_ENGINES=1: build (or re-use, they are cached) the TensorRT engines of every ONNX export under the
# models folder on this device before starting (engines only run on the GPU and TensorRT they were built with).
# The models mount must be writable then.
if [ "${GEAR_SEG_BUILD_ENGINES:-0}" = "1" ]; then
  for meta in "${GEAR_SEG_MODELS:-/ws/src/gear_seg_ros/models/weights}"/*/metadata.json; do
    if [ -f "$meta" ]; then
      python3 -m gear_seg_ros.cli.main export trt --onnx-dir "$(dirname "$meta")"
    fi
  done
fi
exec "$@"
