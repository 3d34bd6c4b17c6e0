"""How llama.cpp was built (CUDA, CPU features such as AMX) against what the config and the CPU need."""
from __future__ import annotations

import importlib
from pathlib import Path

from gear_seg_ros.doctor.core import FAIL, OK, SKIP, WARN, Check, Context
from gear_seg_ros.reason.settings import LlamaCppReasonerConfig

VERSION = "0.3.36"
CUDA_BUILD = (f'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir '
              f"llama-cpp-python=={VERSION}")
NO_AMX_BUILD = ('CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=ON -DGGML_AMX_TILE=OFF '
                f'-DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" pip install --force-reinstall --no-cache-dir '
                f"llama-cpp-python=={VERSION}")


def parse_system_info(text: str) -> dict[str, dict[str, str]]:
    """`CPU : SSE3 = 1 | AVX2 = 1 | ... | CUDA : ARCHS = 890 | ...` -> {"CPU": {"SSE3": "1", ...}, "CUDA": {...}}."""
    out: dict[str, dict[str, str]] = {}
    backend = "?"
    for token in (t.strip() for t in text.split("|")):
        if " : " in token:
            backend, token = (s.strip() for s in token.split(" : ", 1))
        if "=" in token:
            key, value = (s.strip() for s in token.split("=", 1))
            out.setdefault(backend, {})[key] = value
    return out


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def amx_repack_setting(cfg: LlamaCppReasonerConfig) -> tuple[str, object] | None:
    """HOOK: the config key that turns llama.cpp's AMX weight repack on or off (issue 13, another branch adds it).
    Any reasoner.llama_cpp field named for AMX / repack / extra buffer types is shown; None until it exists."""
    for name in type(cfg).model_fields:
        if any(word in name for word in ("amx", "repack", "extra_buft")):
            return f"reasoner.llama_cpp.{name}", getattr(cfg, name)
    return None


def checks(ctx: Context) -> list[Check]:
    if ctx.cfg.reasoner.backend != "llama_cpp":
        return []
    cfg = ctx.cfg.reasoner.llama_cpp
    try:
        llama_cpp = importlib.import_module("llama_cpp")
        info = llama_cpp.llama_print_system_info()
        info = info.decode() if isinstance(info, bytes) else str(info)
        gpu_offload = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception as exc:  # noqa: BLE001 - reported by the backend row already
        return [Check("llama.cpp", "llama.cpp build", SKIP, f"llama_cpp not usable ({exc}); see the reasoner row")]
    features = parse_system_info(info)
    cpu = features.get("CPU", {})
    on = sorted(k for k, v in cpu.items() if v == "1")
    gpus = sorted(b for b in features if b not in ("CPU", "?"))
    detail = (f"llama-cpp-python {llama_cpp.__version__}; GPU offload: {'yes (' + ', '.join(gpus) + ')' if gpu_offload else 'no'}; "
              f"CPU features: {' '.join(on) or 'none reported'}")
    rows = []
    if cfg.n_gpu_layers != 0 and not gpu_offload:
        rows.append(Check("llama.cpp", "llama.cpp build", FAIL, detail + f"; reasoner.llama_cpp.n_gpu_layers="
                                                                          f"{cfg.n_gpu_layers} needs a CUDA build",
                          CUDA_BUILD + " (or reasoner.llama_cpp.n_gpu_layers: 0)"))
    else:
        rows.append(Check("llama.cpp", "llama.cpp build", OK, detail))
    rows.append(_amx_row(cpu, cfg))
    return rows


def _amx_row(cpu: dict[str, str], cfg: LlamaCppReasonerConfig) -> Check:
    flags = cpu_flags()
    cpu_amx = sorted(f for f in flags if f.startswith("amx"))
    build_amx = sorted(k for k, v in cpu.items() if k.startswith("AMX") and v == "1")
    setting = amx_repack_setting(cfg)
    detail = (f"CPU AMX flags: {' '.join(cpu_amx) or 'none'} (/proc/cpuinfo); build AMX: "
              f"{' '.join(build_amx) or 'none'}; ")
    if setting is not None:
        detail += f"{setting[0]}={setting[1]!r}"
    else:
        detail += "no config key for the AMX repack in this version"
    if not (cpu_amx and build_amx):
        return Check("llama.cpp", "CPU AMX", OK, detail + "; AMX repack not in use")
    if setting is not None and not setting[1]:
        return Check("llama.cpp", "CPU AMX", OK, detail + "; AMX repack off")
    return Check("llama.cpp", "CPU AMX", WARN, detail + "; AMX weight repack in use: llama.cpp's AMX path is known to "
                                                        "segfault on some CPUs (ggml-org/llama.cpp#20824)",
                 (f"set {setting[0]}: false, or " if setting else "") + "rebuild without AMX: " + NO_AMX_BUILD)
