"""image_transport compressedDepth (gear_seg_ros.compressed_depth) on the real arc2017 depth (no ROS): the encoder
writes compressed_depth_image_transport's layout, the decoder reads it back (16UC1 lossless; 32FC1 within one
inverse-depth quantisation step), and 3-D centroids of the arc2017 objects agree with the raw depth's."""
import struct

import cv2
import numpy as np
import pytest

from gear_seg_ros import compressed_depth as cd
from gear_seg_ros.errors import InvalidImageError
from gear_seg_ros.geometry.target import target_geometry

DEPTH_MAX = 10.0


@pytest.fixture(scope="module")
def depth(arc2017):
    d = arc2017["depth"].astype(np.float32)
    return np.where(np.isfinite(d) & (d < DEPTH_MAX), d, np.nan).astype(np.float32)  # the publisher drops >= 10 m


def millimetres(depth):
    return np.nan_to_num(depth * 1000.0, nan=0.0).round().astype(np.uint16)


def test_layout_is_header_then_png(depth):
    fmt, data = cd.encode(depth, "png")
    assert fmt == "32FC1; compressedDepth png"
    kind, qa, qb = struct.unpack("<iff", data[:12])
    assert kind == 0 and qa == pytest.approx(100 * 101) and qb == pytest.approx(1 - 10100 / 10.0)
    inv = cv2.imdecode(np.frombuffer(data[12:], np.uint8), cv2.IMREAD_UNCHANGED)  # any PNG reader sees it
    assert inv.dtype == np.uint16 and inv.shape == depth.shape
    ok = np.isfinite(depth)
    np.testing.assert_array_equal(inv[~ok], 0)
    np.testing.assert_array_equal(inv[ok], np.floor(np.float32(qa) / depth[ok] + np.float32(qb)).astype(np.uint16))


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_16uc1_is_lossless(depth, codec):
    mm = millimetres(depth)
    fmt, data = cd.encode(mm, codec)
    assert fmt == f"16UC1; compressedDepth {codec}" and len(data) < mm.nbytes / 2
    encoding, back = cd.decode(fmt, data)
    assert encoding == "16UC1" and back.dtype == np.uint16
    np.testing.assert_array_equal(back, mm)
    metres = cd.decode_metres(fmt, data)
    assert np.array_equal(np.isnan(metres), mm == 0)


@pytest.mark.parametrize("codec", ["png", "rvl"])
def test_32fc1_within_one_quantisation_step(depth, codec):
    fmt, data = cd.encode(depth, codec)
    back = cd.decode_metres(fmt, data)
    ok = np.isfinite(depth)
    assert np.array_equal(np.isfinite(back), ok)
    err = back[ok] - depth[ok]
    step = np.array([cd.quantisation_step(float(z)) for z in depth[ok][:: 97]])
    assert err.min() >= -1e-6  # truncation only ever moves the inverse depth down, the depth up
    assert np.all(np.abs(err[:: 97]) <= step * 1.001 + 1e-6)
    assert cd.quantisation_step(1.0) == pytest.approx(1.0 / 10100, rel=0.01)  # 0.1 mm at 1 m


def test_rvl_on_edge_cases():
    for raw in (np.zeros((4, 6), np.uint16), np.full((3, 5), 65535, np.uint16),
                np.array([[0, 0, 1, 65535, 0], [7, 0, 0, 0, 3]], np.uint16),
                np.random.default_rng(0).integers(0, 2**16, (31, 17)).astype(np.uint16)):
        back = cd.rvl_decode(np.frombuffer(cd.rvl_encode(raw), np.uint8))
        np.testing.assert_array_equal(back, raw)
    # Wilson's nibble layout: 3 value bits + a continuation bit, first nibble in the top of a 32-bit word
    stream = cd.rvl_encode(np.array([[0, 0, 5]], np.uint16))  # zeros=2, nonzeros=1, zigzag(5)=10 -> 2|8, 1
    assert struct.unpack("<II", stream[:8]) == (3, 1)
    assert struct.unpack("<I", stream[8:12])[0] == 0x21A10000


@pytest.mark.parametrize("index", range(8))
def test_centroids_of_the_arc2017_objects(arc2017, depth, index):
    mask = arc2017["masks"][index].astype(bool)
    k = arc2017["camera_info"]["K"]
    raw = target_geometry(mask, depth, k).centroid
    mm_raw = target_geometry(mask, millimetres(depth) * np.float32(0.001), k).centroid
    via16 = target_geometry(mask, cd.decode_metres(*cd.encode(millimetres(depth))), k).centroid
    via32 = target_geometry(mask, cd.decode_metres(*cd.encode(depth)), k).centroid
    assert raw is not None and via16 is not None and via32 is not None
    assert np.linalg.norm(via16 - mm_raw) == 0.0  # lossless
    assert np.linalg.norm(via16 - raw) < 0.001  # 1 mm: millimetre rounding only
    # 32FC1 moves each depth by at most one quantisation step (test above); the centroid, a median of the points
    # that pass the outlier rules, moves by less than 0.03 mm, except on the thin scissors (0.28 mm), where a
    # quantised depth crosses the outlier band and the median lands on the neighbouring point
    assert np.linalg.norm(via32 - raw) <= 0.0005


def test_bad_messages_are_explained():
    fmt, data = cd.encode(np.ones((4, 4), np.uint16))
    with pytest.raises(InvalidImageError, match="not compressedDepth png or rvl"):
        cd.decode("16UC1; jpeg compressed bgr8", data)
    with pytest.raises(InvalidImageError, match="only 16UC1 .* and 32FC1"):
        cd.decode("rgb8; compressedDepth png", data)
    with pytest.raises(InvalidImageError, match="not more than its 12-byte header"):
        cd.decode(fmt, data[:12])
    with pytest.raises(InvalidImageError, match="16-bit single-channel PNG"):
        cd.decode(fmt, data[:12] + b"garbage")
    _ok, png8 = cv2.imencode(".png", np.zeros((4, 4), np.uint8))
    with pytest.raises(InvalidImageError, match=r"uint8 \(4, 4\)"):
        cd.decode(fmt, data[:12] + png8.tobytes())
    with pytest.raises(InvalidImageError, match="malformed compressedDepth rvl image"):
        cd.decode("16UC1; compressedDepth rvl", data[:12] + struct.pack("<II", 0, 10) + bytes(8))
    with pytest.raises(InvalidImageError, match="rvl stream: a run goes past the image"):
        cd.decode("16UC1; compressedDepth rvl", data[:12] + struct.pack("<II", 2, 2) + struct.pack("<I", 0x70000000))
    assert cd.parse_format("16UC1") == ("16UC1", "png") and cd.parse_format("32FC1; compressedDepth") == \
        ("32FC1", "png")
