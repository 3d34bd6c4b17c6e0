"""sha256 of files: the one implementation (models/fetch.py, the exports' metadata, the doctor's cached check).

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

