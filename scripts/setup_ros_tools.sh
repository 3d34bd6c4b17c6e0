#!/usr/bin/env bash
# Put the ROS 2 tools a robot user types (`ros2 launch`, `ros2 run`, `ros2 service`, `ros2 topic`, `ros2 param`,
# `ros2 lifecycle`, `ros2 action`, ...) plus message_filters, composition_interfaces and vision_msgs into a venv,
# and install gear_seg_ros into that venv's ament index, so that with nothing sourced
#
#   VENV/bin/ros2 launch gear_seg_ros agent.launch.py ...      and      VENV/bin/ros2 run gear_seg_ros gear_seg_agent
#
# work. Usage: scripts/setup_ros_tools.sh VENV_DIR   (a Python 3.11-3.13 venv; `make setup` calls it for .venv)
#
# - Runs scripts/setup_ros.sh VENV first (the pip ROS 2 Jazzy runtime + gear_seg_msgs; a no-op when up to date).
# - A machine with a ROS 2 installation that provides `ros2 launch` (/opt/ros/<distro>, or one on AMENT_PREFIX_PATH)
#   keeps using it: nothing is installed, the script says how to use it.
# - The tools are upstream Jazzy source in ../shared/vendor/ros2-jazzy (GEAR_SEG_ROS2_VENDOR overrides the path),
#   copied into VENV/build first (the vendor folder is read-only in CI), installed with `pip install --no-deps`;
#   their PyPI dependencies are pinned in requirements/ros-tools.txt. composition_interfaces and vision_msgs are
#   built with cmake exactly like gear_seg_msgs (scripts/lib/ros_build.sh). Without the vendor folder the script
#   says how to get ROS 2 and exits 0 (the tests that need the tools skip, saying why).
# - gear_seg_ros goes into the ament index as links to this checkout's files (edits are live, like `pip install -e`):
#   share/ament_index/resource_index/packages/gear_seg_ros, share/gear_seg_ros/{package.xml,launch,config},
#   lib/gear_seg_ros/gear_seg_agent (runs gear_seg_ros.ros.agent_node with VENV's python).
# - VENV/lib/pythonX.Y/site-packages/gear_seg_ament_prefix.pth puts VENV on AMENT_PREFIX_PATH for every python of
#   the venv (ros2, launch, the node), so `ros2 launch` finds the packages without `source`.
# Re-runs take a second while nothing changed (stamp: VENV/.ros_tools.stamp).
set -euo pipefail

die() { echo "setup_ros_tools.sh: error: $*" >&2; exit 1; }
say() { echo "setup_ros_tools.sh: $*"; }

