"""The OpenAI-compatible VLM describer over real HTTP on loopback.

No vision-language model ships its weights in a PyPI package, so the endpoint here is a scripted stand-in that checks
the requests (two outlined JPEGs per mask, the prompt) and answers per mask; the real servers are vLLM / llama.cpp.
"""
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from gear_seg_ros.describe.openai_vlm import OpenAIVlmDescriber, VlmEndpointError
from gear_seg_ros.describe.settings import OpenAIVlmDescriberConfig
from gear_seg_ros.types import MaskProposal


class VisionEndpoint(BaseHTTPRequestHandler):
    seen: list = []
    in_flight = 0
    max_in_flight = 0
    lock = threading.Lock()

    def do_POST(self):
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        images = [part["image_url"]["url"] for part in body["messages"][0]["content"] if part["type"] == "image_url"]
        crop = cv2.imdecode(np.frombuffer(base64.b64decode(images[-1].split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
        cls.seen.append((len(images), crop.shape))
        time.sleep(0.05)
        answer = f"an object seen in a {crop.shape[1]}x{crop.shape[0]} crop"
        payload = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        with cls.lock:
            cls.in_flight -= 1

    def log_message(self, *args):
        pass


@pytest.fixture()
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), VisionEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    VisionEndpoint.seen, VisionEndpoint.max_in_flight = [], 0
    yield server
    server.shutdown()


def test_one_description_per_mask_in_order_with_requests_in_flight_together(endpoint, arc2017):
    masks = []
    for side in (10, 20, 40, 80):
        m = np.zeros(arc2017["rgb"].shape[:2], bool)
        m[100:100 + side, 200:200 + side] = True
        masks.append(MaskProposal(m))
    cfg = OpenAIVlmDescriberConfig(base_url=f"http://127.0.0.1:{endpoint.server_port}/v1", concurrency=4)
    texts = OpenAIVlmDescriber(cfg).describe(arc2017["rgb"], masks)
    assert texts[0] == "an object seen in a 144x144 crop"  # 10 px box -> 48 px minimum -> x3
    assert texts[3] == "an object seen in a 240x240 crop"
    assert all(n_images == 2 for n_images, _ in VisionEndpoint.seen)
    assert VisionEndpoint.max_in_flight > 1


def test_unreachable_endpoint_is_a_clear_error(arc2017):
    m = np.zeros(arc2017["rgb"].shape[:2], bool)
    m[:20, :20] = True
    cfg = OpenAIVlmDescriberConfig(base_url="http://127.0.0.1:9/v1", timeout_s=2)
    with pytest.raises(VlmEndpointError, match="cannot reach the VLM endpoint"):
        OpenAIVlmDescriber(cfg).describe(arc2017["rgb"], [MaskProposal(m)])


def test_describer_benchmark_runs_batched_and_one_by_one(endpoint, arc2017):
    from gear_seg_ros.bench import describers_bench
    from gear_seg_ros.config import AgentConfig

    cfg = AgentConfig.from_dict({"describer": {"backend": "openai_vlm", "openai_vlm": {
        "base_url": f"http://127.0.0.1:{endpoint.server_port}/v1", "concurrency": 8}}, "nms": {"max_masks": 6}})
    report = describers_bench.run(cfg, arc2017["rgb"])
    assert report["batch_key"] == "concurrency" and report["masks"] == 6
    assert report["runs"]["batched"]["batch"] == 8 and report["runs"]["one_by_one"]["batch"] == 1
    assert len(VisionEndpoint.seen) == 2 * 6 + 6  # perceive (describes once) + the two timed runs


def test_503_is_retried_and_an_answer_without_choices_is_an_error(arc2017):
    answers = [(503, {"error": "loading"}), (200, {"choices": [{"message": {"content": "a  green\nbox"}}]}),
               (200, {"error": {"message": "image too large"}})]

    class Scripted(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            status, body = answers.pop(0)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    m = np.zeros(arc2017["rgb"].shape[:2], bool)
    m[:20, :20] = True
    try:
        cfg = OpenAIVlmDescriberConfig(base_url=f"http://127.0.0.1:{server.server_port}/v1", retries=1, concurrency=1)
        describer = OpenAIVlmDescriber(cfg)
        assert describer.describe(arc2017["rgb"], [MaskProposal(m)]) == ["a green box"]
        with pytest.raises(VlmEndpointError, match=r"without choices.*image too large.*describer\.openai_vlm\.model"):
            describer.describe(arc2017["rgb"], [MaskProposal(m)])
        assert answers == []
    finally:
        server.shutdown()
        server.server_close()
