"""ONNX Runtime sessions with a checked provider list (CPU, CUDA, TensorRT execution providers)."""
from __future__ import annotations

import logging
from pathlib import Path

from gear_seg_ros.errors import BackendUnavailableError

log = logging.getLogger(__name__)

PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
}


def normalize_providers(names: list[str]) -> list[str]:
    return [PROVIDER_ALIASES.get(n.lower(), n) for n in names]


def import_onnxruntime(what: str):
    try:
        import onnxruntime as ort
    except ImportError:
        raise BackendUnavailableError(
            f"{what} needs onnxruntime (pip install onnxruntime, or onnxruntime-gpu for the CUDA / TensorRT "
            "providers)") from None
    return ort


def provider_list(ort, names: list[str], config_key: str, trt_cache_dir: Path | None = None,
                  trt_profile: dict[str, str] | None = None) -> list:
    """The configured providers that this onnxruntime offers, with TensorRT options; an error if none is left.

    trt_profile: {"min": "name:1x1x2,...", "opt": ..., "max": ...} for the dynamic inputs (TensorRT provider only).
    """
    wanted = normalize_providers(names or ["CPUExecutionProvider"])
    available = set(ort.get_available_providers())
    missing = [p for p in wanted if p not in available]
    chosen = [p for p in wanted if p in available]
    if missing:
        log.warning("onnxruntime providers not available here: %s (available: %s); using %s",
                    missing, sorted(available), chosen or "none")
    if not chosen:
        raise BackendUnavailableError(
            f"none of the configured onnxruntime providers {wanted} is available (this onnxruntime offers "
            f"{sorted(available)}); install onnxruntime-gpu for CUDA / TensorRT or set "
            f"{config_key}: [CPUExecutionProvider]")
    out: list = []
    for p in chosen:
        if p == "TensorrtExecutionProvider":
            options: dict = {"trt_fp16_enable": True}
            if trt_cache_dir is not None:
                trt_cache_dir.mkdir(parents=True, exist_ok=True)
                options.update(trt_engine_cache_enable=True, trt_engine_cache_path=str(trt_cache_dir))
            for level, shapes in (trt_profile or {}).items():
                options[f"trt_profile_{level}_shapes"] = shapes
            out.append((p, options))
        else:
            out.append(p)
    return out


def open_session(ort, path: Path, providers: list):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=providers)
