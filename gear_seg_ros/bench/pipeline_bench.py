"""Per-stage latency (median, p90) and peak memory of the agent over several frames for one config."""
from __future__ import annotations

import resource
import time

import numpy as np

from gear_seg_ros.agent import GearSegAgent
from gear_seg_ros.config import AgentConfig


def run(config: AgentConfig, images: list[np.ndarray], instruction: str, mode: str, queries_per_frame: int = 2) -> dict:
    t0 = time.perf_counter()
    agent = GearSegAgent(config).load()
    load_s = time.perf_counter() - t0
    stages: dict[str, list[float]] = {}
    masks = []
    for k, image in enumerate(images):
        for q in range(queries_per_frame):
            result = agent.segment(image, instruction, mode, frame_id=f"bench-{k}")
            prefix = "first_query" if q == 0 else "cached_query"
            for key, value in result.timings.items():
                if q == 0 or key in ("reason_s", "total_s"):
                    stages.setdefault(f"{prefix}.{key}" if key in ("reason_s", "total_s") else key, []).append(value)
        masks.append(len(agent.get_perception(f"bench-{k}").masks))
    summary = {name: {"median_s": float(np.median(v)), "p90_s": float(np.percentile(v, 90)), "n": len(v)}
               for name, v in stages.items()}
    return {
        **gpu_memory(),
        "backends": {"segmenter": config.segmenter.backend, "describer": config.describer.backend,
                     "reasoner": config.reasoner.backend},
        "frames": len(images), "masks_per_frame": masks, "model_load_s": load_s, "stages": summary,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def gpu_memory() -> dict:
    """Peak memory torch allocated on GPU 0 and the memory in use there now (nvidia-smi: llama.cpp and TensorRT
    allocate outside torch); empty on a machine without a CUDA GPU."""
    import subprocess

    out: dict = {}
    try:
        import torch

        if torch.cuda.is_available():
            out["gpu"] = torch.cuda.get_device_name(0)
            out["gpu_torch_peak_mb"] = torch.cuda.max_memory_allocated(0) / 2**20
    except ImportError:
        pass
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
                             capture_output=True, text=True, timeout=10, check=True)
        out["gpu_memory_used_mb"] = float(smi.stdout.strip().splitlines()[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        pass
    return out
