"""The depth image of a frame, in metres on the colour camera's pixel grid, from whatever the depth topic carries.

Raw sensor_msgs/Image (16UC1 mm / 32FC1 m) or image_transport's compressedDepth (use_compressed_depth); registered
to colour (depth_registered, the fast path: used as is) or on its own camera (depth_registered:=false: reprojected
with depth_camera_info, the extrinsics parameters and the colour camera_info). No rclpy import: messages are read
by their fields.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gear_seg_ros.errors import InvalidImageError


def depth_metres(msg: Any) -> np.ndarray:
    """float32 metres (NaN = no reading) from an Image or a compressedDepth CompressedImage."""
    if hasattr(msg, "format"):
        from gear_seg_ros.compressed_depth import decode_metres

        return decode_metres(msg.format, msg.data)
    from gear_seg_ros.raw_image import depth_to_metres

    return depth_to_metres(msg)


def depth_in_colour(msg: Any, colour_info: Any, colour_hw: tuple[int, int], params: Any,
                    depth_info: Any = None) -> np.ndarray:
    """Depth on the colour grid: as decoded when registered, else reprojected into the colour camera."""
    metres = depth_metres(msg)
    if getattr(params, "depth_registered", True):
        return metres
    from gear_seg_ros.geometry.reproject import reproject_depth

    if depth_info is None:
        raise InvalidImageError("depth_registered:=false needs the depth camera's camera_info: none received yet "
                                "on depth_camera_info; remap it (e.g. -r depth_camera_info:=/camera/depth/camera_info)")
    iw, ih = int(depth_info.width), int(depth_info.height)
    if iw and ih and (ih, iw) != metres.shape:
        raise InvalidImageError(f"depth image is {metres.shape[1]}x{metres.shape[0]} but depth_camera_info is for "
                                f"{iw}x{ih}; remap depth_camera_info to the depth stream's own camera_info")
    return reproject_depth(metres, depth_info.k, colour_info.k, colour_hw,
                           list(params.depth_to_color_rotation), list(params.depth_to_color_translation))
