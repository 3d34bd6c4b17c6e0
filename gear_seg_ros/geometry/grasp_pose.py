"""6-DoF grasp pose of one mask from a depth image registered to the colour image (pure numpy + OpenCV, no ROS).

Steps: erode the mask (edge pixels often see the background behind the object), back-project the valid depth
pixels, drop depth outliers outside a MAD band around the median depth, fit a plane to the remaining points and
drop the points far off it (salt noise that fell inside the depth band). The normal is a plane fit of the points
within `normal_radius_m` of the robust (per-axis median) centroid, turned towards the camera; the grasp point is
that centroid projected onto this local plane, i.e. on the visible surface. The box axes are z = -normal (into the object, = approach), x = the major principal axis of
the points projected onto the plane perpendicular to z, y = z x x; extents are percentile spreads along them.
Everything is in the camera optical frame (x right, y down, z forward), metres.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gear_seg_ros.errors import InvalidImageError


@dataclass(frozen=True)
class GraspPoseOptions:
    erode_px: int = 2  # mask erosion radius; skipped when it would leave fewer than min_points
    min_points: int = 30  # valid depth points needed for a pose
    min_depth_m: float = 0.05
    max_depth_m: float = 20.0
    mad_k: float = 3.0  # depth band = max(mad_k * 1.4826 * MAD, min_band_m) around the median depth
    min_band_m: float = 0.01
    plane_k: float = 3.0  # drop points off the fitted plane by more than plane_k robust sigmas ...
    plane_min_m: float = 0.02  # ... but never by less than this (curved objects keep their surface)
    normal_radius_m: float = 0.02  # neighbourhood of the centroid for the normal and the grasp point
    extent_percentile: float = 1.0  # extents = spread between this and (100 - this) percentile


@dataclass(frozen=True)
class GraspPose:
    position: np.ndarray  # (3,) grasp point on the visible surface
    rotation: np.ndarray  # (3, 3) columns: x major axis, y minor axis, z into the object (right-handed)
    quaternion: tuple[float, float, float, float]  # (x, y, z, w) of `rotation`
    extents: np.ndarray  # (3,) full box size along x, y, z; z is the depth spread of the visible surface only
    center: np.ndarray  # (3,) centre of the oriented box (for drawing it)
    normal: np.ndarray  # (3,) unit surface normal at the grasp point, towards the camera
    approach: np.ndarray  # (3,) unit direction the gripper moves along (= -normal = rotation[:, 2])
    n_points: int  # depth points used


def intrinsics(k: Sequence[float] | np.ndarray) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) from a 3x3 K or its 9 row-major values."""
    k = np.asarray(k, dtype=np.float64).reshape(-1)
    if k.size != 9 or not np.all(np.isfinite(k)) or k[0] <= 0 or k[4] <= 0:
        raise InvalidImageError(f"camera matrix K={k.tolist()} has no valid focal length; the camera driver must "
                                "publish a calibrated camera_info (fx = K[0] > 0, fy = K[4] > 0)")
    return float(k[0]), float(k[4]), float(k[2]), float(k[5])


def mask_points(mask: np.ndarray, depth_m: np.ndarray, k: Sequence[float] | np.ndarray,
                opts: GraspPoseOptions = GraspPoseOptions()) -> np.ndarray:
    """Inlier 3-D points (N x 3) of `mask` after erosion and the depth band; may be fewer than min_points."""
    if mask.shape != depth_m.shape[:2]:
        raise InvalidImageError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the depth image is "
                                f"{depth_m.shape[1]}x{depth_m.shape[0]}; use depth registered to the colour image")
    fx, fy, cx, cy = intrinsics(k)
    vs, us = _valid_pixels(_eroded(mask, opts.erode_px), depth_m, opts)
    if vs.size < opts.min_points and opts.erode_px > 0:
        vs, us = _valid_pixels(mask, depth_m, opts)
    if vs.size == 0:
        return np.zeros((0, 3))
    z = depth_m[vs, us].astype(np.float64)
    med = np.median(z)
    band = max(opts.mad_k * 1.4826 * np.median(np.abs(z - med)), opts.min_band_m)
    keep = np.abs(z - med) <= band
    us, vs, z = us[keep], vs[keep], z[keep]
    return np.stack([(us - cx) * z / fx, (vs - cy) * z / fy, z], axis=1)


