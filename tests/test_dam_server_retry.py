"""The `dam_server` describer's request and retry handling against a scripted HTTP server on loopback.

A stand-in for DAM's server, because the real one (tested in tests/test_dam_server_describer.py) cannot be made to
answer 503 or to hang on demand. The stand-in checks what dam_server.py reads: an RGBA PNG whose alpha is the mask.
"""
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

pytest.importorskip("httpx")

from gear_seg_ros.describe.dam_server import DamServerDescriber, DamServerError
from gear_seg_ros.describe.settings import DamServerDescriberConfig
from gear_seg_ros.types import MaskProposal


@pytest.fixture()
def scripted():
    state = {"answers": [], "bodies": []}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["bodies"].append(body)
            status, text = state["answers"].pop(0) if state["answers"] else (200, "ok")
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}
                                 if status == 200 else {"error": text}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def decode_rgba(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    bgra = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGBA)


def test_request_is_what_dam_server_reads_and_503_is_retried(scripted):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    mask = np.zeros((40, 60), bool)
    mask[5:20, 10:30] = True
    scripted["answers"] = [(503, "starting"), (200, "a  red\n box")]
    d = DamServerDescriber(DamServerDescriberConfig(base_url=scripted["url"], retries=2, concurrency=1))
    assert d.describe(image, [MaskProposal(mask)]) == ["a red box"]
    assert len(scripted["bodies"]) == 2  # the 503 was retried
    content = scripted["bodies"][-1]["messages"][0]["content"]
    rgba = decode_rgba(content[0]["image_url"]["url"])
    assert np.array_equal(rgba[..., :3], image) and np.array_equal(rgba[..., 3] > 0, mask)
    assert content[1] == {"type": "text", "text": "Describe the masked region in detail."}


def test_dam_failure_is_reported_not_retried(scripted):
    scripted["answers"] = [(500, "CUDA out of memory")]
    d = DamServerDescriber(DamServerDescriberConfig(base_url=scripted["url"], retries=2))
    mask = np.ones((8, 8), bool)
    with pytest.raises(DamServerError, match=rf"{scripted['url']}/chat/completions answered HTTP 500.*out of memory"):
        d.describe(np.zeros((8, 8, 3), np.uint8), [MaskProposal(mask)])
    assert len(scripted["bodies"]) == 1
