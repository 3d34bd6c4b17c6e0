"""sha256 of files: the one implementation (models/fetch.py, the exports' metadata, the doctor's cached check), and
the git blob sha1 that Hugging Face publishes (as the ETag) for the small files it keeps in git, not in LFS.

Standard library only: models/fetch.py imports it before the package's dependencies are known to be installed.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def git_blob_sha1(path: str | Path) -> str:
    """`git hash-object FILE`: sha1 of b"blob <size>\\0" + the bytes (Hugging Face's ETag of a non-LFS file)."""
    path = Path(path)
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
