#!/usr/bin/env python3
"""Downloads model weights listed in models/manifest.yaml into models/weights/ and verifies their sha256.

For real deployments only: the agent itself never downloads anything; it reads local paths from its config.
Usage: python models/fetch.py NAME [NAME ...] [--dest DIR] [--list] [--trust-on-first-use]
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import urllib.request
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def entries(model: dict) -> list[dict]:
    """A model is one file (file/url/sha256) or a folder of files (files: [...])."""
    if "files" in model:
        return [{**f, "dest": Path(model["name"]) / f["file"]} for f in model["files"]]
    return [{"file": model["file"], "url": model["url"], "sha256": model.get("sha256"), "dest": Path(model["file"])}]


def fetch_file(item: dict, dest_dir: Path, trust_on_first_use: bool) -> bool:
    target = dest_dir / item["dest"]
    expected = item.get("sha256")
    if target.exists() and expected and sha256_of(target) == expected:
        print(f"ok (already present): {target}")
        return True
    if not item.get("url"):
        print(f"error: no download URL for {item['file']} in the manifest", file=sys.stderr)
        return False
    if not expected and not trust_on_first_use:
        print(f"error: the manifest has no sha256 for {item['file']}; re-run with --trust-on-first-use to record "
              f"the hash of what is downloaded", file=sys.stderr)
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    print(f"downloading {item['url']} -> {target}")
    with urllib.request.urlopen(item["url"]) as response, partial.open("wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    actual = sha256_of(partial)
    if expected and actual != expected:
        partial.unlink()
        print(f"error: sha256 mismatch for {item['file']}: expected {expected}, got {actual}", file=sys.stderr)
        return False
    partial.replace(target)
    print(f"ok: {target} sha256={actual}" + ("" if expected else "  (recorded on first use: add it to the manifest)"))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--manifest", default=str(HERE / "manifest.yaml"))
    parser.add_argument("--dest", default=str(HERE / "weights"))
    parser.add_argument("--list", action="store_true", help="list the models in the manifest")
    parser.add_argument("--trust-on-first-use", action="store_true",
                        help="accept files whose sha256 the manifest does not know yet (prints it)")
    args = parser.parse_args(argv)
    models = {m["name"]: m for m in yaml.safe_load(Path(args.manifest).read_text())["models"]}
    if args.list or not args.names:
        for m in models.values():
            print(f"{m['name']:<28} {m.get('license', '?'):<28} {m.get('notes', '')}")
        return 0
    by_lower = {name.lower(): name for name in models}
    args.names = [by_lower.get(n.lower(), n) for n in args.names]
    unknown = [n for n in args.names if n not in models]
    if unknown:
        print(f"error: unknown model(s) {unknown}; known: {sorted(models)}", file=sys.stderr)
        return 2
    ok = all(fetch_file(item, Path(args.dest), args.trust_on_first_use)
             for name in args.names for item in entries(models[name]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
