"""Numpy building blocks of SAM's automatic mask generator ("segment everything"), shared by the ONNX backend.

Each function reproduces the arithmetic of the official `sam2` code path it replaces (named in its docstring), so
that the ONNX generator returns the same masks as SAM2AutomaticMaskGenerator for the same weights. No torch, no
torchvision, no per-mask Python loops.
"""
from __future__ import annotations

import numpy as np


def build_point_grid(n_per_side: int) -> np.ndarray:
    """(n*n, 2) points (x, y) in [0, 1], x varying fastest (sam2.utils.amg.build_point_grid)."""
    offset = 1.0 / (2 * n_per_side)
    side = np.linspace(offset, 1 - offset, n_per_side)
    xs = np.tile(side[None, :], (n_per_side, 1))
    ys = np.tile(side[:, None], (1, n_per_side))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def grid_prompts(n_per_side: int, image_hw: tuple[int, int], model_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid points in image pixels (float32) and in the model's input frame (float32, model_size x model_size).

    Same float32 steps as SAM2AutomaticMaskGenerator._process_batch + SAM2Transforms.transform_coords.
    """
    h, w = image_hw
    points = (build_point_grid(n_per_side) * np.array([[w, h]], dtype=np.float64)).astype(np.float32)
    scaled = points.copy()
    scaled[:, 0] = scaled[:, 0] / np.float32(w)
    scaled[:, 1] = scaled[:, 1] / np.float32(h)
    scaled = scaled * np.float32(model_size)
    return points, scaled


def antialias_resize_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) float32 weights of a separable bilinear resize with antialiasing.

    The triangle-filter scheme of PIL's BILINEAR resize, which torch's `interpolate(..., antialias=True)` (used by
    torchvision's Resize on tensors, as in SAM2Transforms) follows: when shrinking, the filter support widens with
    the scale; weights are normalised per output pixel.
    """
    scale = in_size / out_size
    support = max(scale, 1.0)  # bilinear filter support 1.0, widened when downsampling
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    centers = (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    xmin = np.maximum((centers - support + 0.5).astype(np.int64), 0)
    xmax = np.minimum((centers + support + 0.5).astype(np.int64), in_size)
    width = int((xmax - xmin).max())
    j = np.arange(width)[None, :]
    src = xmin[:, None] + j
    weights = np.clip(1.0 - np.abs((src - centers[:, None] + 0.5) * inv), 0.0, None)
    weights[src >= xmax[:, None]] = 0.0
    weights /= weights.sum(axis=1, keepdims=True)
    out = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.repeat(np.arange(out_size), width)
    valid = (src < xmax[:, None]).ravel()
    out[rows[valid], src.ravel()[valid]] = weights.ravel()[valid]
    return out.astype(np.float32)


def preprocess_image(image: np.ndarray, size: int, mean, std) -> np.ndarray:
    """RGB uint8 H x W x 3 -> 1 x 3 x size x size float32: /255, antialiased bilinear resize (aspect ratio NOT kept,
    as SAM 2 does), then (x - mean) / std. Same steps as SAM2Transforms (ToTensor, Resize, Normalize)."""
    h, w = image.shape[:2]
    chw = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)
    if (h, w) != (size, size):
        ry = antialias_resize_matrix(h, size)
        rx = antialias_resize_matrix(w, size)
        chw = np.matmul(np.matmul(ry[None], chw), rx.T[None])
    mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
    return ((chw - mean) / std)[None].astype(np.float32)


def _linear_indices(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of torch's bilinear interpolate with align_corners=False (no antialias)."""
    scale = np.float32(in_size / out_size)
    src = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    src = np.maximum(src, np.float32(0.0))
    i0 = np.minimum(src.astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    l1 = (src - i0.astype(np.float32)).astype(np.float32)
    l0 = (np.float32(1.0) - l1).astype(np.float32)
    return i0, i1, l0, l1


class LogitUpscaler:
    """Upscales low-resolution mask logits (K x h x w) to the image size (K x H x W) like
    `F.interpolate(masks, (H, W), mode="bilinear", align_corners=False)` (SAM2Transforms.postprocess_masks):
    columns first, then rows, gathers and two multiply-adds per pixel instead of dense resize matrices."""

    def __init__(self, low_hw: tuple[int, int], out_hw: tuple[int, int]) -> None:
        self.out_hw = out_hw
        self._bufs: tuple | None = None
        self.y = _linear_indices(low_hw[0], out_hw[0])
        self.x = _linear_indices(low_hw[1], out_hw[1])

    def __call__(self, logits: np.ndarray, reuse: bool = False) -> np.ndarray:
        """K x h x w float32 -> K x H x W float32. With reuse=True the result lives in a buffer that the next call
        overwrites (no page faults for fresh memory on every chunk); copy what must be kept."""
        x0, x1, lx0, lx1 = self.x
        y0, y1, ly0, ly1 = self.y
        k, h = len(logits), logits.shape[1]
        H, W = self.out_hw
        if reuse:
            if self._bufs is None or len(self._bufs[0]) < k:
                self._bufs = (np.empty((k, h, W), np.float32), np.empty((k, h, W), np.float32),
                              np.empty((k, H, W), np.float32), np.empty((k, H, W), np.float32))
            cols, tmp1, out, tmp2 = (b[:k] for b in self._bufs)
        else:
            cols = tmp1 = out = tmp2 = None
        # np.take + in-place multiply-adds: ~3x faster than fancy indexing with temporaries, same numbers
        cols = np.take(logits, x0, axis=2, out=cols)  # K x h x W
        cols *= lx0
        tmp1 = np.take(logits, x1, axis=2, out=tmp1)
        tmp1 *= lx1
        cols += tmp1
        out = np.take(cols, y0, axis=1, out=out)  # K x H x W
        out *= ly0[:, None]
        tmp2 = np.take(cols, y1, axis=1, out=tmp2)
        tmp2 *= ly1[:, None]
        out += tmp2
        return out


def stability_score(logits: np.ndarray, mask_threshold: float, offset: float) -> np.ndarray:
    """IoU of the masks thresholded at threshold +- offset (sam2.utils.amg.calculate_stability_score); NaN when
    both are empty (then it never passes a threshold, as in the official code)."""
    flat = logits.reshape(len(logits), -1)
    inter = np.count_nonzero(flat > (mask_threshold + offset), axis=1).astype(np.float32)
    union = np.count_nonzero(flat > (mask_threshold - offset), axis=1).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def masks_to_boxes(masks: np.ndarray) -> np.ndarray:
    """K x H x W bool -> K x 4 int (x0, y0, x1, y1) with INCLUSIVE x1/y1 and zeros for an empty mask
    (sam2.utils.amg.batched_mask_to_box)."""
    k, h, w = masks.shape
    if k == 0:
        return np.zeros((0, 4), dtype=np.int64)
    rows = masks.any(axis=2)
    cols = masks.any(axis=1)
    y0 = rows.argmax(axis=1)
    y1 = h - 1 - rows[:, ::-1].argmax(axis=1)
    x0 = cols.argmax(axis=1)
    x1 = w - 1 - cols[:, ::-1].argmax(axis=1)
    boxes = np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)
    boxes[~rows.any(axis=1)] = 0
    return boxes


def box_iou(boxes: np.ndarray) -> np.ndarray:
    """Pairwise IoU of K x 4 xyxy boxes, areas as (x1 - x0) * (y1 - y0) (torchvision.ops.box_iou)."""
    b = boxes.astype(np.float32)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = np.maximum(b[:, None, :2], b[None, :, :2])
    rb = np.minimum(b[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (area[:, None] + area[None, :] - inter)


def box_nms(boxes: np.ndarray, scores: np.ndarray, iou_thresh: float) -> np.ndarray:
    """Greedy NMS (torchvision.ops.nms semantics: highest score first, drop boxes with IoU > iou_thresh).
    Returns kept indices, highest score first. One vector operation per KEPT box."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    iou = box_iou(boxes[order])
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_thresh
    return order[np.asarray(keep, dtype=np.int64)]


class NumpyMaskFilter:
    """The generator's per-batch filtering (SAM2AutomaticMaskGenerator._process_batch) and final box NMS in numpy.

    Predicted-IoU filter on the low-resolution output, then only the survivors are upscaled to the image size (in
    chunks, re-used buffers) for the stability filter, binarisation and boxes. Masks are kept bit-packed (8x smaller)
    until NMS has chosen the survivors.
    """

    UPSCALE_BUDGET_BYTES = 256 * 1024 * 1024  # upscaled float32 logits held at once: bounds memory for big images

    def __init__(self, low_hw: tuple[int, int], out_hw: tuple[int, int], mask_threshold: float,
                 pred_iou_thresh: float, stability_score_thresh: float, stability_score_offset: float) -> None:
        self.out_hw = out_hw
        self.thr = mask_threshold
        self.pred_iou_thresh = pred_iou_thresh
        self.stability_thresh = stability_score_thresh
        self.offset = stability_score_offset
        self.up = LogitUpscaler(low_hw, out_hw)
        self.chunk = max(1, self.UPSCALE_BUDGET_BYTES // (4 * out_hw[0] * out_hw[1] * 2))
        self.packed: list = []
        self.ious: list = []
        self.stabs: list = []
        self.points: list = []
        self.boxes: list = []

    def add(self, logits, iou, points: np.ndarray) -> None:
        """One decoded batch: logits N x 3 x h x w, iou N x 3 (numpy, or tensors), grid points N x 2 (pixels)."""
        if not isinstance(logits, np.ndarray):  # CUDA tensors from a TensorRT engine
            logits, iou = logits.float().cpu().numpy(), iou.float().cpu().numpy()
        n, m = iou.shape
        logits = logits.reshape(n * m, *logits.shape[2:])
        iou = iou.reshape(n * m).astype(np.float32)
        pts = np.repeat(points, m, axis=0)
        if self.pred_iou_thresh > 0.0:
            keep = np.flatnonzero(iou > self.pred_iou_thresh)
            logits, iou, pts = logits[keep], iou[keep], pts[keep]
        for c0 in range(0, len(logits), self.chunk):
            big = self.up(np.ascontiguousarray(logits[c0:c0 + self.chunk]), reuse=True)
            stab = stability_score(big, self.thr, self.offset)
            ok = np.flatnonzero(stab >= self.stability_thresh) if self.stability_thresh > 0.0 \
                else np.arange(len(stab))
            if ok.size == 0:
                continue
            binary = big[ok] > self.thr
            self.boxes.append(masks_to_boxes(binary))
            self.packed.append(np.packbits(binary.reshape(len(ok), -1), axis=1))
            self.stabs.append(stab[ok].astype(np.float32))
            self.ious.append(iou[c0:c0 + self.chunk][ok])
            self.points.append(pts[c0:c0 + self.chunk][ok])

    def finish(self, box_nms_thresh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Box NMS on predicted IoU -> (masks K x H x W bool, iou, stability, boxes, points), highest IoU first."""
        h, w = self.out_hw
        if not self.packed:
            return (np.zeros((0, h, w), bool), np.zeros(0, np.float32), np.zeros(0, np.float32),
                    np.zeros((0, 4), np.int64), np.zeros((0, 2), np.float32))
        iou, stab = np.concatenate(self.ious), np.concatenate(self.stabs)
        pts, boxes = np.concatenate(self.points), np.concatenate(self.boxes)
        keep = box_nms(boxes, iou, box_nms_thresh)
        masks = np.unpackbits(np.concatenate(self.packed)[keep], axis=1, count=h * w).astype(bool)
        return masks.reshape(len(keep), h, w), iou[keep], stab[keep], boxes[keep], pts[keep]
