# Sourced by scripts/setup_ros.sh and scripts/setup_ros_tools.sh (not run on its own).
#
#   build_interface_package NAME SRC_DIR VENV
#
# Builds one ament_cmake interface package (.msg/.srv/.action) with plain cmake against the pip-installed rosidl
# toolchain in VENV and installs it into VENV (its Python package lands in VENV's site-packages, its ament index
# entry in VENV/share). Log: VENV/build/NAME/build.log; on failure its tail is printed and 1 returned.
build_interface_package() {
  local name=$1 src=$2 venv=$3
  local build=$venv/build/$name
  mkdir -p "$build"
  if ! (
    export PATH="$venv/bin:$PATH" AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv"
    cmake -S "$src" -B "$build" -DCMAKE_PREFIX_PATH="$venv" -DCMAKE_INSTALL_PREFIX="$venv" \
      -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release
    cmake --build "$build" -j "$(nproc)"
    cmake --install "$build"
  ) >"$build/build.log" 2>&1; then
    tail -n 40 "$build/build.log" >&2
    echo "building $name failed; full log: $build/build.log" >&2
    return 1
  fi
}
