"""The default input QoS (best effort, sensor data) receives a streamed camera."""
import time
from pathlib import Path

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


def _diagnostics(client, wanted: str, timeout: float = 30.0):
    """The first /diagnostics status whose name contains `wanted`."""
    from diagnostic_msgs.msg import DiagnosticArray

    found = []
    client.node.create_subscription(DiagnosticArray, "/diagnostics",
                                    lambda m: found.extend(s for s in m.status if wanted in s.name), 10)
    client.wait_until(lambda: found, timeout, f"a /diagnostics status named *{wanted}*")
    return found[0]


@pytest.mark.slow
def test_reliable_subscription_against_a_best_effort_publisher_is_reported_with_its_fix(tmp_path):
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    with running_node(tmp_path, {"image_qos": "reliable"}) as (node, client):
        client.node.create_publisher(Image, "/image", QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT))
        status = _diagnostics(client, "qos /image")
        values = {kv.key: kv.value for kv in status.values}
        assert values["requested"] == "reliable/volatile" and "best_effort/volatile" in values["offered"], values
        assert values["incompatible_policy"] == "reliability" and "image_qos" in values["fix"], values
        assert "auto" in status.message and "nothing is received" in status.message
        client.wait_until(lambda: "QoS mismatch on /image" in node.log(), 10, "the log line")
        assert node.log().count("QoS mismatch on /image") == 1  # logged once


@pytest.mark.slow
def test_best_effort_subscription_against_a_reliable_publisher_matches(tmp_path, arc2017):
    """The reverse: a best-effort subscription takes a reliable publisher's frames, nothing is reported."""
    with running_node(tmp_path, {"image_qos": "best_effort"}) as (node, client):
        client.publish_frame(arc2017["rgb"], 300.0)  # the client's publishers offer reliable
        status = _diagnostics(client, ": pipeline")
        deadline = time.monotonic() + 60
        while status.message.startswith("no image") and time.monotonic() < deadline:
            status = _diagnostics(client, ": pipeline")
        assert "frames received" in status.message, status.message
        assert "QoS mismatch" not in node.log()


@pytest.mark.slow
def test_best_effort_delivery_of_the_demo_bag_loses_nothing_over_the_loopback_profile(tmp_path, ros_environ):
    """The demo bag's 0.9-1.2 MB images through config/fastdds_loopback.xml to a best-effort subscriber in another
    process (scripts/bench_delivery.py): all arrive. With Fast DDS's default 512 KB shared-memory
    segment they went over UDP in fragments and about half were lost (docs/benchmarks.md)."""
    import re
    import subprocess
    import sys

    bag = tmp_path / "arc_bag"
    subprocess.run([sys.executable, "-m", "gear_seg_ros.cli.main", "bag", "make", "--demo-arc2017", "--repeat", "10",
                    "--out", str(bag)], check=True, capture_output=True, env=ros_environ, timeout=120)
    script = Path(__file__).resolve().parents[2] / "scripts" / "bench_delivery.py"
    proc = subprocess.run([sys.executable, str(script), str(bag), "--qos", "best_effort", "--seconds", "5"],
                          capture_output=True, text=True, env=ros_environ, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    counts = re.findall(r"(/camera/\w+): published (\d+), received (\d+)", proc.stdout)
    assert len(counts) == 3, proc.stdout
    for topic, published, received in counts:  # the last message may still be in flight when counting stops
        assert int(published) >= 40 and int(received) >= int(published) - 1, proc.stdout