[[ $# -eq 1 ]] || die "usage: scripts/setup_ros_tools.sh VENV_DIR (an existing Python 3.11-3.13 venv)"
[[ -d $1 ]] || die "venv '$1' does not exist; create it first: python3.11 -m venv $1"
VENV=$(cd "$1" && pwd)
PY=$VENV/bin/python
[[ -x $PY ]] || die "$PY not found: '$VENV' is not a venv"
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE  # see setup_ros.sh: never inherit another venv's bootstrap state

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENDOR=${GEAR_SEG_ROS2_VENDOR:-$REPO/../shared/vendor/ros2-jazzy}
STAMP=$VENV/.ros_tools.stamp
HOW_TO_GET_ROS2="get ROS 2 Jazzy's tools one of two ways:
  - on Ubuntu 24.04 (a robot): apt install ros-jazzy-ros-base ros-jazzy-vision-msgs, source /opt/ros/jazzy/setup.bash,
    then colcon build this repo (README, 'Running the node');
  - in this venv: put the upstream sources beside the repo as ../shared/vendor/ros2-jazzy (or point
    GEAR_SEG_ROS2_VENDOR at them) and run: bash scripts/setup_ros_tools.sh $VENV"

system_ros2() {  # prints the prefix of a ROS 2 installation that has ros2launch, if any
  local prefix
  local -a prefixes
  IFS=: read -r -a prefixes <<<"${AMENT_PREFIX_PATH:-}"
  for prefix in "${prefixes[@]}" /opt/ros/*; do
    [[ -n $prefix && $prefix != "$VENV" && -d $prefix/share/ros2launch ]] && { echo "$prefix"; return 0; }
  done
  return 1
}

if prefix=$(system_ros2); then
  say "ROS 2 with 'ros2 launch' is installed at $prefix: using it, nothing installed into $VENV."
  say "  source $prefix/setup.bash, then colcon build this repo (README, 'Running the node')"
  exit 0
fi
if [[ ! -f $VENDOR/PROVENANCE.md ]]; then
  say "ROS 2 tools NOT installed: no ROS 2 installation and no $VENDOR."
  say "$HOW_TO_GET_ROS2"
  say "(the node itself runs without them; the tests that need 'ros2' / message_filters / vision_msgs skip)"
  exit 0
fi

bash "$REPO/scripts/setup_ros.sh" "$VENV"

pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# Pure-Python packages, in dependency order (folders of the vendor tree holding a setup.py).
PACKAGES=(launch/launch launch/launch_xml launch/launch_yaml launch_ros/launch_ros launch_ros/ros2launch
  rosidl_runtime_py ros2cli/ros2cli ros2cli/ros2run ros2cli/ros2pkg ros2cli/ros2topic ros2cli/ros2service
  ros2cli/ros2param ros2cli/ros2node ros2cli/ros2lifecycle ros2cli/ros2action ros2cli/ros2interface message_filters)
INTERFACES=(rcl_interfaces/composition_interfaces vision_msgs/vision_msgs)

install_project() {  # gear_seg_ros in VENV's ament index (cheap, idempotent: done on every run)
  local share=$VENV/share/gear_seg_ros lib=$VENV/lib/gear_seg_ros
  mkdir -p "$VENV/share/ament_index/resource_index/packages" "$share" "$lib"
  : >"$VENV/share/ament_index/resource_index/packages/gear_seg_ros"
  ln -sfn "$REPO/package.xml" "$share/package.xml"
  # one link per file, as colcon's --symlink-install does: ros2 launch searches share/ with os.walk, which does not
  # enter a linked folder
  rm -rf "$share/launch" "$share/config"
  mkdir -p "$share/launch" "$share/config"
  ln -sf "$REPO"/launch/*.launch.py "$share/launch/"
  ln -sf "$REPO"/config/*.yaml "$REPO"/config/*.xml "$share/config/"
  cat >"$lib/gear_seg_agent.tmp" <<EOF
#!$PY
# Written by scripts/setup_ros_tools.sh: what 'ros2 run gear_seg_ros gear_seg_agent' and launch_ros start.
import sys

from gear_seg_ros.ros.agent_node import main

sys.exit(main())
EOF
  chmod 755 "$lib/gear_seg_agent.tmp"
  mv -f "$lib/gear_seg_agent.tmp" "$lib/gear_seg_agent"
  # .pth lines starting with "import" run at interpreter start-up: VENV first on AMENT_PREFIX_PATH, once.
  cat >"$SITE/gear_seg_ament_prefix.pth" <<'EOF'
import os, sys; _p = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]; sys.prefix in _p or os.environ.__setitem__("AMENT_PREFIX_PATH", os.pathsep.join([sys.prefix, *_p]))
EOF
  (cd / && "$PY" -c 'import gear_seg_ros' 2>/dev/null) ||
    say "warning: gear_seg_ros does not import in $VENV; install it there (pip install -e $REPO) before 'ros2 launch'"
}

stamp_hash() {
  {
    printf '%s\n' "$pyver" "$VENDOR" "${PACKAGES[@]}" "${INTERFACES[@]}"
    cat "$REPO/requirements/ros-tools.txt" "${BASH_SOURCE[0]}" "$REPO/scripts/lib/ros_build.sh"
    (cd "$VENDOR" && find . -type f ! -path '*/.git/*' | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -d' ' -f1
}

import_check='import launch, launch_ros, ros2cli, ros2launch, rosidl_runtime_py, message_filters
import composition_interfaces.srv, vision_msgs.msg'
want=$(stamp_hash)
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]] && "$PY" -c "$import_check" 2>/dev/null; then
  install_project
  say "$VENV is up to date (ros2 CLI + launch from $VENDOR; gear_seg_ros in its ament index)"
  exit 0
fi

SRC=$VENV/build/ros2-jazzy-src
say "copying $VENDOR to $SRC (the vendor folder may be read-only)"
rm -rf "$SRC"
mkdir -p "$(dirname "$SRC")"
cp -R "$VENDOR" "$SRC"
chmod -R u+w "$SRC"

say "installing the pinned PyPI dependencies (requirements/ros-tools.txt) into $VENV"
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps -r "$REPO/requirements/ros-tools.txt" \
  || die "pip install -r requirements/ros-tools.txt failed (see above)"
say "installing launch, launch_ros, ros2cli (+ verbs), rosidl_runtime_py, message_filters (pip --no-deps)"
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
  "${PACKAGES[@]/#/$SRC/}" || die "pip install of the vendored ROS 2 tools failed (see above)"

# shellcheck source=lib/ros_build.sh
source "$REPO/scripts/lib/ros_build.sh"
for pkg in "${INTERFACES[@]}"; do
  name=$(basename "$pkg")
  say "building $name with cmake (log: $VENV/build/$name/build.log)"
  build_interface_package "$name" "$SRC/$pkg" "$VENV" || die "building $name failed"
done

"$PY" -c "$import_check" || die "the ROS 2 tools were installed but do not import in $VENV"
install_project
echo "$want" >"$STAMP"
say "done: $VENV/bin/ros2 launch gear_seg_ros agent.launch.py ... works with nothing sourced"
