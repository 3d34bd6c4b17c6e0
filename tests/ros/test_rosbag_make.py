"""gear_seg_ros.bag.make: images (+ depth, camera_info) -> rosbag2 MCAP, read back with rosbags. No ROS needed."""

import numpy as np
import pytest
import yaml

pytest.importorskip("rosbags")
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore

from gear_seg_ros.bag.make import make_bag
from gear_seg_ros.errors import GearSegError

STORE = get_typestore(Stores.ROS2_JAZZY)
K = [[500.0, 0, 32], [0, 500.0, 24], [0, 0, 1]]


def frames(n, h=48, w=64):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def read_bag(path):
    out = {}
    with Reader(path) as reader:
        for conn, stamp, raw in reader.messages():
            out.setdefault(conn.topic, []).append((stamp, STORE.deserialize_cdr(raw, conn.msgtype)))
    return out


def test_round_trip_pixels_depth_info_and_timing(tmp_path):
    images = frames(5)
    depth = [np.full((48, 64), 0.5 + i, np.float32) for i in range(5)]
    depth[0][0, 0] = np.nan
    bag = make_bag(images, tmp_path / "bag", rate_hz=10.0, frame_id="cam", depth=depth,
                   camera_info={"K": K, "width": 64, "height": 48}, start_ns=1_700_000_000_000_000_000)
    msgs = read_bag(bag)
    assert set(msgs) == {"/camera/image", "/camera/depth", "/camera/camera_info"}
    stamps = [s for s, _ in msgs["/camera/image"]]
    assert np.all(np.diff(stamps) == 100_000_000)
    for (stamp, msg), image in zip(msgs["/camera/image"], images):
        assert (msg.encoding, msg.height, msg.width, msg.step, msg.header.frame_id) == ("rgb8", 48, 64, 192, "cam")
        assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == stamp
        np.testing.assert_array_equal(msg.data.reshape(48, 64, 3), image)
    d0 = msgs["/camera/depth"][0][1]
    assert d0.encoding == "32FC1" and d0.step == 64 * 4
    np.testing.assert_array_equal(d0.data.view(np.float32).reshape(48, 64), depth[0])  # NaN == NaN here
    info = msgs["/camera/camera_info"][2][1]
    assert info.k.tolist() == np.ravel(K).tolist() and info.p[:3].tolist() == [500.0, 0, 32]
    assert info.header.stamp == msgs["/camera/image"][2][1].header.stamp


def test_metadata_is_what_ros2_bag_play_reads(tmp_path):
    bag = make_bag(frames(2), tmp_path / "bag")
    meta = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["version"] == 9 and meta["storage_identifier"] == "mcap"
    assert (bag / meta["relative_file_paths"][0]).is_file()
    (topic,) = meta["topics_with_message_count"]
    tm = topic["topic_metadata"]
    assert (tm["name"], tm["type"], tm["serialization_format"]) == ("/camera/image", "sensor_msgs/msg/Image", "cdr")
    assert tm["offered_qos_profiles"][0]["reliability"] == "reliable"
    assert tm["type_description_hash"].startswith("RIHS01_")


def test_uint16_depth_and_image_files(tmp_path):
    import cv2

    paths = []
    for i, image in enumerate(frames(2)):
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    depth_mm = np.arange(48 * 64, dtype=np.uint16).reshape(48, 64)
    np.save(tmp_path / "d.npy", depth_mm)
    msgs = read_bag(make_bag(paths, tmp_path / "bag", depth=[tmp_path / "d.npy"] * 2))
    np.testing.assert_array_equal(msgs["/camera/image"][1][1].data.reshape(48, 64, 3), frames(2)[1])
    d = msgs["/camera/depth"][0][1]
    assert d.encoding == "16UC1"
    np.testing.assert_array_equal(d.data.view(np.uint16).reshape(48, 64), depth_mm)


@pytest.mark.parametrize("kwargs, match", [
    ({"depth": [np.zeros((48, 64), np.float32)]}, "1 depth images for 2"),
    ({"depth": [np.zeros((48, 64), np.float64)] * 2}, "float32"),
    ({"camera_info": {"K": K, "width": 640, "height": 480}}, "camera_info is 640x480"),
    ({"rate_hz": 0}, "rate_hz"),
])
def test_bad_input_names_the_problem(tmp_path, kwargs, match):
    with pytest.raises(GearSegError, match=match):
        make_bag(frames(2), tmp_path / "bag", **kwargs)


def run_cli(argv):
    from gear_seg_ros.cli.main import main

    return main(argv)


def test_cli_make_from_folder_and_errors(tmp_path, capsys):
    import cv2

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, image in enumerate(frames(3)):
        cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    info = tmp_path / "info.yaml"
    info.write_text(yaml.safe_dump({"K": K, "width": 64, "height": 48}))
    out = tmp_path / "bag"
    assert run_cli(["bag", "make", str(folder), "--out", str(out), "--rate", "5", "--camera-info", str(info)]) == 0
    msgs = read_bag(out)
    assert len(msgs["/camera/image"]) == 3 and len(msgs["/camera/camera_info"]) == 3
    assert np.diff([s for s, _ in msgs["/camera/image"]]).tolist() == [200_000_000] * 2

    assert run_cli(["bag", "make", str(folder), "--out", str(out)]) == 2
    assert run_cli(["bag", "make", str(tmp_path / "missing"), "--out", str(tmp_path / "b2")]) == 2
    assert run_cli(["bag", "play", str(tmp_path / "nobag"), "--remap", "bad"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "no such file or folder" in err and "OLD:=NEW" in err
    assert "Traceback" not in err


def test_cli_demo_arc2017(tmp_path):
    out = tmp_path / "arc"
    assert run_cli(["bag", "make", "--demo-arc2017", "--repeat", "2", "--out", str(out)]) == 0
    msgs = read_bag(out)
    depth = msgs["/camera/depth"][0][1]
    assert depth.encoding == "32FC1" and (depth.height, depth.width) == (480, 640)
    assert msgs["/camera/camera_info"][0][1].k[0] == pytest.approx(517.6198, abs=1e-3)
    assert len(msgs["/camera/image"]) == 2


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_compressed_depth_and_other_colour_encodings(tmp_path, codec):
    from gear_seg_ros import image_encodings
    from gear_seg_ros.compressed_depth import decode

    images = frames(2)
    mm = [np.full((48, 64), 700 + i, np.uint16) for i in range(2)]
    mm[0][0, :5] = 0
    bag = make_bag(images, tmp_path / "bag", depth=mm, compressed_depth=codec, encoding="yuv422_yuy2")
    msgs = read_bag(bag)
    assert set(msgs) == {"/camera/image", "/camera/depth/compressedDepth"}
    for (_, msg), want in zip(msgs["/camera/depth/compressedDepth"], mm):
        assert msg.format == f"16UC1; compressedDepth {codec}"
        encoding, back = decode(msg.format, msg.data.tobytes())
        assert encoding == "16UC1"
        np.testing.assert_array_equal(back, want)
    image = msgs["/camera/image"][0][1]
    assert (image.encoding, image.width, image.step) == ("yuv422_yuy2", 64, 128)
    np.testing.assert_array_equal(image.data.reshape(48, 128), image_encodings.from_rgb(images[0], "yuv422_yuy2"))
    with pytest.raises(GearSegError, match="compressed_depth must be png or rvl"):
        make_bag(images, tmp_path / "bag2", depth=mm, compressed_depth="jpeg")
    with pytest.raises(GearSegError, match="unsupported image encoding 'hsv8'"):
        make_bag(images, tmp_path / "bag3", encoding="hsv8")
