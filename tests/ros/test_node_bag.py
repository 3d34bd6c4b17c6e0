"""A rosbag2 made from a real RGB-D frame, replayed by `gear-seg bag play` (its own process) into the node."""
import subprocess
import sys

import numpy as np
import pytest
from node_client import mask_of, running_node

from gear_seg_ros.bag.make import make_bag

START_NS = 1_700_000_000 * 10**9


@pytest.mark.slow
def test_bag_replayed_into_the_node_gives_masks_and_3d_points(tmp_path, arc2017):
    frames = 5
    info = {"K": np.array(arc2017["camera_info"]["K"]).reshape(3, 3), "width": 640, "height": 480}
    bag = make_bag([arc2017["rgb"]] * frames, tmp_path / "bag", rate_hz=10.0, depth=[arc2017["depth"]] * frames,
                   camera_info=info, start_ns=START_NS)
    params = {"policy": "on_request", "image_qos": "reliable", "use_depth": True}
    with running_node(tmp_path, params) as (node, client):
        remaps = ["--remap", "/camera/image:=/image", "--remap", "/camera/depth:=/depth",
                  "--remap", "/camera/camera_info:=/camera_info"]
        player = subprocess.run([sys.executable, "-m", "gear_seg_ros.cli.main", "bag", "play", str(bag), *remaps,
                                 "--wait-for-subscribers", "30"], env=node.env, capture_output=True, text=True,
                                timeout=120)
        assert player.returncode == 0, player.stderr
        assert f"/image: {frames} messages" in player.stdout
        response = client.call("the green box", "referring")
        assert response.success, response.message + "\n" + node.log()[-3000:]
        result = response.result
        last_stamp_ns = START_NS + (frames - 1) * 100_000_000  # the newest frame wins
        assert result.header.stamp.sec * 10**9 + result.header.stamp.nanosec == last_stamp_ns, node.log()[-3000:]
        assert mask_of(result.union_mask).any()
        target = result.targets[0]
        assert target.centroid_3d_valid and 0.3 < target.centroid_3d.z < 2.0, target.centroid_3d
