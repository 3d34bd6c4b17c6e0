"""3-D centroid of a mask from a depth image registered to the colour image (pure numpy, no ROS).

Holes (0 / NaN) are skipped; gross depth outliers (mask edges that hit the floor behind, flying pixels) are
rejected with a band around the median depth: max(mad_k * 1.4826 * MAD, rel_band * median, min_band_m). The band
is wide on purpose (20 % of the distance by default) so that an object with two depth layers (a handle above a
tray) keeps both. The centroid is the per-axis median of the remaining back-projected points, in metres, in the
camera optical frame (x right, y down, z forward).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gear_seg_ros.errors import InvalidImageError


@dataclass
class Centroid3D:
    x: float = float("nan")
    y: float = float("nan")
    z: float = float("nan")
    valid: bool = False
    n_pixels: int = 0  # mask pixels with valid depth that were used


def intrinsics(k: Sequence[float]) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) from a row-major 3x3 K (sensor_msgs/CameraInfo.k)."""
    k = [float(v) for v in k]
    if len(k) != 9 or not np.isfinite(k).all() or not (k[0] > 0 and k[4] > 0):  # NaN compares False: say > 0
        raise InvalidImageError(f"camera_info K={k} has no valid focal length; the camera driver must publish a "
                                "calibrated camera_info (fx = K[0] > 0, fy = K[4] > 0, all entries finite)")
    return k[0], k[4], k[2], k[5]


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


def mask_centroid_3d(mask: np.ndarray, depth_m: np.ndarray, k: Sequence[float], min_depth: float = 0.05,
                     max_depth: float = 20.0, mad_k: float = 3.0, rel_band: float = 0.2,
                     min_band_m: float = 0.01) -> Centroid3D:
    """Robust 3-D centroid of `mask` (bool H x W) given `depth_m` (float metres H x W, NaN/0 = no reading)."""
    check_depth_size(depth_m.shape, mask.shape)
    fx, fy, cx, cy = intrinsics(k)
    vs, us = np.nonzero(mask)
    z = depth_m[vs, us].astype(np.float64)
    ok = np.isfinite(z) & (z > min_depth) & (z < max_depth)
    if not ok.any():
        return Centroid3D()
    us, vs, z = us[ok], vs[ok], z[ok]
    med = np.median(z)
    band = max(mad_k * 1.4826 * np.median(np.abs(z - med)), rel_band * med, min_band_m)
    keep = np.abs(z - med) <= band
    us, vs, z = us[keep], vs[keep], z[keep]
    x = (us - cx) * z / fx
    y = (vs - cy) * z / fy
    return Centroid3D(float(np.median(x)), float(np.median(y)), float(np.median(z)), True, int(z.size))
