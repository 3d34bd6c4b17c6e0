"""The shared OpenAI-compatible client (utils/openai_client.py) against scripted HTTP servers on loopback.

Stand-ins, because no real server can be made to answer 503, 429 or a body without `choices` on demand; the real
endpoints are exercised by tests/test_openai_reasoner.py (llama-cpp-python's server) and test_dam_server_describer.py.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import free_port

pytest.importorskip("httpx")

from gear_seg_ros.errors import GearSegError
from gear_seg_ros.utils.openai_client import ChatClient, EndpointError, EndpointSettings


def ok(content):
    return 200, {"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}, {}


@pytest.fixture()
def server():
    state = {"answers": [], "bodies": [], "times": [], "headers": []}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            state["bodies"].append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            state["times"].append(time.monotonic())
            state["headers"].append(dict(self.headers))
            status, payload, headers = state["answers"].pop(0) if state["answers"] else ok("fine")
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    state["base"] = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield state
    httpd.shutdown()
    httpd.server_close()


def client(base, retries=2, api_key_env="", **kw):
    kw.setdefault("backoff_s", 0.05)
    settings = EndpointSettings(base_url=base, timeout_s=5, retries=retries, api_key_env=api_key_env)
    return ChatClient(settings, what="the test endpoint", config_key="test.section", **kw)


def test_503_and_502_are_retried_with_back_off_then_the_answer_is_returned(server):
    server["answers"] = [(503, {"error": "loading"}, {}), (502, "bad gateway", {}), ok("the answer")]
    assert client(server["base"]).chat({"model": "m", "messages": []}) == "the answer"
    assert len(server["bodies"]) == 3 and server["bodies"][0] == server["bodies"][2]
    gaps = [b - a for a, b in zip(server["times"], server["times"][1:])]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # exponential back-off


def test_429_waits_for_retry_after(server):
    server["answers"] = [(429, {"error": "slow down"}, {"Retry-After": "0.4"}), ok("after the wait")]
    assert client(server["base"]).chat({}) == "after the wait"
    assert server["times"][1] - server["times"][0] >= 0.4


def test_retries_run_out_with_the_status_and_the_url(server):
    server["answers"] = [(503, "still loading", {})] * 3
    with pytest.raises(EndpointError, match=rf"the test endpoint {server['base']}/chat/completions answered HTTP 503 "
                                            r"\(after 3 attempts\): still loading"):
        client(server["base"]).chat({})
    assert len(server["bodies"]) == 3


def test_a_server_error_is_not_retried_and_names_the_status(server):
    server["answers"] = [(500, "CUDA out of memory", {})]
    with pytest.raises(EndpointError, match=r"answered HTTP 500: CUDA out of memory"):
        client(server["base"]).chat({})
    assert len(server["bodies"]) == 1


def test_missing_choices_is_an_error_never_the_answer_text(server):
    server["answers"] = [(200, {"object": "error", "message": "model 'x' not found"}, {})]
    with pytest.raises(EndpointError, match=r"without choices\[0\]\.message\.content.*model 'x' not found.*"
                                            r"test\.section\.model"):
        client(server["base"]).chat({})


def test_empty_content_is_an_error_naming_max_tokens(server):
    server["answers"] = [(200, {"choices": [{"message": {"content": ""}, "finish_reason": "length"}]}, {})]
    with pytest.raises(EndpointError, match=r"empty content \(finish_reason 'length'\).*test\.section\.max_tokens"):
        client(server["base"]).chat({})


def test_non_json_answer_is_an_error(server):
    server["answers"] = [(200, "<html>a proxy page</html>", {})]
    with pytest.raises(EndpointError, match=r"HTTP 200 with no JSON: <html>a proxy page"):
        client(server["base"]).chat({})


def test_api_key_is_sent_from_the_named_environment_variable(server, monkeypatch):
    monkeypatch.setenv("GEAR_SEG_TEST_KEY", "sekrit")
    client(server["base"], api_key_env="GEAR_SEG_TEST_KEY").chat({})
    assert server["headers"][0]["Authorization"] == "Bearer sekrit"


def test_dead_port_names_the_url_the_attempts_and_the_fix():
    url = f"http://127.0.0.1:{free_port()}/v1"  # closed again: nothing listens there
    t0 = time.monotonic()
    with pytest.raises(EndpointError, match=rf"cannot reach the test endpoint {url}/chat/completions .*3 attempt\(s\)"
                                            r".*start the server or fix test\.section\.base_url") as info:
        client(url).chat({})
    assert time.monotonic() - t0 >= 0.05 + 0.1  # it backed off between the attempts
    assert isinstance(info.value, GearSegError)


def test_read_timeout_is_not_retried_and_names_the_timeout_key(server):
    class Slow(BaseHTTPRequestHandler):
        calls = 0

        def log_message(self, *args):
            pass

        def do_POST(self):
            type(self).calls += 1
            time.sleep(1.5)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        settings = EndpointSettings(base_url=f"http://127.0.0.1:{httpd.server_address[1]}", timeout_s=0.3, retries=2)
        slow = ChatClient(settings, what="the test endpoint", config_key="test.section", backoff_s=0.05)
        with pytest.raises(EndpointError, match=r"did not answer within 0.3 s; raise test\.section\.timeout_s"):
            slow.chat({})
        assert Slow.calls == 1
    finally:
        httpd.shutdown()
        httpd.server_close()
