"""Every user-fixable error gives success=false with a message saying what to fix; the node keeps serving."""
import time

import pytest
from node_client import NodeProcess, running_node


@pytest.fixture(scope="module")
def served(tmp_path_factory, arc2017):
    with running_node(tmp_path_factory.mktemp("node_errors"), {"image_qos": "reliable", "request_timeout_s": 120.0}) as (node, client):
        yield node, client, arc2017


def ok(client, arc, stamp):
    client.publish_frame(arc["rgb"], stamp)
    response = client.call("the green box", "referring")
    assert response.success, response.message


@pytest.mark.slow
def test_instruction_before_any_frame(served):
    _node, client, _arc = served
    client._frame = None  # the camera stops; disabling drops the buffered frames: as if none ever came
    assert client.set_enabled(False).success and client.set_enabled(True).success
    response = client.call("the green box", "referring")
    assert not response.success and not response.result.success
    assert "no image received yet on /image" in response.message and "remap" in response.message


@pytest.mark.slow
def test_empty_instruction(served):
    _node, client, arc = served
    ok(client, arc, 10.0)
    response = client.call("   ", "referring")
    assert not response.success and "empty" in response.message
    assert client.call("the green box", "referring").success


@pytest.mark.slow
def test_unknown_mode_and_unknown_frame(served):
    _node, client, arc = served
    ok(client, arc, 10.0)
    assert "unknown mode 'guess'" in client.call("the green box", "guess").message
    from builtin_interfaces.msg import Time

    response = client.call("the green box", "referring", stamp=Time(sec=5))
    assert not response.success and "no frame with stamp 5.0" in response.message
    response = client.call("the green box", "referring", stamp=Time(sec=10))  # a buffered frame by stamp
    assert response.success and response.result.header.stamp.sec == 10


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["8UC3", "yuv420"])  # (yuv422, rgba16 are accepted now)
def test_unsupported_encoding_is_reported_and_logged_once(served, encoding):
    node, client, arc = served
    client.publish_frame(arc["rgb"], 20.0, encoding=encoding, settle=1.5)  # ~15 bad frames at 10 Hz
    response = client.call("the green box", "referring")
    assert not response.success
    assert f"unsupported image encoding '{encoding}'" in response.message and "rgb8" in response.message
    assert node.log().count(f"unsupported image encoding '{encoding}'") == 1
    ok(client, arc, 21.0)


@pytest.mark.slow
def test_wrong_step(served):
    _node, client, arc = served

    def bad_step(img):
        img.step = img.width * 2

    client.publish_frame(arc["rgb"], 30.0, mutate=bad_step)
    response = client.call("the green box", "referring")
    assert not response.success and "step 1280 is smaller than" in response.message and "step = 1920" in response.message
    ok(client, arc, 31.0)


@pytest.mark.slow
def test_truncated_data(served):
    _node, client, arc = served

    def truncate(img):
        img.data = img.data[: len(img.data) // 2]

    client.publish_frame(arc["rgb"], 40.0, mutate=truncate)
    response = client.call("the green box", "referring")
    assert not response.success and "step*height" in response.message
    ok(client, arc, 41.0)


@pytest.mark.slow
def test_timeout(served):
    _node, client, arc = served
    client.publish_frame(arc["rgb"][::-1].copy(), 50.0)  # new content: every stage has to run
    t0 = time.monotonic()
    response = client.call("the green box", "referring", timeout_s=0.2)
    assert time.monotonic() - t0 < 10
    assert not response.success and "timed out after 0.2 s" in response.message and "timeout_s" in response.message
    ok(client, arc, 51.0)


@pytest.mark.slow
def test_bgr8_and_mono8_inputs(served):
    _node, client, arc = served
    client.publish_frame(arc["rgb"], 60.0, encoding="bgr8")
    bgr = client.call("the green box", "referring")
    assert bgr.success and bgr.result.from_cache is False
    gray = arc["rgb"].mean(axis=2).astype("uint8")
    client.publish_frame(gray[:, :, None].repeat(3, axis=2), 61.0)
    assert client.call("the green box", "referring").success


def test_bad_parameters_fail_configure_with_a_clear_message(tmp_path):
    from ros_env import require_ros

    require_ros()
    node = NodeProcess(tmp_path, {"segmenter.backend": "nope", "policy": "sometimes"})
    try:
        deadline = time.monotonic() + 60
        while "configure failed" not in node.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = node.log()
        assert "configure failed" in log and "policy='sometimes'" in log
        assert node.proc.poll() is None  # stays up, unconfigured, for a lifecycle manager to retry
    finally:
        node.stop()
