"""The pinhole camera as the geometry sees it: intrinsics from a camera_info K, image sizes that must agree.

Pure numpy, no ROS: K is the row-major 3x3 of sensor_msgs/CameraInfo (or the matrix itself).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gear_seg_ros.errors import InvalidImageError


def intrinsics(k: Sequence[float] | np.ndarray, which: str = "") -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) from a 3x3 K or its 9 row-major values; `which` names the camera in the error."""
    k = np.asarray(k, dtype=np.float64).reshape(-1)
    if k.size != 9 or not np.all(np.isfinite(k)) or not (k[0] > 0 and k[4] > 0):
        name = f"{which} camera_info" if which else "camera_info"
        raise InvalidImageError(f"{name} K={k.tolist()} has no valid focal length; the camera driver must publish "
                                "a calibrated camera_info (fx = K[0] > 0, fy = K[4] > 0, all entries finite)")
    return float(k[0]), float(k[4]), float(k[2]), float(k[5])


def check_depth_size(depth_shape: tuple[int, ...], image_shape: tuple[int, ...], info_size: tuple[int, int] = (0, 0)
                     ) -> None:
    """Raise unless depth (and camera_info, when it gives a size) match the colour image's H x W."""
    (h, w), (dh, dw) = image_shape[:2], depth_shape[:2]
    if (dh, dw) != (h, w):
        raise InvalidImageError(
            f"depth image is {dw}x{dh} but the colour image is {w}x{h}; subscribe depth registered to the colour "
            "camera (e.g. realsense2_camera align_depth.enable:=true, remap depth:=.../aligned_depth_to_color/"
            "image_raw) or set use_depth:=false")
    iw, ih = info_size
    if iw and ih and (ih, iw) != (h, w):
        raise InvalidImageError(f"camera_info is for {iw}x{ih} but the colour image is {w}x{h}; remap camera_info to "
                                "the colour camera's camera_info topic")
