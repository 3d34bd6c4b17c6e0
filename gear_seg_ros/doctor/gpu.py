"""NVIDIA driver, CUDA torch, onnxruntime's GPU providers and TensorRT, checked only where the config needs them."""
from __future__ import annotations

import importlib
import subprocess

from gear_seg_ros.config import AgentConfig
from gear_seg_ros.doctor.backends import GPU_LOCK
from gear_seg_ros.doctor.core import FAIL, OK, SKIP, WARN, Check, Context

GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")
TRT_INSTALL = ("pip install -r requirements/gpu.txt (tensorrt-cu13 10.16, from pypi.nvidia.com); JetPack ships it on "
               "a Jetson")
DRIVER_FIX = ("install an NVIDIA driver >= 580 (CUDA 13, requirements/gpu.txt); in Docker run with --gpus all "
              "(x86) or --runtime nvidia (Jetson); or use config/cpu.yaml")
# This project's machines have no GPU: only the "absent" answers of these checks have run there.
NOT_RUN_NOTE = "TensorRT paths not yet run on a GPU by this project (README, 'Not yet verified')"


def needs(cfg: AgentConfig) -> dict[str, list[str]]:
    """What needs CUDA: {"cuda": [reasons], "torch_cuda": [...], "ort_gpu": [...], "tensorrt": [...]}."""
    out: dict[str, list[str]] = {"cuda": [], "torch_cuda": [], "ort_gpu": [], "tensorrt": []}

    def add(reason: str, *kinds: str) -> None:
        for kind in ("cuda", *kinds):
            out[kind].append(reason)

    seg, desc, rsn = cfg.segmenter, cfg.describer, cfg.reasoner
    if seg.backend == "sam2" and seg.sam2.device.startswith("cuda"):
        add(f"segmenter.sam2.device={seg.sam2.device}", "torch_cuda")
    if seg.backend == "onnx_sam2":
        o = seg.onnx_sam2
        if o.runtime == "tensorrt":
            add("segmenter.onnx_sam2.runtime=tensorrt", "tensorrt", "torch_cuda")
        else:
            from gear_seg_ros.runtime.ort_session import normalize_providers

            gpu = [p for p in normalize_providers(o.providers) if p in GPU_PROVIDERS]
            if gpu:
                add(f"segmenter.onnx_sam2.providers={gpu}", "ort_gpu")
            if o.postprocess == "torch" and gpu:
                out["torch_cuda"].append("segmenter.onnx_sam2.postprocess=torch")
    if desc.backend == "dam":
        add("describer.backend=dam (DAM runs on CUDA only)", "torch_cuda")
        if desc.dam.vision.model_dir and desc.dam.vision.runtime == "tensorrt":
            add("describer.dam.vision.runtime=tensorrt", "tensorrt")
    if rsn.backend == "embedding" and rsn.embedding.device.startswith("cuda"):
        add(f"reasoner.embedding.device={rsn.embedding.device}", "torch_cuda")
    if rsn.backend == "llama_cpp" and rsn.llama_cpp.n_gpu_layers != 0:
        add(f"reasoner.llama_cpp.n_gpu_layers={rsn.llama_cpp.n_gpu_layers}")
    return out


def nvidia_smi() -> tuple[str, str] | None:
    """(GPU name, driver version) of GPU 0, or None without a driver."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=15, check=True)
        name, driver = (s.strip() for s in out.stdout.strip().splitlines()[0].split(","))
        return name, driver
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def checks(ctx: Context) -> list[Check]:
    need = needs(ctx.cfg)
    if not need["cuda"]:
        return [Check("gpu", "CUDA", SKIP, "this config runs on the CPU only")]
    why = ", ".join(need["cuda"])
    rows = []
    smi = nvidia_smi()
    if smi is None:
        rows.append(Check("gpu", "NVIDIA driver", FAIL, f"no NVIDIA driver (nvidia-smi missing or failing); needed by "
                                                        f"{why}", DRIVER_FIX))
    else:
        rows.append(Check("gpu", "NVIDIA driver", OK, f"{smi[0]}, driver {smi[1]}"))
    if need["torch_cuda"]:
        rows.append(_torch_row(", ".join(need["torch_cuda"])))
    if need["ort_gpu"]:
        rows.append(_ort_row(ctx.cfg, ", ".join(need["ort_gpu"])))
    if need["tensorrt"]:
        rows.append(tensorrt_row(", ".join(need["tensorrt"])))
    return rows


def _torch_row(why: str) -> Check:
    try:
        torch = importlib.import_module("torch")
    except Exception as exc:  # noqa: BLE001
        return Check("gpu", "CUDA torch", FAIL, f"torch does not import ({exc}); needed by {why}", GPU_LOCK)
    if torch.version.cuda is None:
        return Check("gpu", "CUDA torch", FAIL, f"torch {torch.__version__} is a CPU-only build; {why} needs CUDA "
                                                "torch", GPU_LOCK)
    if not torch.cuda.is_available():
        return Check("gpu", "CUDA torch", FAIL, f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU; "
                                                f"needed by {why}", DRIVER_FIX)
    return Check("gpu", "CUDA torch", OK, f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
                                          f"{torch.cuda.get_device_name(0)}")


def _ort_row(cfg: AgentConfig, why: str) -> Check:
    from gear_seg_ros.runtime.ort_session import normalize_providers

    try:
        ort = importlib.import_module("onnxruntime")
    except Exception as exc:  # noqa: BLE001
        return Check("gpu", "onnxruntime GPU providers", FAIL, f"onnxruntime does not import ({exc})", GPU_LOCK)
    available = ort.get_available_providers()
    wanted = normalize_providers(cfg.segmenter.onnx_sam2.providers)
    chosen = [p for p in wanted if p in available]
    missing = [p for p in wanted if p not in available]
    detail = f"onnxruntime {ort.__version__} offers {available}; configured {wanted} ({why})"
    if not chosen:
        return Check("gpu", "onnxruntime GPU providers", FAIL, detail + ": none available",
                     "pip install onnxruntime-gpu (requirements/gpu.txt) or set segmenter.onnx_sam2.providers: "
                     "[CPUExecutionProvider]")
    if missing:
        return Check("gpu", "onnxruntime GPU providers", WARN, detail + f": {missing} missing, runs on {chosen}",
                     "pip install onnxruntime-gpu (requirements/gpu.txt)")
    return Check("gpu", "onnxruntime GPU providers", OK, detail)


def tensorrt_row(why: str) -> Check:
    try:
        trt = importlib.import_module("tensorrt")
    except Exception as exc:  # noqa: BLE001
        return Check("gpu", "TensorRT", FAIL, f"the tensorrt package does not import ({type(exc).__name__}); needed "
                                              f"by {why}", TRT_INSTALL)
    major = int(str(trt.__version__).split(".")[0])
    if major >= 11:
        return Check("gpu", "TensorRT", WARN, f"TensorRT {trt.__version__}: FP16 engine builds need 10.x", TRT_INSTALL)
    return Check("gpu", "TensorRT", OK, f"TensorRT {trt.__version__} ({NOT_RUN_NOTE})")
