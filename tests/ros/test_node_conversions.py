"""Image <-> numpy conversions. The reading side needs no ROS (a duck-typed message); building needs sensor_msgs."""
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from ros_env import require_ros

from gear_seg_ros.errors import InvalidImageError
from gear_seg_ros.raw_image import compressed_to_rgb, depth_to_metres, image_to_numpy, image_to_rgb
from gear_seg_ros.ros.conversions import mask_to_image, numpy_to_image


def fake(arr, encoding, step=None, bigendian=False):
    """A duck-typed sensor_msgs/Image holding `arr` (rows padded to `step` bytes)."""
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    if bigendian:
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    rows = np.ascontiguousarray(arr).view(np.uint8).reshape(h, -1)
    step = step or rows.shape[1]
    padded = np.zeros((h, step), np.uint8)
    padded[:, : rows.shape[1]] = rows
    return SimpleNamespace(height=h, width=w, encoding=encoding, step=step, is_bigendian=int(bigendian),
                           data=padded.tobytes())


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)


def test_rgb8_is_zero_copy_and_bgr8_is_swapped(rgb):
    msg = fake(rgb, "rgb8")
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)
    np.testing.assert_array_equal(image_to_rgb(fake(rgb[:, :, ::-1], "bgr8")), rgb)
    gray = rgb[:, :, 0]
    np.testing.assert_array_equal(image_to_rgb(fake(gray, "mono8")), np.dstack([gray] * 3))


def test_padded_rows(rgb):
    np.testing.assert_array_equal(image_to_rgb(fake(rgb, "rgb8", step=64 * 3 + 16)), rgb)


@pytest.mark.parametrize("bigendian", [False, True])
def test_depth_encodings(bigendian):
    mm = np.array([[0, 1000], [1500, 65535]], np.uint16)
    np.testing.assert_array_equal(image_to_numpy(fake(mm, "16UC1", bigendian=bigendian)), mm)
    metres = depth_to_metres(fake(mm, "16UC1", bigendian=bigendian))
    assert np.isnan(metres[0, 0]) and metres[0, 1] == pytest.approx(1.0) and metres[1, 0] == pytest.approx(1.5)
    f = np.array([[np.nan, 0.5], [0.0, np.inf]], np.float32)
    out = depth_to_metres(fake(f, "32FC1", bigendian=bigendian))
    assert out[0, 1] == 0.5 and np.isnan(out[0, 0]) and np.isnan(out[1, 0]) and np.isnan(out[1, 1])


def test_errors_name_the_problem_and_the_fix(rgb):
    with pytest.raises(InvalidImageError, match=r"unsupported image encoding 'yuv420'.*closest accepted.*rgb8.*bgr8"):
        image_to_rgb(fake(rgb, "yuv420"))  # (yuv422, 16UC1 IR and more are accepted: tests/test_image_encodings.py)
    with pytest.raises(InvalidImageError, match="unsupported image encoding '32FC1'.*depth image"):
        image_to_rgb(fake(np.zeros((4, 4), np.float32), "32FC1"))  # depth on the colour topic
    bad = fake(rgb, "rgb8")
    bad.step = 100
    with pytest.raises(InvalidImageError, match=r"step 100 is smaller than .* = 192; the publisher must set step = 192"):
        image_to_rgb(bad)
    short = fake(rgb, "rgb8")
    short.data = short.data[:-1]
    with pytest.raises(InvalidImageError, match=r"has 9215 bytes but step\*height = 192\*48 = 9216"):
        image_to_rgb(short)
    with pytest.raises(InvalidImageError, match="empty rgb8 image"):
        image_to_rgb(SimpleNamespace(height=0, width=0, encoding="rgb8", step=0, is_bigendian=0, data=b""))
    with pytest.raises(InvalidImageError, match="unsupported image encoding 'rgb8'"):
        depth_to_metres(fake(rgb, "rgb8"))


def test_compressed_jpeg_and_png(rgb):
    import cv2

    _, png = cv2.imencode(".png", rgb[:, :, ::-1])
    np.testing.assert_array_equal(compressed_to_rgb(SimpleNamespace(format="png", data=png.tobytes())), rgb)
    _, jpg = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert compressed_to_rgb(SimpleNamespace(format="rgb8; jpeg compressed bgr8", data=jpg.tobytes())).shape == rgb.shape
    with pytest.raises(InvalidImageError, match="could not decode"):
        compressed_to_rgb(SimpleNamespace(format="jpeg", data=b"not an image"))
    with pytest.raises(InvalidImageError, match="depth stream"):
        compressed_to_rgb(SimpleNamespace(format="16UC1; compressedDepth png", data=png.tobytes()))


def test_build_messages_round_trip(rgb):
    require_ros()
    for arr, enc in ((rgb, "rgb8"), (np.arange(12, dtype=np.uint16).reshape(3, 4), "16UC1"),
                     (np.ones((3, 4), np.float32) * 0.5, "32FC1")):
        msg = numpy_to_image(arr, enc)
        assert msg.step == arr[0].nbytes and msg.is_bigendian == (sys.byteorder == "big")
        np.testing.assert_array_equal(image_to_numpy(msg), arr)
    with pytest.raises(InvalidImageError, match="does not fit encoding rgb8"):
        numpy_to_image(rgb[:, :, 0], "rgb8")


def test_mask_to_image_is_mono8_255():
    require_ros()
    from std_msgs.msg import Header

    mask = np.zeros((5, 7), bool)
    mask[1:3, 2:6] = True
    msg = mask_to_image(mask, Header(frame_id="cam"))
    assert (msg.encoding, msg.width, msg.height, msg.step, msg.header.frame_id) == ("mono8", 7, 5, 7, "cam")
    out = image_to_numpy(msg)
    assert set(np.unique(out)) == {0, 255} and np.array_equal(out > 0, mask)
