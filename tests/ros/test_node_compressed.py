"""`use_compressed`: a JPEG CompressedImage stream on image/compressed, through the node."""
import time

import cv2
import pytest
from node_client import Client, NodeProcess, _header, use_env
from ros_env import require_ros


@pytest.mark.slow
def test_jpeg_stream_is_decoded_and_answered(tmp_path, arc2017):
    require_ros()
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage

    node = NodeProcess(tmp_path, {"use_compressed": True, "image_qos": "reliable"})
    use_env(node.env)
    client = Client()
    try:
        pub = client.node.create_publisher(CompressedImage, "/image/compressed",
                                           QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        Client.wait_until(lambda: pub.get_subscription_count() > 0 and client.segment.service_is_ready(), 120,
                          "the node to subscribe image/compressed")
        _ok, jpeg = cv2.imencode(".jpg", arc2017["rgb"][:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        msg = CompressedImage(header=_header(300.0, "camera"), format="rgb8; jpeg compressed bgr8",
                              data=jpeg.tobytes())
        for _ in range(3):
            pub.publish(msg)
            time.sleep(0.2)
        response = client.call("the green box", "referring")
        assert response.success, response.message + node.log()[-2000:]
        assert response.result.header.stamp.sec == 300 and response.result.selected_ids
        pub.publish(CompressedImage(header=_header(301.0, "camera"), format="jpeg", data=b"not a jpeg"))
        time.sleep(0.5)
        bad = client.call("the green box", "referring")
        assert not bad.success and "could not decode CompressedImage" in bad.message
        pub.publish(msg)
        time.sleep(0.5)
        assert client.call("the green box", "referring").success  # still serving
    finally:
        client.close()
        node.stop()
