"""Tracking in the real node: the moving-camera arc2017 sequence (rendered from the frame's own depth) as a rosbag2,
replayed by `gear-seg bag play` (its own process) into `gear_seg_agent` (its own process) after an answer."""
import subprocess
import sys
import threading

import numpy as np
import pytest
from node_client import NODE, mask_of, running_node

from gear_seg_ros.bag.make import make_bag
from gear_seg_ros.track.masks import iou

START_NS = 1_700_000_000 * 10**9
RATE_HZ = 5.0  # slow enough for a shared 2-core machine to track every frame (dropped ones are allowed, counted)
REMAPS = ["--remap", "/camera/image:=/image", "--remap", "/camera/depth:=/depth",
          "--remap", "/camera/camera_info:=/camera_info"]


def _play(bag, env) -> None:
    player = subprocess.run([sys.executable, "-m", "gear_seg_ros.cli.main", "bag", "play", str(bag), *REMAPS,
                             "--wait-for-subscribers", "30"], check=False, env=env, capture_output=True, text=True,
                            timeout=120)
    assert player.returncode == 0, player.stderr


@pytest.mark.slow
def test_answer_targets_are_tracked_through_a_bag_with_stable_ids(tmp_path, arc2017_moving):
    from gear_seg_msgs.msg import GraspTarget, SegmentationResult
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_srvs.srv import Trigger

    seq, frames, _, _ = arc2017_moving
    period = round(1e9 / RATE_HZ)
    info = {"K": seq.k, "width": 640, "height": 480}
    first = make_bag([frames[0][0]], tmp_path / "first", rate_hz=RATE_HZ, depth=[frames[0][1]], camera_info=info,
                     start_ns=START_NS)
    rest = make_bag([f[0] for f in frames[1:]], tmp_path / "rest", rate_hz=RATE_HZ, depth=[f[1] for f in frames[1:]],
                    camera_info=info, start_ns=START_NS + period)
    params = {"policy": "on_request", "image_qos": "reliable", "use_depth": True}
    with running_node(tmp_path, params) as (node, client):
        tracked, lock = [], threading.Lock()

        def record(msg):
            with lock:
                tracked.append(msg)
        client.node.create_subscription(SegmentationResult, f"{NODE}/tracked_targets", record,
                                        QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        stop = client.node.create_client(Trigger, f"{NODE}/stop_tracking")
        _play(first, node.env)
        response = client.call("the red cards", "referring")  # plural: several targets (reason/count.py)
        assert response.success and response.result.targets, response.message + node.log()[-3000:]
        answer = {t.id: mask_of(t.mask) for t in response.result.targets}
        selected = sorted(response.result.selected_ids)
        client.wait_until(lambda: len(tracked) >= 1, 30, "the first ~/tracked_targets (the answer's frame)")
        _play(rest, node.env)
        last_ns = START_NS + (len(frames) - 1) * period
        try:
            client.wait_until(lambda: any(_ns(m) == last_ns for m in list(tracked)), 60, "the last frame tracked")
        except TimeoutError:
            seen = [(_ns(m) - START_NS) // period for m in tracked]
            raise AssertionError(f"frames tracked {seen}; last message {tracked[-1].message if tracked else None}\n"
                                 + node.log()[-3000:]) from None
        with lock:
            msgs = list(tracked)

        start = msgs[0]
        assert _ns(start) == START_NS and sorted(start.selected_ids) == selected
        assert sorted(t.id for t in start.targets) == sorted(answer)  # the answer's targets, one track each
        owner = {t.track_id: t.id for t in start.targets}
        assert len(owner) == len(answer) and all(t.tracking_state == GraspTarget.TRACK_TRACKED for t in start.targets)
        stamps = [_ns(m) for m in msgs]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # one message per tracked frame
        lost = set()
        for m in msgs[1:]:
            for t in m.targets:
                assert owner[t.track_id] == t.id, "a track id changed object"
                assert t.track_id not in lost, "a lost track came back"
                if t.tracking_state == GraspTarget.TRACK_LOST:
                    lost.add(t.track_id)
        final = {t.id: t for t in msgs[-1].targets}
        kept = [i for i, mask in answer.items() if seq.in_view(mask, len(frames) - 1) >= 0.98]
        assert kept, "no answer target stays in view: choose another instruction"
        for i in kept:
            t = final.get(i)
            assert t is not None and t.tracking_state != GraspTarget.TRACK_LOST, (i, msgs[-1].message)
            truth = seq.render_mask(answer[i], len(frames) - 1)
            assert iou(mask_of(t.mask), truth) >= 0.8, (i, iou(mask_of(t.mask), truth), node.log()[-2000:])
            assert t.centroid_3d_valid and 0.1 < t.centroid_3d.z < 1.0, t.centroid_3d
        print(f"tracked {len(msgs) - 1} of {len(frames) - 1} frames; kept {kept}; "
              f"IoUs {[round(iou(mask_of(final[i].mask), seq.render_mask(answer[i], 59)), 3) for i in kept]}")

        # a new instruction replaces the targets: new ids, never one of the old ones
        with lock:
            tracked.clear()
        again = client.call("the scissors", "referring")
        assert again.success and again.result.targets, again.message
        client.wait_until(lambda: len(tracked) >= 1, 30, "tracking of the new answer")
        new_ids = {t.track_id for t in tracked[0].targets}
        assert min(new_ids) > max(owner) and {t.id for t in tracked[0].targets} == {t.id for t in again.result.targets}
        future = stop.call_async(Trigger.Request())
        client.wait_until(future.done, 30, "~/stop_tracking")
        assert future.result().success and future.result().message.startswith("stopped tracking")
        future = stop.call_async(Trigger.Request())
        client.wait_until(future.done, 30, "~/stop_tracking")
        assert future.result().message == "was not tracking"


def _ns(msg) -> int:
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


def test_iou_helper_agrees_with_numpy():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    assert iou(a, a) == 1.0 and iou(a, ~a) == 0.0
