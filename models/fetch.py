#!/usr/bin/env python3
"""Downloads model weights listed in models/manifest.yaml into models/weights/ and verifies their sha256.

For real deployments only: the agent itself never downloads anything; it reads local paths from its config.
Usage: python models/fetch.py NAME [NAME ...] [--dest DIR] [--list] [--trust-on-first-use] [--timeout S] [--clean]

Each file is checked against the manifest's sha256; where the manifest has none, against the hash its host publishes
(Hugging Face answers a HEAD request on a resolve URL with the LFS object's sha256, `X-Linked-Etag`, or for a small
file kept in git its blob sha1, `ETag`); only where neither exists does it need --trust-on-first-use. Every model
named is tried, and each one's result is reported before the exit code (1 when any failed).

Downloads time out (connect and read), retry with back-off and resume from the partial file (HTTP Range). A partial
`.part` file is removed when its hash is wrong; after a run that could not finish it is kept so the next run resumes,
and `--clean` removes such leftovers.

Why `requests` and not a download library: huggingface_hub.hf_hub_download (locked) only fetches Hugging Face repos,
and the SAM 2.1 checkpoints come from dl.fbaipublicfiles.com (the manifest's hashes were matched against the HF
copies, but that those bytes equal Meta's was never checked, so the source stays Meta's); it would also add its own
`.cache/huggingface` metadata under models/weights. pooch (not locked) does not resume a partial download, which for
the 5 GB GGUF and DAM shards is the part that matters. Both would leave this script's sha256 check against the
manifest in place, so the only thing they would replace is the Range-resume loop below, which tests/test_fetch.py
covers against a real local HTTP server (interrupted transfer, stall, wrong hash).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script from a checkout, before (or without) installing the package
    sys.path.insert(0, str(HERE.parent))

from gear_seg_ros.models import fetch_command
from gear_seg_ros.utils.hashing import git_blob_sha1, sha256_of


def entries(model: dict) -> list[dict]:
    """A model is one file (file/url/sha256) or a folder of files (files: [...])."""
    if "files" in model:
        return [{**f, "dest": Path(model["name"]) / f["file"]} for f in model["files"]]
    return [{"file": model["file"], "url": model["url"], "sha256": model.get("sha256"), "dest": Path(model["file"])}]


class DownloadError(Exception):
    pass


def download(url: str, partial: Path, timeout: float = 30.0, retries: int = 5, backoff_s: float = 1.0) -> None:
    """Streams `url` into `partial`, resuming with an HTTP Range request after an interruption."""
    import requests

    session = requests.Session()
    problem = ""
    for attempt in range(retries + 1):
        have = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with session.get(url, headers=headers, stream=True, timeout=(timeout, timeout)) as response:
                if response.status_code == 416 and have:  # nothing left to send: the file is complete
                    return
                if response.status_code >= 500 or response.status_code == 429:
                    raise requests.ConnectionError(f"HTTP {response.status_code}")
                if response.status_code >= 400:
                    raise DownloadError(f"{url} answered HTTP {response.status_code}")
                resumed = have and response.status_code == 206
                expected = int(response.headers.get("Content-Length", -1))
                written = 0
                with partial.open("ab" if resumed else "wb") as out:
                    for block in response.iter_content(1 << 20):
                        out.write(block)
                        written += len(block)
                if 0 <= expected != written:
                    raise requests.ConnectionError(f"connection closed after {written} of {expected} bytes")
                return
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            problem = str(exc)
            size = partial.stat().st_size if partial.exists() else 0
            if attempt < retries:
                print(f"  interrupted ({problem[:120]}); resuming at byte {size}", file=sys.stderr)
                time.sleep(backoff_s * 2 ** attempt)
    raise DownloadError(f"{url}: {retries + 1} attempts failed, last: {problem[:200]} (timeout {timeout} s)")


def clean_partials(dest_dir: Path) -> int:
    removed = 0
    for part in Path(dest_dir).rglob("*.part"):
        part.unlink()
        removed += 1
    return removed


def _hex(value: str | None) -> str:
    value = (value or "").strip()
    value = value.removeprefix("W/")
    return value.strip('"').lower()


def published_hash(url: str, timeout: float = 30.0) -> tuple[str, str] | None:
    """(kind, hex) that the file's host publishes for it: ("sha256", X-Linked-Etag) for a Hugging Face LFS file,
    ("git-sha1", ETag) for a small file kept in the repo's git. None from any other host (an ETag elsewhere is no
    content hash) or when the HEAD request fails."""
    import requests

    try:
        head = requests.head(url, allow_redirects=False, timeout=(timeout, timeout))
    except (requests.ConnectionError, requests.Timeout):
        return None
    if "X-Repo-Commit" not in head.headers:  # not a Hugging Face resolve URL
        return None
    linked, etag = _hex(head.headers.get("X-Linked-Etag")), _hex(head.headers.get("ETag"))
    if len(linked) == 64:
        return "sha256", linked
    if len(etag) == 40 and head.status_code == 200:
        return "git-sha1", etag
    if len(etag) == 64:
        return "sha256", etag
    return None


def fetch_file(item: dict, dest_dir: Path, trust_on_first_use: bool, timeout: float = 30.0,
               retries: int = 5, model: str = "") -> bool:
    target = dest_dir / item["dest"]
    expected = item.get("sha256")
    if target.exists() and expected and sha256_of(target) == expected:
        print(f"ok (already present): {target}")
        return True
    if not item.get("url"):
        print(f"error: no download URL for {item['file']} in the manifest", file=sys.stderr)
        return False
    published = None if expected else published_hash(item["url"], timeout)
    if published and target.exists() and _digest(target, published[0]) == published[1]:
        print(f"ok (already present, {published[0]} as published by the host): {target}")
        return True
    if not expected and not published and not trust_on_first_use:
        print(f"error: neither the manifest nor the host gives a hash for {item['file']}; re-run as "
              f"`{fetch_command(model or item['file'], trust=True)}` to accept and record what is downloaded",
              file=sys.stderr)
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    print(f"downloading {item['url']} -> {target}")
    try:
        download(item["url"], partial, timeout, retries)
    except DownloadError as exc:
        kept = f"; the partial file {partial} is kept: re-run to resume, or --clean" if partial.exists() else ""
        print(f"error: {exc}{kept}", file=sys.stderr)
        return False
    actual = sha256_of(partial)
    if expected and actual != expected:
        partial.unlink()
        print(f"error: sha256 mismatch for {item['file']}: expected {expected}, got {actual}", file=sys.stderr)
        return False
    got = _digest(partial, published[0], actual) if published else ""
    if published and got != published[1]:
        partial.unlink()
        print(f"error: {published[0]} mismatch for {item['file']}: the host publishes {published[1]}, the download "
              f"has {got}", file=sys.stderr)
        return False
    partial.replace(target)
    how = "" if expected else (f"  ({published[0]} as published by the host; add sha256 to the manifest)" if published
                               else "  (recorded on first use: add it to the manifest)")
    print(f"ok: {target} sha256={actual}{how}")
    return True


def _digest(path: Path, kind: str, sha256: str | None = None) -> str:
    if kind == "sha256":
        return sha256 or sha256_of(path)
    return git_blob_sha1(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--manifest", default=str(HERE / "manifest.yaml"))
    parser.add_argument("--dest", default=str(HERE / "weights"))
    parser.add_argument("--list", action="store_true", help="list the models in the manifest")
    parser.add_argument("--trust-on-first-use", action="store_true",
                        help="accept files whose sha256 the manifest does not know yet (prints it)")
    parser.add_argument("--timeout", type=float, default=30.0, help="connect / read timeout in seconds")
    parser.add_argument("--retries", type=int, default=5, help="attempts after the first, resuming each time")
    parser.add_argument("--clean", action="store_true", help="remove partial (.part) downloads in --dest and exit")
    args = parser.parse_args(argv)
    if args.clean:
        print(f"removed {clean_partials(Path(args.dest))} partial download(s) from {args.dest}")
        return 0
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
    results = {}  # every model is tried, whatever happened to the one before
    for name in args.names:
        files = entries(models[name])
        failed = [item["file"] for item in files
                  if not fetch_file(item, Path(args.dest), args.trust_on_first_use, args.timeout, args.retries,
                                    model=name)]
        results[name] = (len(files), failed)
    print("\nsummary:")
    for name, (count, failed) in results.items():
        print(f"  {name}: " + (f"ok ({count} file{'s' if count > 1 else ''})" if not failed else
                               f"FAILED {len(failed)} of {count} ({', '.join(failed[:3])}"
                               f"{', ...' if len(failed) > 3 else ''}); see the errors above"))
    return 1 if any(failed for _, failed in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
