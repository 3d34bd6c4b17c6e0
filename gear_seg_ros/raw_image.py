"""Camera images as raw bytes + encoding -> numpy, without ROS (and without cv_bridge, not pip-installable for ROS 2).

An image is any object with the fields of a sensor_msgs/Image (height, width, encoding, is_bigendian, step, data);
a compressed one has those of a CompressedImage (format, data). The ROS shell passes its messages as they are;
benchmarks and tests pass a SimpleNamespace. Building messages from arrays is the shell's (ros/conversions.py).
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from gear_seg_ros import image_encodings
from gear_seg_ros.errors import InvalidImageError

# encoding -> (dtype, channels) of the depth / basic encodings; colour ones are in gear_seg_ros.image_encodings
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "mono8": (np.dtype(np.uint8), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}
COLOR_ENCODINGS = tuple(image_encodings.COLOUR)
DEPTH_ENCODINGS = ("16UC1", "32FC1")
ALL_ENCODINGS = tuple(dict.fromkeys(tuple(ENCODINGS) + COLOR_ENCODINGS))
_FIX = ("set the camera driver to publish one of {0} (e.g. realsense2_camera rgb_camera.color_format:=RGB8), "
        "or convert with image_proc")


def _layout(enc: str, allowed: tuple[str, ...]) -> tuple[np.dtype, int, int]:
    """(sample dtype, samples per pixel, data rows per image row x 2) of `enc`, or a message naming the fix."""
    if enc in allowed and enc in ENCODINGS:
        dtype, channels = ENCODINGS[enc]
        return dtype, channels, 2
    if enc in allowed or allowed == COLOR_ENCODINGS:
        spec = image_encodings.lookup(enc)  # raises with the closest accepted encoding and a driver setting
        return spec.np_dtype, spec.channels, spec.rows_x2
    raise InvalidImageError(f"unsupported image encoding {enc!r}; " + _FIX.format(", ".join(allowed)))


def check_image(msg: Any, allowed: tuple[str, ...] = ALL_ENCODINGS) -> tuple[np.dtype, int, int]:
    """Validates encoding, size and step without touching pixels; returns (dtype, channels, row bytes)."""
    enc = msg.encoding
    dtype, channels, rows_x2 = _layout(enc, allowed)
    h, w = int(msg.height), int(msg.width)
    if h <= 0 or w <= 0:
        raise InvalidImageError(f"empty {enc} image ({w}x{h}); the publisher must fill height and width")
    if enc in image_encodings.COLOUR and enc in allowed:
        image_encodings.check_shape(image_encodings.COLOUR[enc], h, w)
    row = w * channels * dtype.itemsize
    step = int(msg.step)
    if step < row:
        raise InvalidImageError(
            f"{enc} image step {step} is smaller than width*channels*bytes = {w}*{channels}*{dtype.itemsize} = {row}; "
            f"the publisher must set step = {row} (or more, for padded rows)")
    rows = h * rows_x2 // 2
    if len(msg.data) != step * rows:
        what = f"step*height = {step}*{h}" if rows_x2 == 2 else f"step*height*3/2 = {step}*{h}*3/2"
        raise InvalidImageError(
            f"{enc} image data has {len(msg.data)} bytes but {what} = {step * rows}; "
            "the publisher must fill data with height rows of step bytes" + ("" if rows_x2 == 2 else
                                                                              " plus height/2 chroma rows"))
    return dtype, channels, row


def image_to_numpy(msg: Any, allowed: tuple[str, ...] = ALL_ENCODINGS) -> np.ndarray:
    """H x W (x C) array viewing `msg.data` (zero-copy when rows are unpadded and byte order is native);
    nv12 / nv21: the (H * 3/2) x W plane stack."""
    dtype, channels, row = check_image(msg, allowed)
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    h = len(msg.data) // step  # data rows (nv12: 3/2 of the image rows)
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    rows = buf.reshape(h, step)[:, :row]
    swapped = dtype.itemsize > 1 and bool(msg.is_bigendian) != (sys.byteorder == "big")
    dt = dtype.newbyteorder() if swapped else dtype
    out = (np.ascontiguousarray(rows) if step != row else rows).view(dt)
    if swapped:
        out = out.astype(dtype)  # to native byte order
    return out.reshape(h, w, channels) if channels > 1 else out.reshape(h, w)


def image_to_rgb(msg: Any, max16: float = 65535) -> np.ndarray:
    """RGB uint8 H x W x 3 for the agent, from any encoding of gear_seg_ros.image_encodings (16-bit ones scaled
    with full scale `max16`, 0 = each frame's maximum)."""
    arr = image_to_numpy(msg, allowed=COLOR_ENCODINGS)
    if msg.encoding == "rgb8":
        return arr
    return image_encodings.to_rgb(arr, msg.encoding, max16)


def compressed_to_rgb(msg: Any) -> np.ndarray:
    """RGB uint8 from a sensor_msgs/CompressedImage (jpeg / png) via cv2.imdecode."""
    import cv2

    fmt = (msg.format or "").lower()
    if "compresseddepth" in fmt:
        raise InvalidImageError(f"CompressedImage format {msg.format!r} is a depth stream; subscribe the colour "
                                "stream's image/compressed (jpeg or png) instead")
    data = np.frombuffer(msg.data, np.uint8)
    try:
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error:
        bgr = None
    if bgr is None:
        raise InvalidImageError(f"could not decode CompressedImage (format {msg.format!r}, {len(msg.data)} bytes); "
                                "publish jpeg or png, or set use_compressed:=false and subscribe the raw image")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def depth_to_metres(msg: Any) -> np.ndarray:
    """float32 metres from 16UC1 (millimetres) or 32FC1 (metres); invalid pixels become NaN."""
    arr = image_to_numpy(msg, allowed=DEPTH_ENCODINGS)
    if msg.encoding == "16UC1":
        out = arr.astype(np.float32) * np.float32(0.001)
        out[arr == 0] = np.nan
        return out
    out = arr.astype(np.float32, copy=True)
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out
