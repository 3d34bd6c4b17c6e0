"""Backends are named in the config and imported only when chosen, so a CPU machine never imports CUDA packages."""
from __future__ import annotations

import importlib
from typing import Any

from gear_seg_ros.errors import BackendUnavailableError, ConfigError


def load_backend(kind: str, registry: dict[str, str], name: str) -> type:
    if name not in registry:
        raise ConfigError(f"unknown {kind} backend {name!r}; choose one of {sorted(registry)}")
    module_name, class_name = registry[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the {kind} backend {name!r} needs a package that is not installed ({exc.name or exc}); "
            f"install it (see docs/gpu.md, 'GPU environment') or choose another {kind}.backend") from None
    return getattr(module, class_name)


def build(kind: str, registry: dict[str, str], name: str, *args: Any, **kwargs: Any) -> Any:
    return load_backend(kind, registry, name)(*args, **kwargs)
