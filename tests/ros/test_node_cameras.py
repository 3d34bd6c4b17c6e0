"""What camera drivers publish, into the node (real rclpy processes, loopback DDS), built from the real arc2017
RGB-D frame: every accepted colour encoding (rows padded: step > width * bytes) and compressedDepth (png and rvl,
16UC1 and 32FC1, live and from a bag replayed by `gear-seg bag play`), all served by one node process.

Colour frames carry stamp 0, so the agent keys its cache by the picture's content: a lossless encoding must come out
of the cache (its RGB is bit-identical to rgb8's, so are the masks: IoU 1.0). A lossy one (chroma subsampling,
demosaicing) is perceived afresh, and the CPU default segmenter proposes other regions for it, so a singular answer
(one region) need not be rgb8's region. What must hold is that the node saw the same scene in the right colours:
- its answer to "the green box" lies on the soap box: >= 0.9 of the answer's pixels on it and >= 0.25 of the box
  covered. Measured in-process (image_encodings.to_rgb(from_rgb(rgb, enc), enc), the default agent, the same
  numbers as through this node): on it 0.92-0.98, covered 0.93-0.97, but 0.29 for bayer_grbg8 (the segmenter
  proposes no whole box for it: pieces; its answer is a piece lying on the box);
  a Bayer mosaic read with the wrong green phase (rggb as gbrg, ...) or UYVY read as YUYV: on it 0.00-0.01.
- its description of the region that frames the red book (box IoU >= 0.75 with the book's; 0.85-0.89 measured)
  starts "a red": it does for every lossy encoding, and says "a blue" after an R/B swap (a Bayer pattern read as
  its R/B mirror, rggb as bggr; NV12 read as NV21; any decoded picture with R and B swapped) and "a green" with
  the wrong green phase. An R/B swap keeps the soap box green, so the first check alone would not catch it.
Grey encodings are compared with mono8's answer: a grey picture cannot give rgb8's colour answer. Aliases and 16-bit variants give their 8-bit / canonical twin's picture: cache hits.
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from node_client import _header, mask_of, running_node

from gear_seg_ros import compressed_depth as cd
from gear_seg_ros import image_encodings as ie
from gear_seg_ros.geometry.target import target_geometry

pytestmark = [pytest.mark.ros, pytest.mark.slow]  # every test uses the module's node
PAD = 8  # bytes of row padding on every colour message
LOSSLESS = ["rgb16", "bgr8", "bgra8", "rgba8", "bgr16", "rgba16", "bgra16"]
GREY = ["mono8", "8UC1", "mono16", "16UC1"]
# the same YUV samples in UYVY or YUYV order (or NV12 / NV21) must give the same picture
LOSSY = [("yuv422", ["uyvy", "yuv422_yuy2", "yuyv", "yuy2"]), ("nv12", ["nv21"])] + \
        [(f"bayer_{p}8", [f"bayer_{p}16"]) for p in ("rggb", "bggr", "gbrg", "grbg")]


def iou(a, b):
    return float((a & b).sum() / max(1, (a | b).sum()))


def colour_msg(rgb, encoding, frame_id, stamp=0.0):
    from gear_seg_ros.ros.conversions import numpy_to_image

    msg = numpy_to_image(ie.from_rgb(rgb, encoding), encoding, _header(stamp, frame_id))
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(-1, msg.step)
    padded = np.zeros((rows.shape[0], msg.step + PAD), np.uint8)
    padded[:, : msg.step] = rows
    msg.step += PAD
    msg.data = padded.tobytes()
    return msg


def camera_info(header, k, hw):
    from sensor_msgs.msg import CameraInfo

    info = CameraInfo(header=header, height=int(hw[0]), width=int(hw[1]))
    info.k = [float(v) for v in np.ravel(k)]
    return info


def stream(client, frame, settle=0.6):
    client._frame = frame  # the client's camera thread re-publishes these at 10 Hz
    time.sleep(settle)


def call_while(client, early, wait_s=30.0):
    """The answer to "the green box", asked again while (and only while) `early(response)` says the node had not yet
    taken what was streamed: on a starved machine that can take longer than the settle time."""
    deadline = time.monotonic() + wait_s
    response = client.call("the green box", "referring")
    while early(response) and time.monotonic() < deadline:
        time.sleep(0.3)
        response = client.call("the green box", "referring")
    return response


def call_on_frame(client, frame_id):
    """Re-asks while the node answered from an older frame."""
    return call_while(client, lambda r: r.success and r.result.header.frame_id != frame_id)


def instance(arc, name):
    return arc["masks"][list(arc["labels"]).index(arc["class_names"].index(name))].astype(bool)


def box_iou(a, b):
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def book_description(client, frame_id, mask):
    """(box IoU, description) of the region the node's ~/descriptions for `frame_id` frame best around `mask`."""
    client.wait_until(lambda: any(d.header.frame_id == frame_id for d in client.received["descriptions"]), 30,
                      f"~/descriptions of {frame_id}")
    frame = next(d for d in client.received["descriptions"] if d.header.frame_id == frame_id)
    ys, xs = np.nonzero(mask)
    truth = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    scores = [box_iou((b.x_offset, b.y_offset, b.x_offset + b.width, b.y_offset + b.height), truth)
              for b in frame.boxes]
    k = int(np.argmax(scores))
    return scores[k], frame.descriptions[k]


