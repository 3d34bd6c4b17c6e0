"""sensor_msgs Image / CompressedImage <-> numpy, without cv_bridge (not pip-installable for ROS 2).

Reading takes any object with the Image fields (height, width, encoding, is_bigendian, step, data), so the numpy
parts are testable without ROS. Building messages imports sensor_msgs lazily.
"""
from __future__ import annotations

import array
import sys
from typing import Any

import numpy as np

from gear_seg_ros.errors import InvalidImageError

# encoding -> (dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "mono8": (np.dtype(np.uint8), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}
COLOR_ENCODINGS = ("rgb8", "bgr8", "mono8")
DEPTH_ENCODINGS = ("16UC1", "32FC1")
_FIX = ("set the camera driver to publish one of {0} (e.g. realsense2_camera rgb_camera.color_format:=RGB8), "
        "or convert with image_proc")


def check_image(msg: Any, allowed: tuple[str, ...] = tuple(ENCODINGS)) -> tuple[np.dtype, int, int]:
    """Validates encoding, size and step without touching pixels; returns (dtype, channels, row bytes)."""
    enc = msg.encoding
    if enc not in ENCODINGS or enc not in allowed:
        raise InvalidImageError(f"unsupported image encoding {enc!r}; " + _FIX.format(", ".join(allowed)))
    dtype, channels = ENCODINGS[enc]
    h, w = int(msg.height), int(msg.width)
    if h <= 0 or w <= 0:
        raise InvalidImageError(f"empty {enc} image ({w}x{h}); the publisher must fill height and width")
    row = w * channels * dtype.itemsize
    step = int(msg.step)
    if step < row:
        raise InvalidImageError(
            f"{enc} image step {step} is smaller than width*channels*bytes = {w}*{channels}*{dtype.itemsize} = {row}; "
            f"the publisher must set step = {row} (or more, for padded rows)")
    if len(msg.data) != step * h:
        raise InvalidImageError(
            f"{enc} image data has {len(msg.data)} bytes but step*height = {step}*{h} = {step * h}; "
            "the publisher must fill data with height rows of step bytes")
    return dtype, channels, row


def image_to_numpy(msg: Any, allowed: tuple[str, ...] = tuple(ENCODINGS)) -> np.ndarray:
    """H x W (x C) array viewing `msg.data` (zero-copy when rows are unpadded and byte order is native)."""
    dtype, channels, row = check_image(msg, allowed)
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    rows = buf.reshape(h, step)[:, :row]
    swapped = dtype.itemsize > 1 and bool(msg.is_bigendian) != (sys.byteorder == "big")
    dt = dtype.newbyteorder() if swapped else dtype
    out = (np.ascontiguousarray(rows) if step != row else rows).view(dt)
    if swapped:
        out = out.astype(dtype)  # to native byte order
    return out.reshape(h, w, channels) if channels > 1 else out.reshape(h, w)


def image_to_rgb(msg: Any) -> np.ndarray:
    """RGB uint8 H x W x 3 for the agent, from rgb8 / bgr8 / mono8."""
    arr = image_to_numpy(msg, allowed=COLOR_ENCODINGS)
    if msg.encoding == "bgr8":
        import cv2

        return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    if msg.encoding == "mono8":
        return np.repeat(arr[:, :, None], 3, axis=2)
    return arr


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


def numpy_to_image(arr: np.ndarray, encoding: str, header: Any | None = None) -> Any:
    """sensor_msgs/Image from an array whose dtype/channels match `encoding`."""
    from sensor_msgs.msg import Image

    if encoding not in ENCODINGS:
        raise InvalidImageError(f"cannot build an Image with encoding {encoding!r}; use one of {list(ENCODINGS)}")
    dtype, channels = ENCODINGS[encoding]
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.ndim != (3 if channels > 1 else 2) or (channels > 1 and arr.shape[2] != channels):
        raise InvalidImageError(f"array of shape {arr.shape} does not fit encoding {encoding} ({channels} channel(s))")
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = sys.byteorder == "big"
    msg.step = msg.width * channels * dtype.itemsize
    msg.data = array.array("B", arr.view(np.uint8).tobytes())
    return msg


def mask_to_image(mask: np.ndarray, header: Any | None = None) -> Any:
    """mono8 Image, 255 inside the mask, 0 outside (header = the source frame's)."""
    mask = np.asarray(mask)
    if mask.dtype != bool:
        mask = mask > 0
    return numpy_to_image(mask.view(np.uint8) * np.uint8(255), "mono8", header)
