"""Depth from its own camera into the colour camera: back-project with the depth K, transform with the extrinsics,
project with the colour K, z-buffer (nearest surface wins), leave holes empty (NaN).

Images are taken as rectified (no distortion model applied: subscribe `image_rect` / `image_rect_raw` streams).
The extrinsics map a point in the depth optical frame into the colour optical frame, p_c = R p_d + t: the transform
`ros2 run tf2_ros tf2_echo <colour optical frame> <depth optical frame>` prints (translation x y z, rotation as a
quaternion x y z w). Each depth pixel lands on one colour pixel (rounded), so a depth camera with fewer pixels than
the colour one leaves regular gaps; the 3-D centroid (median of the valid pixels) does not need them filled.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gear_seg_ros.errors import ConfigError
from gear_seg_ros.geometry.camera import intrinsics


def quaternion_matrix(q: Sequence[float]) -> np.ndarray:
    """3x3 rotation from a quaternion (x, y, z, w), as geometry_msgs and tf2 order it; normalised first."""
    q = np.asarray(q, np.float64).reshape(-1)
    if q.size != 4 or not np.all(np.isfinite(q)) or np.linalg.norm(q) < 1e-9:
        raise ConfigError(f"rotation quaternion {q.tolist()} must be 4 finite numbers [x, y, z, w], not all zero "
                          "(identity: [0.0, 0.0, 0.0, 1.0])")
    x, y, z, w = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def reproject_depth(depth_m: np.ndarray, k_depth: Sequence[float], k_colour: Sequence[float],
                    colour_hw: tuple[int, int], rotation: np.ndarray | Sequence[float] = (0.0, 0.0, 0.0, 1.0),
                    translation: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """float32 metres in the colour camera (H x W = colour_hw), NaN where no depth pixel landed.

    depth_m: float metres in the depth camera (NaN / 0 = no reading). rotation: 3x3 matrix or quaternion (x, y, z, w).
    """
    fx, fy, cx, cy = intrinsics(k_depth, "depth")
    gx, gy, gcx, gcy = intrinsics(k_colour, "colour")
    r = np.asarray(rotation, np.float64)
    r = quaternion_matrix(r) if r.size == 4 else r.reshape(3, 3)
    t = np.asarray(translation, np.float64).reshape(3)
    h, w = int(colour_hw[0]), int(colour_hw[1])
    out = np.full(h * w, np.inf, np.float32)
    z = np.asarray(depth_m, np.float32)
    vs, us = np.nonzero(np.isfinite(z) & (z > 0))
    if vs.size:
        d = z[vs, us].astype(np.float64)
        pts = np.stack([(us - cx) * d / fx, (vs - cy) * d / fy, d])  # 3 x N, depth optical frame
        pc = r @ pts + t[:, None]
        zc = pc[2]
        front = zc > 1e-6
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.rint(gx * pc[0] / zc + gcx)
            v = np.rint(gy * pc[1] / zc + gcy)
        inside = front & (u >= 0) & (u < w) & (v >= 0) & (v < h)
        idx = (v[inside] * w + u[inside]).astype(np.int64)
        zc = zc[inside].astype(np.float32)
        np.minimum.at(out, idx, zc)  # z-buffer: the nearest surface wins
    out[np.isinf(out)] = np.nan
    return out.reshape(h, w)
