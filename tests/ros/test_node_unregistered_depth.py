"""Depth on its own camera (depth_registered:=false) into the node (real rclpy processes, loopback DDS): the real
arc2017 depth rendered into a second camera (offset 5 cm, turned 4 degrees, other intrinsics and resolution, by
the test's own splatting renderer) with its own depth_camera_info, reprojected by the node into the colour camera:
the 3-D centroid of the answer is within 1 cm of the registered depth's. (Its own module: a module-scoped node of
another file would answer on the same service name.)"""
import numpy as np
import pytest
from node_client import _header, mask_of, running_node
from test_node_cameras import call_while, camera_info, colour_msg, stream

from gear_seg_ros.geometry.target import target_geometry

pytestmark = pytest.mark.ros


@pytest.mark.slow
def test_unregistered_depth_is_reprojected(tmp_path, arc2017):
    from test_reproject import CENTRE, DEPTH_HW, K_DEPTH, QUAT, THETA, render, rot_y

    k = arc2017["camera_info"]["K"]
    r_cd = rot_y(THETA)
    depth_cam = render(arc2017["depth"], k, K_DEPTH, DEPTH_HW, r_cd.T, -r_cd.T @ CENTRE)
    params = {"use_depth": True, "depth_registered": False, "image_qos": "reliable",
              "depth_to_color_translation": [float(v) for v in CENTRE],
              "depth_to_color_rotation": [float(v) for v in QUAT]}
    with running_node(tmp_path, params, {"depth_camera_info": "/depth_camera_info"}) as (node, client):
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo

        from gear_seg_ros.ros.conversions import numpy_to_image

        info_pub = client.node.create_publisher(CameraInfo, "/depth_camera_info",
                                                QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        header = _header(700.0, "camera")
        frame = [(client.depth_pub, numpy_to_image(depth_cam, "32FC1", _header(700.0, "depth_camera"))),
                 (client.info_pub, camera_info(header, k, (480, 640))),
                 (client.image_pub, colour_msg(arc2017["rgb"], "rgb8", "camera", 700.0))]
        stream(client, frame)
        first = client.call("the green box", "referring")
        assert not first.success and "needs the depth camera's camera_info" in first.message, first.message
        client.wait_until(lambda: info_pub.get_subscription_count() > 0, 30, "depth_camera_info subscription")
        stream(client, [(info_pub, camera_info(header, K_DEPTH, DEPTH_HW)), *frame])
        # re-published at 10 Hz, but a starved node may not have taken the first depth_camera_info yet
        response = call_while(client, lambda r: not r.success and "none received yet" in r.message)
        assert response.success, response.message + node.log()[-2000:]
        target = response.result.targets[0]
        assert target.centroid_3d_valid, response.message
        mask = mask_of(target.mask)
        registered = target_geometry(mask, arc2017["depth"], k).centroid
        got = np.array([target.centroid_3d.x, target.centroid_3d.y, target.centroid_3d.z])
        err = np.linalg.norm(got - registered)
        assert err < 0.01, err
        print(f"reprojected vs registered centroid: {err * 1000:.2f} mm")
