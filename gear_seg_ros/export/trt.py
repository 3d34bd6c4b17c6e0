"""Build TensorRT engines from the SAM 2 ONNX export (`gear-seg export trt`).

UNTESTED HERE: this needs an NVIDIA GPU and the `tensorrt` Python package (pip install tensorrt-cu12, matching the
CUDA driver), neither of which exists on the CPU machines this project is developed on. The code follows the
TensorRT 8.6 / 10.x Python API (Builder, OnnxParser, optimisation profile, build_serialized_network); check it on a
GPU before relying on it. On CPU-only machines it raises BackendUnavailableError with a clear message.

- The image encoder has static shapes (1 x 3 x S x S).
- The prompt decoder gets one optimisation profile over the dynamic prompt batch (min / opt / max prompts) and the
  number of points per prompt (1 .. max_points; the automatic generator uses 1).
- Engines are specific to a GPU model and a TensorRT version: the file name carries the GPU name, the TensorRT
  version, the first 16 hex digits of the ONNX file's sha256, the precision and the batch range, so a cached
  engine is re-used only when all of them match (and rebuilt otherwise).

The `onnx_sam2` segmenter can also use TensorRT without this step, through onnxruntime-gpu's
TensorrtExecutionProvider (providers: [TensorrtExecutionProvider, CUDAExecutionProvider]), which caches its own
engines under <model_dir>/trt_cache.
"""
from __future__ import annotations

import json
import logging
import re
import subprocess
import time
from pathlib import Path
from typing import Optional

from gear_seg_ros.errors import BackendUnavailableError, GearSegError, ModelNotFoundError

log = logging.getLogger(__name__)


def _import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError:
        raise BackendUnavailableError(
            "building TensorRT engines needs the `tensorrt` Python package and an NVIDIA GPU (pip install "
            "tensorrt-cu12 on a CUDA 12 machine); on a CPU-only machine use the ONNX files with onnxruntime "
            "(segmenter.backend: onnx_sam2)") from None
    return trt


def gpu_name() -> str:
    """Name of GPU 0 (torch if importable, else nvidia-smi), or 'unknown-gpu'."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001 - torch missing or broken: fall back to nvidia-smi
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10, check=True)
        name = out.stdout.strip().splitlines()[0].strip()
        if name:
            return name
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return "unknown-gpu"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()


def engine_name(onnx_file: str, sha256: str, gpu: str, trt_version: str, fp16: bool,
                batch: Optional[tuple[int, int, int]] = None) -> str:
    stem = Path(onnx_file).stem
    parts = [stem, slug(gpu), f"trt{trt_version}", sha256[:16], "fp16" if fp16 else "fp32"]
    if batch:
        parts.append("b{}-{}-{}".format(*batch))
    return ".".join(parts) + ".engine"


def _build_one(trt, onnx_path: Path, engine_path: Path, fp16: bool, workspace_gb: float,
               profile_shapes: Optional[dict[str, tuple[tuple, tuple, tuple]]]) -> None:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise GearSegError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if fp16:
        if not getattr(builder, "platform_has_fast_fp16", True):
            log.warning("this GPU has no fast FP16; building %s in FP16 anyway", engine_path.name)
        config.set_flag(trt.BuilderFlag.FP16)
    if profile_shapes:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in profile_shapes.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise GearSegError(f"TensorRT failed to build an engine from {onnx_path} (see the TensorRT log above)")
    engine_path.write_bytes(bytes(serialized))
    log.info("built %s in %.0f s", engine_path, time.perf_counter() - t0)


def build_engines(onnx_dir: str | Path, out_dir: str | Path | None = None, fp16: bool = True,
                  workspace_gb: float = 4.0, min_prompts: int = 1, opt_prompts: int = 256,
                  max_prompts: int = 1024, max_points: int = 4, force: bool = False) -> dict:
    """Build (or re-use cached) encoder and decoder engines; returns {"encoder": path, "decoder": path, ...}."""
    from gear_seg_ros.export.sam2_onnx import read_metadata, sha256_of

    if not (1 <= min_prompts <= opt_prompts <= max_prompts):
        raise GearSegError(f"need 1 <= min_prompts <= opt_prompts <= max_prompts, got "
                           f"{min_prompts}, {opt_prompts}, {max_prompts}")
    onnx_dir = Path(onnx_dir)
    meta = read_metadata(onnx_dir)  # ModelNotFoundError with the export command when missing
    trt = _import_tensorrt()
    out = Path(out_dir) if out_dir else onnx_dir / "engines"
    out.mkdir(parents=True, exist_ok=True)
    gpu = gpu_name()
    result: dict = {"gpu": gpu, "tensorrt": trt.__version__, "fp16": fp16,
                    "prompt_batch": [min_prompts, opt_prompts, max_prompts]}
    for part in ("encoder", "decoder"):
        onnx_path = onnx_dir / meta[part]["file"]
        if not onnx_path.is_file():
            raise ModelNotFoundError(f"{onnx_path} is missing; re-run `gear-seg export sam2 --out {onnx_dir}`")
        digest = sha256_of(onnx_path)
        if digest != meta[part].get("sha256"):
            log.warning("%s does not match the sha256 in metadata.json (edited after export?)", onnx_path)
        if part == "encoder":
            batch, shapes = None, None
        else:
            batch = (min_prompts, opt_prompts, max_prompts)
            # image features have static shapes in the ONNX graph; only the prompt inputs are dynamic
            shapes = {}
            shapes["point_coords"] = ((min_prompts, 1, 2), (opt_prompts, 1, 2), (max_prompts, max_points, 2))
            shapes["point_labels"] = ((min_prompts, 1), (opt_prompts, 1), (max_prompts, max_points))
        engine = out / engine_name(onnx_path.name, digest, gpu, trt.__version__, fp16, batch)
        if engine.is_file() and not force:
            log.info("re-using cached engine %s", engine)
        else:
            _build_one(trt, onnx_path, engine, fp16, workspace_gb, shapes)
        result[part] = str(engine)
    (out / "engines.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
