"""models/fetch.py against a real HTTP server on 127.0.0.1: an interrupted transfer resumes with a Range request;
a stalled server times out; a wrong hash removes the partial file."""
import hashlib
import importlib.util
import os
import subprocess
import sys
import threading
import typing
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


@pytest.fixture
def server():
    Handler.cut_first, Handler.stall, Handler.ranges = True, False, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/model.bin"
    httpd.shutdown()
    httpd.server_close()


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