# ---- one node: colour encodings + compressed depth --------------------------------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory, arc2017):
    params = {"use_depth": True, "use_compressed_depth": True, "image_qos": "reliable", "cache.max_entries": 32}
    with running_node(tmp_path_factory.mktemp("node_cameras"), params) as (node, client):
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CompressedImage

        client.cdepth_pub = client.node.create_publisher(
            CompressedImage, "/depth/compressedDepth", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        client.wait_until(lambda: client.cdepth_pub.get_subscription_count() > 0, 60, "depth/compressedDepth")
        yield node, client, arc2017


def ask(served, encoding, frame_id):
    node, client, arc = served
    stream(client, [(client.image_pub, colour_msg(arc["rgb"], encoding, frame_id))])
    response = call_on_frame(client, frame_id)
    assert response.success, f"{encoding}: {response.message}\n{node.log()[-2000:]}"
    assert response.result.header.frame_id == frame_id  # answered from this frame
    return response.result, mask_of(response.result.union_mask)


@pytest.mark.slow
def test_every_accepted_encoding_gives_rgb8s_masks(served):
    _node, client, arc = served
    assert {e for e, _ in LOSSY} | {a for _, al in LOSSY for a in al} | set(LOSSLESS) | set(GREY) | {"rgb8"} == \
        set(ie.accepted())
    ref, ref_union = ask(served, "rgb8", "cam_rgb8")
    ref_ids = list(ref.selected_ids)
    report = {}
    for enc in LOSSLESS:
        result, union = ask(served, enc, f"cam_{enc}")
        assert result.from_cache, f"{enc}: its RGB differs from rgb8's (not a cache hit)"
        assert list(result.selected_ids) == ref_ids and iou(union, ref_union) == 1.0
    grey, grey_union = ask(served, "mono8", "cam_mono8")
    assert not grey.from_cache
    for enc in GREY[1:]:
        result, union = ask(served, enc, f"cam_{enc}")
        assert result.from_cache and iou(union, grey_union) == 1.0, enc
    soap_box, book = instance(arc, "irish_spring_soap"), instance(arc, "laugh_out_loud_jokes")
    for enc, twins in LOSSY:
        result, union = ask(served, enc, f"cam_{enc}")
        assert not result.from_cache, f"{enc} came out bit-identical to an earlier picture"
        on, covered = (union & soap_box).sum() / max(1, union.sum()), (union & soap_box).sum() / soap_box.sum()
        framing, said = book_description(client, f"cam_{enc}", book)
        report[enc] = (round(on, 2), round(covered, 2), round(framing, 2), said)
        assert on >= 0.9 and covered >= 0.25, (enc, "the green box is not the soap box", report[enc])
        assert framing >= 0.75 and said.startswith("a red"), (enc, "the red book is not red", report[enc])
        for twin in twins:
            twin_result, twin_union = ask(served, twin, f"cam_{twin}")
            assert twin_result.from_cache and iou(twin_union, union) == 1.0, twin
    print("answer on the soap box, box covered, book framed (box IoU), the book's description:", report)


def test_rejected_encoding_is_explained_and_the_node_keeps_serving(served):
    node, client, arc = served
    bad = colour_msg(arc["rgb"], "rgb8", "cam_bad")
    bad.encoding = "8UC3"
    stream(client, [(client.image_pub, bad)])
    response = call_on_frame(client, "cam_bad")
    assert not response.success
    assert "unsupported image encoding '8UC3'; closest accepted: bgr8" in response.message, response.message
    assert "unsupported image encoding '8UC3'" in node.log()
    ask(served, "bgra8", "cam_after_bad")


@pytest.mark.parametrize("encoding, codec, stamp", [("16UC1", "png", 600.0), ("16UC1", "rvl", 601.0),
                                                    ("32FC1", "png", 602.0), ("32FC1", "rvl", 603.0)])
def test_compressed_depth_centroids_match_the_raw_depth(served, encoding, codec, stamp):
    from sensor_msgs.msg import CompressedImage

    node, client, arc = served
    depth = arc["depth"].astype(np.float32)
    depth = np.where(np.isfinite(depth) & (depth < 10.0), depth, np.nan).astype(np.float32)  # depth_max 10 m
    raw = np.nan_to_num(depth * 1000, nan=0).round().astype(np.uint16) if encoding == "16UC1" else depth
    header = _header(stamp, "camera")
    fmt, data = cd.encode(raw, codec)
    k = arc["camera_info"]["K"]
    stream(client, [(client.cdepth_pub, CompressedImage(header=header, format=fmt, data=data)),
                    (client.info_pub, camera_info(header, k, depth.shape)),
                    (client.image_pub, colour_msg(arc["rgb"], "rgb8", "camera", stamp))])
    response = client.call("the green box", "referring")
    assert response.success, response.message + node.log()[-2000:]
    target = response.result.targets[0]
    assert target.centroid_3d_valid, response.message
    mask = mask_of(target.mask)
    expected = target_geometry(mask, depth, k).centroid  # from the raw float depth
    got = np.array([target.centroid_3d.x, target.centroid_3d.y, target.centroid_3d.z])
    err = np.linalg.norm(got - expected)
    bound = 0.001 if encoding == "16UC1" else np.sqrt(3) * cd.quantisation_step(float(np.nanmax(depth[mask])))
    assert err <= bound, (err, bound)


def test_bag_with_compressed_depth_replays_into_the_node(served, tmp_path):
    node, client, arc = served
    client._frame = None  # the bag is the camera now
    time.sleep(0.3)
    bag = tmp_path / "bag"
    cli = [sys.executable, "-m", "gear_seg_ros.cli.main", "bag"]
    made = subprocess.run([*cli, "make", "--demo-arc2017", "--repeat", "3", "--compressed-depth", "--encoding",
                           "yuv422_yuy2", "--out", str(bag)], check=False, env=node.env, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    remaps = ["--remap", "/camera/image:=/image", "--remap", "/camera/depth/compressedDepth:=/depth/compressedDepth",
              "--remap", "/camera/camera_info:=/camera_info"]
    played = subprocess.run([*cli, "play", str(bag), *remaps, "--wait-for-subscribers", "30"], check=False,
                            env=node.env,
                            capture_output=True, text=True, timeout=120)
    assert played.returncode == 0, played.stderr
    assert "/depth/compressedDepth: 3 messages" in played.stdout, played.stdout
    response = client.call("the green box", "referring")
    assert response.success, response.message + node.log()[-2000:]
    target = response.result.targets[0]
    assert target.centroid_3d_valid, response.message
    mask = mask_of(target.mask)
    expected = target_geometry(mask, arc["depth"], arc["camera_info"]["K"]).centroid
    got = np.array([target.centroid_3d.x, target.centroid_3d.y, target.centroid_3d.z])
    assert np.linalg.norm(got - expected) < 0.001
