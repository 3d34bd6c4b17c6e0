"""policy=continuous: the worker perceives the newest frame while idle, so queries answer from the cache."""
import pytest
from node_client import running_node, stage_seconds

pytestmark = pytest.mark.slow  # every test uses the module's node (its start-up lands on the first)


@pytest.fixture(scope="module")
def served(tmp_path_factory, arc2017):
    params = {"policy": "continuous", "image_qos": "reliable"}
    with running_node(tmp_path_factory.mktemp("node_continuous"), params) as (node, client):
        yield node, client, arc2017


def test_queries_answer_from_the_cache(served):
    _node, client, arc = served
    client.publish_frame(arc["rgb"], 300.0)
    # perceived without any request: ~/descriptions appears for the frame
    client.wait_until(lambda: any(d.header.stamp.sec == 300 for d in client.received["descriptions"]), 120,
                      "continuous perception of the frame")
    first = client.call("the green box", "referring")
    second = client.call("the book", "referring")
    for response in (first, second):
        assert response.success, response.message
        assert response.result.header.stamp.sec == 300
    assert second.result.from_cache
    times = stage_seconds(second.result)
    assert times["segment_s"] == 0.0 and times["describe_s"] == 0.0 and times["reason_s"] > 0.0
    assert times["total_s"] < 10.0


def test_new_frames_are_perceived_in_turn(served):
    _node, client, arc = served
    client.publish_frame(arc["rgb"][:, ::-1].copy(), 301.0)
    client.wait_until(lambda: any(d.header.stamp.sec == 301 for d in client.received["descriptions"]), 120,
                      "perception of the new frame")
    response = client.call("the green box", "referring")
    assert response.success and response.result.header.stamp.sec == 301 and response.result.from_cache
