"""models/fetch.py against a real HTTP server on 127.0.0.1: an interrupted transfer resumes with a Range request;
a stalled server times out; a wrong hash removes the partial file."""
import contextlib
import hashlib
import importlib.util
import os
import subprocess
import sys
import threading
import typing
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from helpers import REPO

PAYLOAD = os.urandom(3 * (1 << 20) + 123)


@pytest.fixture(scope="module")
def fetch():
    spec = importlib.util.spec_from_file_location("fetch_script", REPO / "models" / "fetch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Handler(BaseHTTPRequestHandler):
    """Serves PAYLOAD with Range support; `cut_first` drops the first transfer half-way; `stall` never answers."""

    cut_first = True
    stall = False
    ranges: typing.ClassVar[list] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        if type(self).stall:
            threading.Event().wait(5)
            return
        start = 0
        if "Range" in self.headers:
            type(self).ranges.append(self.headers["Range"])
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.end_headers()
        if type(self).cut_first:
            type(self).cut_first = False
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the transfer breaks off mid-file
            return
        self.wfile.write(body)


@contextlib.contextmanager
def serving(handler) -> Iterator[str]:
    """A local HTTP server on a free port with `handler`, for the test's duration: its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server():
    Handler.cut_first, Handler.stall, Handler.ranges = True, False, []
    with serving(Handler) as base:
        yield f"{base}/model.bin"


def item(url, sha=None):
    return {"file": "model.bin", "url": url, "sha256": sha or hashlib.sha256(PAYLOAD).hexdigest(),
            "dest": Path("model.bin")}


def test_interrupted_download_resumes_with_a_range_request(fetch, server, tmp_path):
    assert fetch.fetch_file(item(server), tmp_path, False, timeout=5, retries=3)
    assert (tmp_path / "model.bin").read_bytes() == PAYLOAD
    assert len(Handler.ranges) == 1  # resumed from what had arrived (whole blocks), not from zero
    start = int(Handler.ranges[0].split("=")[1].rstrip("-"))
    assert 0 < start <= len(PAYLOAD) // 2
    assert not list(tmp_path.glob("*.part"))


def test_wrong_hash_removes_the_partial_file(fetch, server, tmp_path, capsys):
    assert not fetch.fetch_file(item(server, "0" * 64), tmp_path, False, timeout=5, retries=3)
    assert "sha256 mismatch" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_stalled_server_times_out_and_clean_removes_leftovers(fetch, server, tmp_path, capsys):
    Handler.stall = True
    assert not fetch.fetch_file(item(server), tmp_path, False, timeout=0.5, retries=1)
    assert "2 attempts failed" in capsys.readouterr().err
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.gguf.part").write_bytes(b"partial")
    assert fetch.main(["--dest", str(tmp_path), "--clean"]) == 0
    assert not list(tmp_path.rglob("*.part"))


def test_the_script_runs_standalone_and_checks_the_hash(server, tmp_path):
    """As a user runs it: `python models/fetch.py NAME` from a checkout (-I: no PYTHONPATH, so the script finds the
    package's hashing helper next to itself), a manifest entry with the right hash, then one with a wrong hash."""
    Handler.cut_first = False
    good = hashlib.sha256(PAYLOAD).hexdigest()
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"models": [
        {"name": "good", "file": "good.bin", "url": server, "sha256": good},
        {"name": "bad", "file": "bad.bin", "url": server, "sha256": "0" * 64}]}))
    run = [sys.executable, "-I", str(REPO / "models" / "fetch.py"), "--manifest", str(manifest),
           "--dest", str(tmp_path / "w"), "--timeout", "5"]
    proc = subprocess.run([*run, "good"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "w" / "good.bin").read_bytes() == PAYLOAD and f"sha256={good}" in proc.stdout
    proc = subprocess.run([*run, "bad"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1 and "sha256 mismatch" in proc.stderr
    assert not (tmp_path / "w" / "bad.bin").exists() and not list((tmp_path / "w").glob("*.part"))


SMALL = b'{"architectures": ["LlavaLlamaModel"]}\n'


class HubHandler(BaseHTTPRequestHandler):
    """Answers like huggingface.co's resolve URLs: HEAD carries X-Repo-Commit, and for the LFS file (/big.bin) its
    sha256 as X-Linked-Etag (with a redirect, as the hub sends), for the file kept in git (/config.json) its blob sha1
    as ETag. `lie` publishes a wrong sha256 for the LFS file."""

    lie = False

    def log_message(self, *args):
        pass

    def _headers(self):
        if self.path.endswith("big.bin"):
            sha = "f" * 64 if type(self).lie else hashlib.sha256(PAYLOAD).hexdigest()
            self.send_response(302)
            self.send_header("X-Repo-Commit", "0" * 40)
            self.send_header("X-Linked-Etag", f'"{sha}"')
            self.send_header("Location", self.path + "?cdn=1")
        else:
            blob = hashlib.sha1(f"blob {len(SMALL)}\0".encode() + SMALL).hexdigest()
            self.send_response(200)
            self.send_header("X-Repo-Commit", "0" * 40)
            self.send_header("ETag", f'"{blob}"')
            self.send_header("Content-Length", str(len(SMALL)))

    def do_HEAD(self):
        self._headers()
        self.end_headers()

    def do_GET(self):
        body = PAYLOAD if "big.bin" in self.path else SMALL
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def hub():
    HubHandler.lie = False
    with serving(HubHandler) as base:
        yield base


def test_files_without_a_manifest_hash_are_checked_against_the_hash_the_hub_publishes(fetch, hub, tmp_path, capsys):
    """No sha256 in the manifest, no --trust-on-first-use: the LFS file is checked against X-Linked-Etag, the small
    file against its git blob sha1 (ETag); a host that publishes a different hash gets the download refused."""
    big = {"file": "big.bin", "url": f"{hub}/big.bin", "sha256": None, "dest": Path("m/big.bin")}
    small = {"file": "config.json", "url": f"{hub}/config.json", "sha256": None, "dest": Path("m/config.json")}
    assert fetch.fetch_file(big, tmp_path, False, timeout=5, retries=0)
    assert fetch.fetch_file(small, tmp_path, False, timeout=5, retries=0)
    out = capsys.readouterr().out
    assert out.count("as published by the host") == 2 and "sha256 as published" in out and "git-sha1 as" in out
    assert (tmp_path / "m" / "big.bin").read_bytes() == PAYLOAD
    assert (tmp_path / "m" / "config.json").read_bytes() == SMALL
    (tmp_path / "m" / "big.bin").unlink()
    HubHandler.lie = True
    assert not fetch.fetch_file(big, tmp_path, True, timeout=5, retries=0)  # trusting does not override a mismatch
    assert "sha256 mismatch for big.bin: the host publishes ffff" in capsys.readouterr().err
    assert not list((tmp_path / "m").glob("big.bin*"))


def test_every_model_is_tried_and_reported_and_the_suggested_command_works(server, hub, tmp_path):
    """`fetch.py a b c`: the first model cannot be verified (no hash anywhere) and fails; the other two are still
    fetched, and the summary names each result. The command its error suggests (the same one the agent's and the
    doctor's messages give) then fetches it."""
    Handler.cut_first = False
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"models": [
        {"name": "plain", "file": "plain.bin", "url": server, "sha256": None},
        {"name": "hub", "files": [{"file": "config.json", "url": f"{hub}/config.json", "sha256": None},
                                  {"file": "big.bin", "url": f"{hub}/big.bin", "sha256": None}]},
        {"name": "known", "file": "known.bin", "url": server, "sha256": hashlib.sha256(PAYLOAD).hexdigest()}]}))
    run = [sys.executable, "-I", str(REPO / "models" / "fetch.py"), "--manifest", str(manifest),
           "--dest", str(tmp_path / "w"), "--timeout", "5", "--retries", "0"]
    proc = subprocess.run([*run, "plain", "hub", "known"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1
    summary = proc.stdout.split("summary:")[1]
    assert "plain: FAILED 1 of 1 (plain.bin)" in summary and "hub: ok (2 files)" in summary
    assert "known: ok (1 file)" in summary
    assert (tmp_path / "w" / "hub" / "big.bin").read_bytes() == PAYLOAD
    assert (tmp_path / "w" / "known.bin").read_bytes() == PAYLOAD
    suggested = "python models/fetch.py plain --trust-on-first-use"
    assert f"re-run as `{suggested}`" in proc.stderr
    sys.path.insert(0, str(REPO))
    try:
        from gear_seg_ros.models import fetch_command
    finally:
        sys.path.remove(str(REPO))
    assert fetch_command("plain", manifest=manifest) == suggested
    proc = subprocess.run([*run, *suggested.split()[2:]], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "recorded on first use" in proc.stdout and (tmp_path / "w" / "plain.bin").read_bytes() == PAYLOAD
