"""CPU tracker: OpenCV DIS dense optical flow, computed once per frame at a reduced size, warps every target mask.

The flow is computed backwards (new frame -> previous frame), so each new pixel looks up where it came from and
`cv2.remap` pulls the previous mask (and the previous grey image) over: no holes, unlike pushing pixels forwards.
Score = photometric agreement inside the warped mask, exp(-mean |I_t - warp(I_t-1)| / photometric_sigma); the base
class multiplies in the area change and handles depth, cleaning, loss and re-association.
"""
from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from gear_seg_ros.track import masks as mk
from gear_seg_ros.track.base import Track, Tracker

WHOLE_FRAME_SHARE = 0.5  # targets' windows covering this share of the frame: remap grey / depth once for it

PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
           "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


class OpticalFlowTracker(Tracker):
    name = "optical_flow"

    def __init__(self, cfg: Any, base_dir: str = "") -> None:
        super().__init__(cfg, base_dir)
        self.flow_cfg = cfg.optical_flow
        self._dis = cv2.DISOpticalFlow_create(PRESETS[self.flow_cfg.preset])
        if self.flow_cfg.finest_scale >= 0:
            self._dis.setFinestScale(self.flow_cfg.finest_scale)
        if self.flow_cfg.patch_stride:
            self._dis.setPatchStride(self.flow_cfg.patch_stride)
        if self.flow_cfg.gradient_iterations:
            self._dis.setGradientDescentIterations(self.flow_cfg.gradient_iterations)
        self._prev_small: np.ndarray | None = None
        self._prev_grey: np.ndarray | None = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self._prev_depth: np.ndarray | None = None

    def _small(self, grey: np.ndarray) -> np.ndarray:
        h, w = grey.shape
        s = min(1.0, self.flow_cfg.work_side / max(h, w))
        if s >= 1.0:
            return grey
        return cv2.resize(grey, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)

    def _start(self, image: np.ndarray, depth: np.ndarray | None) -> None:
        self._prev_grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        self._prev_small = self._small(self._prev_grey)
        self._prev_depth = depth
        h, w = self._prev_grey.shape
        self._grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def flow_to_previous(self, grey: np.ndarray) -> np.ndarray:
        """H x W x 2 float32 displacement (pixels of the full image) from each new pixel to the previous frame."""
        small = self._small_now = self._small(grey)
        flow = self._dis.calc(small, self._prev_small, None)
        h, w = grey.shape
        if flow.shape[:2] != (h, w):
            sx, sy = w / small.shape[1], h / small.shape[0]
            flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
            flow[..., 0] *= sx
            flow[..., 1] *= sy
        return flow

    def _propagate(self, image: np.ndarray, depth: np.ndarray | None, tracks: list[Track]
                   ) -> list[tuple[np.ndarray, float]]:
        t0 = time.perf_counter()
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        flow = self.flow_to_previous(grey)
        t1 = time.perf_counter()
        gx, gy = self._grid
        h, w = grey.shape
        sigma, jump_rel, jump_min = (self.flow_cfg.photometric_sigma, self.flow_cfg.depth_jump_rel,
                                     self.flow_cfg.depth_jump_min_m)
        gate = depth is not None and self._prev_depth is not None and jump_rel > 0
        windows = []
        for t in tracks:
            # New pixels that can land in the previous box: that box grown by the largest motion inside it.
            x0, y0, x1, y1 = t.box
            reach = int(np.ceil(np.abs(flow[y0:y1, x0:x1]).max())) + 2 if x1 > x0 and y1 > y0 else 2
            windows.append(mk.pad_box(t.box, reach, (h, w)))
        # Where the windows cover most of the frame, the previous grey image and depth are pulled over once for the
        # whole frame (remap is per pixel: a window of the result equals the window's own remap): fewer, larger calls.
        whole = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in windows) >= WHOLE_FRAME_SHARE * h * w
        if whole:
            maps = (gx + flow[..., 0], gy + flow[..., 1])
            grey_all = cv2.remap(self._prev_grey, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            depth_all = cv2.remap(self._prev_depth, *maps, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                                  borderValue=np.nan) if gate else None
        out = []
        for t, (rx0, ry0, rx1, ry1) in zip(tracks, windows):
            if whole:
                mx, my = maps[0][ry0:ry1, rx0:rx1], maps[1][ry0:ry1, rx0:rx1]
            else:
                mx = gx[ry0:ry1, rx0:rx1] + flow[ry0:ry1, rx0:rx1, 0]
                my = gy[ry0:ry1, rx0:rx1] + flow[ry0:ry1, rx0:rx1, 1]
            prev = t.extra.get("soft")
            if prev is None:
                prev = t.mask.view(np.uint8) * np.uint8(255)
            soft = cv2.remap(prev, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            t.extra["warped"] = (soft, (rx0, ry0, rx1, ry1))
            warped = soft > 127
            if gate:
                # nearest, not linear: a depth edge must not blend two surfaces into a depth neither has
                came = depth_all[ry0:ry1, rx0:rx1] if whole else cv2.remap(
                    self._prev_depth, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=np.nan)
                with np.errstate(invalid="ignore"):
                    diff = depth[ry0:ry1, rx0:rx1] - came  # NaN where either frame has no reading
                    both = warped & np.isfinite(diff)
                    if both.any():
                        # the camera's own motion moves the whole target's depth: measure jumps from that shift
                        jump = np.abs(diff - np.median(diff[both][::4])) > np.maximum(jump_rel * came, jump_min)
                        if np.count_nonzero(jump & warped) < 0.5 * np.count_nonzero(warped):  # else: trust flow
                            warped &= ~jump
            mask = np.zeros((h, w), bool)
            mask[ry0:ry1, rx0:rx1] = warped
            if warped.any():
                before = grey_all[ry0:ry1, rx0:rx1] if whole else cv2.remap(
                    self._prev_grey, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                resid = cv2.absdiff(grey[ry0:ry1, rx0:rx1], before)[warped]
                score = float(np.exp(-float(resid.mean()) / sigma))
            else:
                score = 0.0
            out.append((mask, score))
        self.last_timings = {"flow_s": t1 - t0, "warp_s": time.perf_counter() - t1}
        self._grey = grey
        return out

    def _commit(self, image: np.ndarray, depth: np.ndarray | None, tracks: list[Track]) -> None:
        self._prev_grey, self._prev_small, self._prev_depth = self._grey, self._small_now, depth
        ring = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
        for t in tracks:
            warped, roi = t.extra.pop("warped", (None, None))
            if warped is None or t.snapped:
                t.extra["soft"] = None
                continue
            # Carry the warped mask's partial pixels at the boundary to the next frame: thresholding every frame
            # would round away sub-pixel growth (an approaching object would stop growing) and thin parts.
            x0, y0, x1, y1 = roi
            inside = t.mask[y0:y1, x0:x1].view(np.uint8)
            near = cv2.dilate(inside, ring).astype(bool)
            soft = np.zeros(t.mask.shape, np.uint8)
            soft[y0:y1, x0:x1] = np.where(inside.astype(bool), np.maximum(warped, 128), np.where(near, warped, 0))
            bx0, by0, bx1, by1 = t.box
            if bx0 < x0 or by0 < y0 or bx1 > x1 or by1 > y1:  # mask pixels outside the warped window
                outside = t.mask.copy()
                outside[y0:y1, x0:x1] = False
                soft[outside] = 255
            t.extra["soft"] = soft
