"""The default input QoS (best effort, sensor data) receives a streamed camera."""
import time

import pytest
from node_client import running_node


@pytest.mark.slow
def test_default_best_effort_qos_receives_a_streamed_camera(tmp_path, arc2017):
    with running_node(tmp_path, {}) as (_node, client):
        client.publish_frame(arc2017["rgb"], 200.0)
        deadline = time.monotonic() + 60
        response = client.call("the green box", "referring")
        while "no image received yet" in response.message and time.monotonic() < deadline:
            time.sleep(0.5)
            response = client.call("the green box", "referring")
        assert response.success, response.message
        assert response.result.header.stamp.sec == 200
