#!/usr/bin/env bash
# Creates or updates .venv/ at the repo root: Python 3.11, pinned packages (CPU torch), the package in editable mode,
# the pip-installed ROS 2 Jazzy runtime with this repo's interfaces, and the ROS 2 tools (`ros2 launch`, ...) from
# ../shared/vendor/ros2-jazzy with gear_seg_ros in the venv's ament index. Re-running is quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE  # never inherit another venv's ROS bootstrap state

find_python() {
  local candidate
  for candidate in "${GEAR_SEG_PYTHON:-}" "$HOME/.pyenv/versions/3.11.7/bin/python" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

VENV=.venv
STAMP="$VENV/.setup-stamp"
INPUTS=(requirements/*.txt setup.py setup.cfg package.xml scripts/setup.sh scripts/setup_ros.sh scripts/setup_ros_tools.sh
        scripts/lib/ros_build.sh ../shared/vendor/ros2-jazzy/PROVENANCE.md
        ros2_ws/src/gear_seg_msgs/*/*.msg ros2_ws/src/gear_seg_msgs/*/*.srv ros2_ws/src/gear_seg_msgs/*/*.action
        ros2_ws/src/gear_seg_msgs/CMakeLists.txt ros2_ws/src/gear_seg_msgs/package.xml)
# (the interface files too: a changed .msg must rebuild gear_seg_msgs, which setup_ros.sh does when asked)
# + the names of the launch and config files (setup_ros_tools.sh links each into the venv's share/gear_seg_ros)
HASH=$({ cat "${INPUTS[@]}" 2>/dev/null; ls launch config; } | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ] && [ -x "$VENV/bin/gear-seg" ]; then
  echo "setup: $VENV is up to date"
  exit 0
fi

PYTHON=$(find_python) || { echo "setup: Python 3.11 not found; install it or set GEAR_SEG_PYTHON=/path/to/python3.11" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
# Build environments (sam2's sdist, llama-cpp-python) must see the CPU torch pin too; sam2 builds without CUDA.
export PIP_CONSTRAINT="$PWD/requirements/constraints.txt" SAM2_BUILD_CUDA=0
echo "setup: installing pinned packages into $VENV (first run: llama-cpp-python compiles, ~5 min on 2 cores)"
"${PIP[@]}" install --upgrade pip==24.3.1 2>&1 | grep -v "^WARNING: Location" || true
"${PIP[@]}" install torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
"${PIP[@]}" install -r requirements/cpu.txt 2>&1 | grep -v "^WARNING: Location" || true
"${PIP[@]}" install --no-deps -r requirements/no-deps.txt 2>&1 | grep -v "^WARNING: Location" || true
"${PIP[@]}" install --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import torch, llama_cpp, sentence_transformers, sam2, gear_seg_ros" ||
  { echo "setup: the Python packages did not install; see the pip output above" >&2; exit 1; }
bash scripts/setup_ros_tools.sh "$VENV"  # runs scripts/setup_ros.sh first
echo "$HASH" > "$STAMP"
echo "setup: done ($VENV)"
