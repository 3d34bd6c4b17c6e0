"""Depth paired at capture: a 30 Hz RGB-D bag replayed (by `gear-seg bag play`, its own process) faster than the node
answers still gives every target with valid depth its 3-D centroid and grasp pose, from its own frame's depth.

The bag is the real arc2017 RGB-D frame at 320x240 with small per-frame changes: the colour brightness moves by a
few levels and the depth of frame i is the frame's depth + i mm, so a result whose centroid z is off by a
millimetre would show depth from a neighbouring frame. Before pairing at capture the node kept the last 16 depth
images and looked up the frame's one when the answer was ready: any answer slower than 16 depth periods lost it.
Run against that code (commit c92b9e3) this test fails with "centroid_3d not filled: the nearest depth image is
3833 ms from the colour image"; at 1x rate on a loaded 2-core machine it did not, so the bag plays at 2x.
"""
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from node_client import mask_of, running_node
from ros_env import REPO

from gear_seg_ros.bag.make import make_bag
from gear_seg_ros.geometry.target import target_geometry

START_NS = 1_700_000_000 * 10**9
RATE_HZ, FRAMES, CALLS = 30.0, 150, 6  # a 5 s bag, looped while the node answers CALLS requests
PLAY_RATE = 2.0  # played at 2x: 60 colour + 60 depth images a second


def frames_of(arc):
    rgb = cv2.resize(arc["rgb"], (320, 240), interpolation=cv2.INTER_AREA)
    base_mm = np.nan_to_num(arc["depth"][::2, ::2] * 1000.0, nan=0.0).round().astype(np.uint16)
    k = np.array(arc["camera_info"]["K"], float).reshape(3, 3)
    k[:2] *= 0.5
    images = [np.clip(rgb.astype(np.int16) + (i % 5) - 2, 0, 255).astype(np.uint8) for i in range(FRAMES)]
    depths = [np.where(base_mm > 0, base_mm + i, 0).astype(np.uint16) for i in range(FRAMES)]
    return images, depths, k


@pytest.mark.slow
def test_fast_bag_every_target_with_depth_gets_3d(tmp_path, arc2017):
    images, depths, k = frames_of(arc2017)
    bag = make_bag(images, tmp_path / "bag", rate_hz=RATE_HZ, depth=depths,
                   camera_info={"K": k, "width": 320, "height": 240}, start_ns=START_NS)
    del images
    params = {"use_depth": True, "image_qos": "reliable", "image_qos_depth": 30, "sync_tolerance_s": 0.01}
    cpu_yaml = ["--params-file", str(REPO / "config" / "cpu.yaml")]
    with running_node(tmp_path, params, ros_args=cpu_yaml) as (node, client):
        remaps = ["--remap", "/camera/image:=/image", "--remap", "/camera/depth:=/depth",
                  "--remap", "/camera/camera_info:=/camera_info"]
        player = subprocess.Popen([sys.executable, "-m", "gear_seg_ros.cli.main", "bag", "play", str(bag), *remaps,
                                   "--loop", "--rate", str(PLAY_RATE), "--wait-for-subscribers", "30"], env=node.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            def warm() -> bool:  # the first answer also loads the text embedder
                return client.call("the green box", "referring", wait=120).success
            client.wait_until(warm, 120, "a first answer from the bag's frames")
            results = []
            for _ in range(CALLS):
                t0 = time.monotonic()
                response = client.call("the green box", "referring", wait=120)
                results.append((response, time.monotonic() - t0))
                assert player.poll() is None, player.stderr.read()
        finally:
            player.send_signal(signal.SIGINT)
            try:
                player.wait(30)
            except subprocess.TimeoutExpired:
                player.kill()
                player.wait(5)
    timings = [(round(s, 2), dict(zip(r.result.stage_names, r.result.stage_seconds))) for r, s in results]
    assert max(s for _, s in results) > 16 / RATE_HZ / PLAY_RATE, f"no answer slower than 16 depth periods: {timings}"
    period_ns = round(1e9 / RATE_HZ)
    checked = 0
    for response, _ in results:
        result = response.result
        assert response.success, response.message
        assert "centroid_3d not filled" not in result.message, result.message
        i = round((result.header.stamp.sec * 10**9 + result.header.stamp.nanosec - START_NS) / period_ns)
        depth_m = np.where(depths[i] > 0, depths[i] / 1000.0, np.nan).astype(np.float32)
        for t in result.targets:
            mask = mask_of(t.mask)
            if not np.isfinite(depth_m[mask]).any():
                continue
            checked += 1
            assert t.centroid_3d_valid, (i, t.id, result.message)
            local = target_geometry(mask, depth_m, k.reshape(-1))
            expected = local.centroid
            assert abs(t.centroid_3d.z - expected[2]) < 0.0006, (i, t.centroid_3d.z, expected[2])  # its own frame's
            assert t.pose_valid == local.pose_valid
            if local.pose is not None:
                assert abs(t.pose.position.z - local.pose.position[2]) < 1e-4
    assert checked >= CALLS, timings
