"""sha256 of model files, cached by (real path, size, mtime) so a repeated doctor run (or node start) is quick."""
from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gear_seg_ros.export.sam2_onnx import export_digest
from gear_seg_ros.utils.hashing import sha256_of

BIG = 256 << 20  # files above this get a progress note (a few seconds per GB)


def cache_path() -> Path:
    root = os.environ.get("GEAR_SEG_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
        / "gear_seg_ros"
    return Path(root) / "sha256.json"


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _store(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sha256.")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
    except OSError:  # a read-only home: hashing still works, only uncached
        pass


def sha256_cached(path: str | Path, progress: Callable[[str], None] | None = None) -> str:
    path = Path(path).resolve()
    st = path.stat()
    key, stamp = str(path), [st.st_size, st.st_mtime_ns]
    cache_file = cache_path()
    cache = _load(cache_file)
    hit = cache.get(key)
    if isinstance(hit, list) and len(hit) == 3 and hit[:2] == stamp:
        return hit[2]
    if progress and st.st_size > BIG:
        progress(f"hashing {path} ({st.st_size / 1e9:.1f} GB; cached afterwards)...")
    t0, digest = time.monotonic(), sha256_of(path)
    if progress and st.st_size > BIG:
        progress(f"hashed {path.name} in {time.monotonic() - t0:.1f} s")
    cache = _load(cache_file)  # another process may have added entries meanwhile
    cache[key] = [*stamp, digest]
    _store(cache_file, cache)
    return digest


def export_digest_cached(folder: Path, onnx_file: str, progress=None) -> str:
    """export.sam2_onnx.export_digest with cached file hashes (same value)."""
    return export_digest(folder, onnx_file, lambda path: sha256_cached(path, progress))
