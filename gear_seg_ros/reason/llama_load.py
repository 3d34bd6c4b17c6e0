"""Loading a GGUF model with llama-cpp-python so that it runs on every CPU.

ggml's AMX matrix path crashes (SIGSEGV in llama_decode) on some Intel Xeons with AMX (ggml-org/llama.cpp issue
20824). AMX is reached through llama.cpp's "extra buffer types" (the weight repack done at load time); the model
parameter `use_extra_bufts = false` (llama.cpp's `--no-repack`) avoids it. llama-cpp-python 0.3.36's `Llama(...)` has
no keyword for it, so `RepackAwareLlama` sets the field on the params struct the moment `Llama.__init__` creates it,
before the model loads: per instance, no global patch.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

CPU_FLAGS = ("amx_tile", "amx_int8", "amx_bf16", "avx512f", "avx512_vnni", "avx2", "f16c", "fma")


@functools.cache
def cpu_features(cpuinfo: str = "/proc/cpuinfo") -> dict[str, Any]:
    """{"model": "...", "flags": {flag: bool for the flags that matter to ggml}, "amx": bool}; empty flags when
    /proc/cpuinfo cannot be read (not Linux)."""
    model, flags = "", set()
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    found = {f: f in flags for f in CPU_FLAGS}
    return {"model": model, "flags": found, "amx": found["amx_tile"]}


def repack_choice(mode: str = "auto", features: dict[str, Any] | None = None) -> tuple[bool, str]:
    """(use_extra_bufts, why) for `reasoner.llama_cpp.cpu_repack` = auto | on | off."""
    if mode == "on":
        return True, "cpu_repack: on (weight repack requested)"
    if mode == "off":
        return False, "cpu_repack: off (no weight repack)"
    if mode != "auto":
        raise ValueError(f"cpu_repack must be auto, on or off, not {mode!r}")
    features = cpu_features() if features is None else features
    if features.get("amx"):
        return False, ("cpu_repack: auto -> off: this CPU has AMX (amx_tile), whose ggml repack path crashes on "
                       "some Xeons; set reasoner.llama_cpp.cpu_repack: on to use it anyway")
    return True, "cpu_repack: auto -> on: no AMX on this CPU, the usual weight repack is safe"


def _llama_class() -> type:
    from llama_cpp import Llama

    class RepackAwareLlama(Llama):
        """`Llama` whose model params get `use_extra_bufts` before the model loads."""

        def __init__(self, *args: Any, use_extra_bufts: bool = True, **kwargs: Any) -> None:
            self._use_extra_bufts = bool(use_extra_bufts)
            super().__init__(*args, **kwargs)

        @property
        def model_params(self) -> Any:
            return self.__dict__["_model_params"]

        @model_params.setter
        def model_params(self, params: Any) -> None:
            # Llama.__init__ assigns llama_model_default_params() here, then fills the other fields and loads the
            # model with this very struct: setting the field now is what `--no-repack` does in llama.cpp's CLI.
            if "use_extra_bufts" not in {name for name, *_ in type(params)._fields_}:
                # A ctypes struct would silently take an unknown attribute: refuse rather than pretend.
                raise RuntimeError("this llama-cpp-python has no llama_model_params.use_extra_bufts; install the "
                                   "pinned version (requirements/cpu.txt)")
            params.use_extra_bufts = self._use_extra_bufts
            self.__dict__["_model_params"] = params

    return RepackAwareLlama


@functools.cache
def llama_class() -> type:
    return _llama_class()


def load_llama(model_path: str, cpu_repack: str = "auto", **kwargs: Any) -> Any:
    """A llama_cpp.Llama for `model_path` with the repack choice applied; kwargs go to Llama(...)."""
    use_extra_bufts, _why = repack_choice(cpu_repack)
    return llama_class()(model_path=str(model_path), use_extra_bufts=use_extra_bufts, **kwargs)
