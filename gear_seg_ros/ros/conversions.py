"""numpy -> sensor_msgs Image, without cv_bridge (not pip-installable for ROS 2). Reading images is ROS-free:
gear_seg_ros/raw_image.py."""
from __future__ import annotations

import array
import sys
from typing import Any

import numpy as np

from gear_seg_ros import image_encodings
from gear_seg_ros.errors import InvalidImageError
from gear_seg_ros.raw_image import ENCODINGS


def numpy_to_image(arr: np.ndarray, encoding: str, header: Any | None = None) -> Any:
    """sensor_msgs/Image from an array whose dtype/channels match `encoding` (colour encodings: the layout
    image_encodings.from_rgb returns, e.g. H x 2W for yuv422, (H * 3/2) x W for nv12)."""
    from sensor_msgs.msg import Image

    if encoding in ENCODINGS:
        dtype, channels = ENCODINGS[encoding]
        rows_x2 = 2
    elif encoding in image_encodings.COLOUR:
        spec = image_encodings.COLOUR[encoding]
        dtype, channels, rows_x2 = spec.np_dtype, spec.channels, spec.rows_x2
    else:
        raise InvalidImageError(f"cannot build an Image with encoding {encoding!r}; use one of "
                                f"{list(ENCODINGS) + image_encodings.accepted()}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    packed = channels == 2 and arr.ndim == 2  # 4:2:2 as H x 2W bytes
    if not packed and (arr.ndim != (3 if channels > 1 else 2) or (channels > 1 and arr.shape[2] != channels)):
        raise InvalidImageError(f"array of shape {arr.shape} does not fit encoding {encoding} ({channels} channel(s))")
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height = int(arr.shape[0]) * 2 // rows_x2
    msg.width = int(arr.shape[1]) // 2 if packed else int(arr.shape[1])
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
