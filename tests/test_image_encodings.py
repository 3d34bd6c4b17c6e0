"""Colour encodings -> RGB (gear_seg_ros.image_encodings, via ros.conversions with duck-typed messages; no ROS),
on the real arc2017 photo. Lossless encodings must give rgb8's pixels exactly; lossy ones (4:2:2 / 4:2:0 chroma,
Bayer demosaicing) are held to mean |error| bounds measured on it, and each Bayer / YUV order must beat every other
order (a swapped pattern gives wrong colours, far above the bound)."""
from types import SimpleNamespace

import numpy as np
import pytest

from gear_seg_ros import image_encodings as ie
from gear_seg_ros.errors import InvalidImageError
from gear_seg_ros.raw_image import check_image, image_to_rgb

LOSSLESS = ["rgb8", "bgr8", "rgba8", "bgra8", "rgb16", "bgr16", "rgba16", "bgra16"]
MONO = ["mono8", "8UC1", "mono16", "16UC1"]
# mean |RGB error| bounds (0-255 scale): measured 1.06 (4:2:2), 1.87 (4:2:0), 3.1 (Bayer, bilinear)
LOSSY = {"yuv422": 1.5, "uyvy": 1.5, "yuv422_yuy2": 1.5, "yuyv": 1.5, "yuy2": 1.5, "nv12": 2.5, "nv21": 2.5,
         **{f"bayer_{p}{b}": 4.0 for p in ("rggb", "bggr", "gbrg", "grbg") for b in (8, 16)}}


def message(arr, encoding, pad=0, bigendian=False):
    """A duck-typed sensor_msgs/Image of image_encodings.from_rgb's array, rows padded by `pad` bytes."""
    spec = ie.COLOUR[encoding]
    if bigendian:
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    rows = np.ascontiguousarray(arr).view(np.uint8).reshape(arr.shape[0], -1)
    padded = np.zeros((rows.shape[0], rows.shape[1] + pad), np.uint8)
    padded[:, :rows.shape[1]] = rows
    h = arr.shape[0] * 2 // spec.rows_x2
    w = rows.shape[1] // (spec.channels * spec.np_dtype.itemsize)
    return SimpleNamespace(height=h, width=w, encoding=encoding, step=padded.shape[1], is_bigendian=int(bigendian),
                           data=padded.tobytes())


@pytest.fixture(scope="module")
def rgb(arc2017):
    return arc2017["rgb"]


def test_every_accepted_encoding_is_covered():
    assert set(ie.accepted()) == set(LOSSLESS) | set(MONO) | set(LOSSY)


@pytest.mark.parametrize("encoding", LOSSLESS)
@pytest.mark.parametrize("pad", [0, 6])
def test_lossless_encodings_give_the_rgb8_pixels(rgb, encoding, pad):
    msg = message(ie.from_rgb(rgb, encoding), encoding, pad=pad)
    check_image(msg, tuple(ie.COLOUR))
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)


@pytest.mark.parametrize("encoding", ["rgb16", "mono16", "bayer_rggb16"])
def test_16bit_big_endian(rgb, encoding):
    little = image_to_rgb(message(ie.from_rgb(rgb, encoding), encoding))
    np.testing.assert_array_equal(image_to_rgb(message(ie.from_rgb(rgb, encoding), encoding, bigendian=True)), little)


@pytest.mark.parametrize("encoding", MONO)
def test_mono_encodings_give_the_grey_picture(rgb, encoding):
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    out = image_to_rgb(message(ie.from_rgb(rgb, encoding), encoding, pad=4))
    np.testing.assert_array_equal(out, np.dstack([grey] * 3))


def test_16bit_scaling_full_scale_and_auto():
    ir = np.array([[0, 512, 1023]], np.uint16)  # a 10-bit IR sensor
    np.testing.assert_array_equal(ie.scale16(ir, 1023), [[0, 128, 255]])
    np.testing.assert_array_equal(ie.scale16(ir, 0), [[0, 128, 255]])  # 0 = the frame's maximum
    np.testing.assert_array_equal(ie.scale16(ir, 65535), [[0, 2, 4]])
    np.testing.assert_array_equal(ie.scale16(np.array([[70, 60000]], np.uint16), 1023), [[17, 255]])  # clipped
    msg = SimpleNamespace(height=1, width=3, encoding="16UC1", step=6, is_bigendian=0, data=ir.tobytes())
    assert image_to_rgb(msg, max16=1023)[0, :, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize("encoding", sorted(LOSSY))
def test_lossy_encodings_are_close_and_their_order_is_the_right_one(rgb, encoding):
    arr = ie.from_rgb(rgb, encoding)
    err = np.abs(image_to_rgb(message(arr, encoding, pad=2)).astype(int) - rgb).mean()
    assert err < LOSSY[encoding], err
    kind = ie.COLOUR[encoding].kind
    rivals = {s.kind for s in ie.COLOUR.values() if s.kind.split("_")[0] == kind.split("_")[0]} - {kind}
    if kind in ("nv12", "nv21"):
        rivals = {"nv21" if kind == "nv12" else "nv12"}
    for rival in rivals:  # the same bytes read in another order: far worse
        other = next(n for n, s in ie.COLOUR.items() if s.kind == rival and s.dtype == ie.COLOUR[encoding].dtype)
        wrong = np.abs(ie.to_rgb(arr, other).astype(int) - rgb).mean()
        assert wrong > 3 * err, (other, wrong, err)


def test_odd_sizes_and_bad_lengths_are_explained(rgb):
    with pytest.raises(InvalidImageError, match="width must be even"):
        check_image(SimpleNamespace(height=2, width=3, encoding="yuv422", step=6, is_bigendian=0, data=bytes(12)),
                    tuple(ie.COLOUR))
    with pytest.raises(InvalidImageError, match="width and height must be even"):
        check_image(SimpleNamespace(height=3, width=4, encoding="bayer_rggb8", step=4, is_bigendian=0,
                                    data=bytes(12)), tuple(ie.COLOUR))
    nv = message(ie.from_rgb(rgb, "nv12"), "nv12")
    nv.data = nv.data[: 640 * 480]  # the Y plane only
    with pytest.raises(InvalidImageError, match=r"step\*height\*3/2 = 640\*480\*3/2 = 460800.*chroma rows"):
        image_to_rgb(nv)


@pytest.mark.parametrize("encoding, closest, hint", [
    ("8UC3", "bgr8", "channel order"),
    ("32FC1", "mono16", "remap depth:="),
    ("jpeg", "rgb8", "use_compressed:=true"),
    ("nv24", "nv12", "usb_cam pixel_format:=yuyv2rgb"),
    ("yvyu", "yuv422_yuy2", "usb_cam pixel_format"),
    ("RGB8", "rgb8", "case-sensitive"),
    ("hsv8", "rgb8", "rgb_camera.color_format:=RGB8"),
])
def test_rejected_encodings_name_the_closest_accepted_one_and_a_driver_setting(encoding, closest, hint):
    msg = SimpleNamespace(height=2, width=2, encoding=encoding, step=6, is_bigendian=0, data=bytes(12))
    with pytest.raises(InvalidImageError) as info:
        image_to_rgb(msg)
    text = str(info.value)
    assert f"unsupported image encoding {encoding!r}" in text and f"closest accepted: {closest} " in text
    assert hint in text and "accepted: rgb8, bgr8" in text