def grasp_pose(mask: np.ndarray, depth_m: np.ndarray, k: Sequence[float] | np.ndarray,
               opts: GraspPoseOptions = GraspPoseOptions()) -> GraspPose | None:
    """Grasp pose of `mask` (bool H x W) from `depth_m` (float metres H x W, NaN/0 = no reading) and K; None when
    fewer than `opts.min_points` valid depth points remain."""
    pts = mask_points(mask, depth_m, k, opts)
    if len(pts) >= opts.min_points:
        pts = _plane_inliers(pts, opts)
    if len(pts) < opts.min_points:
        return None
    centre = np.median(pts, axis=0)
    dist2 = np.sum((pts - centre) ** 2, axis=1)
    near = pts[dist2 <= opts.normal_radius_m ** 2]
    if len(near) < opts.min_points:
        near = pts[np.argsort(dist2)[:opts.min_points]]
    normal = _plane_normal(near)
    if normal @ centre > 0:  # towards the camera (origin of the optical frame)
        normal = -normal
    # the per-axis median of a tilted surface lies off it: project it onto the local plane
    position = centre - ((centre - near.mean(axis=0)) @ normal) * normal
    rotation = _axes(pts, -normal)
    local = (pts - position) @ rotation
    lo, hi = np.percentile(local, [opts.extent_percentile, 100.0 - opts.extent_percentile], axis=0)
    return GraspPose(position=position, rotation=rotation, quaternion=quaternion(rotation), extents=hi - lo,
                     center=position + rotation @ ((lo + hi) / 2), normal=normal, approach=-normal,
                     n_points=len(pts))


def quaternion(r: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation matrix (Shepperd's method), w >= 0."""
    m = np.asarray(r, dtype=np.float64)
    t = np.trace(m)
    if t > 0:
        s = 2.0 * np.sqrt(1.0 + t)
        q = ((m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s)
    else:
        i = int(np.argmax(np.diag(m)))
        j, kk = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[kk, kk])
        q = [0.0, 0.0, 0.0, (m[kk, j] - m[j, kk]) / s]
        q[i], q[j], q[kk] = 0.25 * s, (m[j, i] + m[i, j]) / s, (m[kk, i] + m[i, kk]) / s
    q = np.asarray(q) / np.linalg.norm(q)
    return tuple(float(v) for v in (q if q[3] >= 0 else -q))


def _eroded(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask.astype(bool)
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.erode(mask.astype(np.uint8), kernel, borderValue=0).astype(bool)


def _valid_pixels(mask: np.ndarray, depth_m: np.ndarray, opts: GraspPoseOptions) -> tuple[np.ndarray, np.ndarray]:
    vs, us = np.nonzero(mask)
    z = depth_m[vs, us]
    ok = np.isfinite(z) & (z > opts.min_depth_m) & (z < opts.max_depth_m)
    return vs[ok], us[ok]


def _plane_normal(pts: np.ndarray) -> np.ndarray:
    centred = pts - pts.mean(axis=0)
    return np.linalg.eigh(centred.T @ centred)[1][:, 0]


def _plane_inliers(pts: np.ndarray, opts: GraspPoseOptions) -> np.ndarray:
    """Points within max(plane_k robust sigmas, plane_min_m) of a plane fitted to all of them."""
    n = _plane_normal(pts)
    res = np.abs((pts - np.median(pts, axis=0)) @ n)
    limit = max(opts.plane_k * 1.4826 * np.median(res), opts.plane_min_m)
    return pts[res <= limit]


def _axes(pts: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Columns x, y, z: x = major axis of the points projected onto the plane perpendicular to z."""
    centred = pts - pts.mean(axis=0)
    flat = centred - np.outer(centred @ z, z)
    w, v = np.linalg.eigh(flat.T @ flat)
    x = v[:, np.argmax(w)]
    x = x - (x @ z) * z
    x /= np.linalg.norm(x)
    if x[0] < -1e-9 or (abs(x[0]) <= 1e-9 and x[1] < 0):  # deterministic sign: x points right (then down)
        x = -x
    return np.stack([x, np.cross(z, x), z], axis=1)
