"""The tracker interface and the steps every backend shares.

A backend only predicts each target's mask on the new frame (`_propagate`); this class holds the predicted mask on
the object with depth, cleans it, scores it, decides TRACKED / PREDICTED / LOST, and re-associates tracks with the
segmenter's proposals when a new perception is given. Track ids are handed out once, never re-used, never swapped:
re-association changes a track's mask, never its id, and matches one proposal to at most one track.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gear_seg_ros.errors import InvalidImageError
from gear_seg_ros.track import masks as mk

# Same values as gear_seg_msgs/GraspTarget TRACK_TRACKED / TRACK_PREDICTED / TRACK_LOST.
TRACKED, PREDICTED, LOST = 1, 2, 3
STATE_NAMES = {TRACKED: "tracked", PREDICTED: "predicted", LOST: "lost"}


@dataclass
class TrackState:
    """One target on one frame. `mask` is bool H x W; `reason` says why a track was lost or re-associated."""

    track_id: int
    source_id: int  # the answer's mask id the track started from
    state: int
    score: float
    mask: np.ndarray
    box: mk.Box
    area: int
    frames: int  # updates since start
    reason: str = ""


@dataclass
class Track:
    track_id: int
    source_id: int
    mask: np.ndarray
    box: mk.Box
    area: int
    inner_area: int  # area when the mask last lay fully inside the image
    depth_m: float = float("nan")
    colour: np.ndarray | None = None  # mean RGB inside the mask, a slow running average over tracked frames
    state: int = TRACKED
    score: float = 1.0
    low_frames: int = 0
    frames: int = 0
    reason: str = ""
    snapped: bool = False  # re-associated with a proposal on this frame
    extra: dict = field(default_factory=dict)  # backend state (e.g. the box velocity)

    def snapshot(self) -> TrackState:
        return TrackState(self.track_id, self.source_id, self.state, float(self.score), self.mask, self.box,
                          self.area, self.frames, self.reason)


class Tracker(ABC):
    """start(image, masks, ids, depth) -> states; update(image, depth, proposals) -> states of the live tracks
    (a track appears once more with state LOST on the frame it is lost, then no more); stop()."""

    name = "tracker"

    def __init__(self, cfg: Any, base_dir: str = "") -> None:
        self.cfg = cfg
        self._tracks: list[Track] = []
        self._next_id = 1
        self._hw: tuple[int, int] | None = None
        self.last_timings: dict[str, float] = {}

    # ---- public API --------------------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return any(t.state != LOST for t in self._tracks)

    def start(self, image: np.ndarray, masks: Sequence[np.ndarray], ids: Sequence[int],
              depth: np.ndarray | None = None) -> list[TrackState]:
        """Replaces any current targets by `masks` (bool H x W, one per answer id); new track ids."""
        image = _check_image(image)
        hw = image.shape[:2]
        if len(masks) != len(ids):
            raise ValueError(f"{len(masks)} masks for {len(ids)} ids; give one id per mask")
        depth = _check_depth(depth, hw)
        tracks = []
        for m, source in zip(masks, ids):
            m = np.asarray(m, bool)
            if m.shape != hw:
                raise InvalidImageError(f"target mask is {m.shape[1]}x{m.shape[0]} but the image is "
                                        f"{hw[1]}x{hw[0]}; masks must come from the same frame")
            box = mk.box_of(m)
            area = int(np.count_nonzero(m))
            t = Track(self._next_id, int(source), m.copy(), box, area, area)
            if depth is not None:
                t.depth_m = mk.median_depth(m, depth, box)
            t.colour = _mean_colour(image, m, box)
            if area < self.cfg.min_area_px:
                t.state, t.reason = LOST, f"mask smaller than tracker.min_area_px={self.cfg.min_area_px}"
            self._next_id += 1
            tracks.append(t)
        self._tracks, self._hw = tracks, hw
        self._start(image, depth)
        out = [t.snapshot() for t in tracks]
        self._tracks = [t for t in tracks if t.state != LOST]
        return out

    def update(self, image: np.ndarray, depth: np.ndarray | None = None,
               proposals: Sequence[np.ndarray] | None = None) -> list[TrackState]:
        """Follows every live track onto `image`; `proposals` (bool H x W masks of THIS frame, e.g. from a new
        perception) re-associate tracks by IoU. Returns [] when nothing is tracked."""
        if not self._tracks:
            return []
        image = _check_image(image)
        if image.shape[:2] != self._hw:
            raise InvalidImageError(f"frame is {image.shape[1]}x{image.shape[0]} but tracking started on "
                                    f"{self._hw[1]}x{self._hw[0]}; start a new track on the new size")
        depth = _check_depth(depth, self._hw)
        t0 = time.perf_counter()
        predicted = self._propagate(image, depth, self._tracks)
        t1 = time.perf_counter()
        for t, (mask, score) in zip(self._tracks, predicted):
            self._settle(t, mask, score, image, depth)
        if proposals:
            self._reassociate(proposals)
        self._commit(image, depth, self._tracks)
        t2 = time.perf_counter()
        self.last_timings = {**self.last_timings, "propagate_s": t1 - t0, "settle_s": t2 - t1, "update_s": t2 - t0}
        out = [t.snapshot() for t in self._tracks]
        self._tracks = [t for t in self._tracks if t.state != LOST]
        return out

    def stop(self) -> int:
        """Drops every track; returns how many were live."""
        n, self._tracks = len(self._tracks), []
        return n

    # ---- backend hooks -----------------------------------------------------------------------------------------
    @abstractmethod
    def _start(self, image: np.ndarray, depth: np.ndarray | None) -> None:
        """Keep what the next update needs (e.g. the previous frame)."""

    @abstractmethod
    def _propagate(self, image: np.ndarray, depth: np.ndarray | None, tracks: list[Track]
                   ) -> list[tuple[np.ndarray, float]]:
        """(predicted bool mask on `image`, raw score 0..1) per track, from each track's previous mask."""

    def _commit(self, image: np.ndarray, depth: np.ndarray | None, tracks: list[Track]) -> None:
        """Called with the final masks of this frame (after re-association)."""

    # ---- shared steps ------------------------------------------------------------------------------------------
    def _settle(self, t: Track, mask: np.ndarray, score: float, image: np.ndarray,
                depth: np.ndarray | None) -> None:
        cfg, hw = self.cfg, self._hw
        t.frames += 1
        t.reason, t.snapped = "", False
        box = mk.box_of(mask)
        if depth is not None and np.isfinite(t.depth_m):
            mk.hold_on_depth(mask, depth, box, t.depth_m, cfg.depth_band_rel, cfg.depth_band_min_m)
        mask = mk.clean(mask, box, cfg.morph_kernel, cfg.keep_component_ratio)
        box = mk.box_of(mask)
        area = int(np.count_nonzero(mask[box[1]:box[3], box[0]:box[2]]))
        score = float(np.clip(score, 0.0, 1.0))
        if area and t.area:
            score *= min(area / t.area, t.area / area)  # a sudden area change is a bad sign
        colour = _mean_colour(image, mask, box) if area else None
        if colour is not None and t.colour is not None:
            score *= float(np.exp(-np.linalg.norm(colour - t.colour) / np.sqrt(3) / cfg.appearance_sigma))
        touches = box[0] <= 0 or box[1] <= 0 or box[2] >= hw[1] or box[3] >= hw[0]
        if area < cfg.min_area_px:
            t.state, t.reason = LOST, f"area {area} px below tracker.min_area_px={cfg.min_area_px}"
        elif area < cfg.collapse_ratio * t.area:
            t.state, t.reason = LOST, f"area collapsed from {t.area} to {area} px in one frame"
        elif touches and area < cfg.leave_ratio * t.inner_area:
            t.state, t.reason = LOST, "left the image"
        elif score < cfg.min_score:
            t.low_frames += 1
            t.state = LOST if t.low_frames >= cfg.max_low_score_frames else PREDICTED
            if t.state == LOST:
                t.reason = f"score below tracker.min_score={cfg.min_score} for {t.low_frames} frames"
        else:
            t.state, t.low_frames = TRACKED, 0
            if colour is not None:
                t.colour = colour if t.colour is None else 0.9 * t.colour + 0.1 * colour
        if not touches:
            t.inner_area = area
        if area:
            t.mask, t.box, t.area, t.score = mask, box, area, score
            if depth is not None and cfg.depth_band_rel > 0:
                z = mk.median_depth(mask, depth, box)
                t.depth_m = z if np.isfinite(z) else t.depth_m
        else:
            t.score = 0.0

    def _reassociate(self, proposals: Sequence[np.ndarray]) -> None:
        """Greedy one-to-one matching by IoU, best pairs first; a match at or above reassociate_iou snaps the
        track's mask to the proposal and keeps its id."""
        live = [t for t in self._tracks if t.state != LOST]
        props = [(p, mk.box_of(p)) for p in (np.asarray(p, bool) for p in proposals) if p.shape == self._hw]
        pairs = []
        for i, t in enumerate(live):
            for j, (p, pbox) in enumerate(props):
                v = mk.box_iou_masks(t.mask, t.box, p, pbox)
                if v >= self.cfg.reassociate_iou:
                    pairs.append((v, i, j))
        used_t, used_p = set(), set()
        for v, i, j in sorted(pairs, reverse=True):
            if i in used_t or j in used_p:
                continue
            used_t.add(i)
            used_p.add(j)
            t, (p, pbox) = live[i], props[j]
            t.mask, t.box, t.area = p.copy(), pbox, int(np.count_nonzero(p))
            t.state, t.low_frames, t.score, t.snapped = TRACKED, 0, max(t.score, v), True
            t.colour = None  # the snapped mask defines the object's colour from the next frame on
            t.reason = f"re-associated with a segmenter proposal (IoU {v:.2f})"


def _mean_colour(image: np.ndarray, mask: np.ndarray, box: mk.Box) -> np.ndarray | None:
    import cv2

    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return None
    return np.array(cv2.mean(image[y0:y1, x0:x1], mask=mask[y0:y1, x0:x1].view(np.uint8))[:3])


def _check_image(image: Any) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InvalidImageError(f"tracker expects an RGB uint8 H x W x 3 image, got {image.dtype} {image.shape}")
    return image


def _check_depth(depth: Any, hw: tuple[int, int]) -> np.ndarray | None:
    if depth is None:
        return None
    depth = np.asarray(depth, np.float32)
    if depth.shape != hw:
        raise InvalidImageError(f"depth is {depth.shape[::-1]} but the image is {hw[1]}x{hw[0]}; give depth "
                                "registered to the colour image, or none")
    return depth
