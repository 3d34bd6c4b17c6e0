"""The automatic mask generator's per-batch filtering on torch tensors, for GPUs (`postprocess: torch`).

The same steps, arithmetic and order as the numpy path in onnx_sam2.py (predicted-IoU filter on the low-resolution
output, bilinear upscaling of the survivors as F.interpolate(align_corners=False), stability score with offset,
binarisation, boxes as sam2's batched_mask_to_box), so the two give the same masks up to float rounding: the two
bilinear upscalers differ by ~1e-6, which can move a pixel across threshold +- offset, so a stability score right
at its threshold may pass on one path and not the other. On a GPU the upscaling of hundreds of masks to the image
size is what dominates the generator otherwise. Box NMS runs on the CPU over the boxes alone (K x 4), then only the
kept masks are copied back. Masks that pass are held as bool (1 byte per pixel) on the device until then, where the
numpy path bit-packs them: ~1 MB per 1280x720 mask.
"""
from __future__ import annotations

import numpy as np

from gear_seg_ros.segment import amg_utils as amg

UPSCALE_BUDGET_BYTES = 512 * 1024 * 1024


def masks_to_boxes(masks):
    """K x H x W bool tensor -> K x 4 int64 (x0, y0, x1, y1) INCLUSIVE, zeros for an empty mask."""
    import torch

    k, h, w = masks.shape
    if k == 0:
        return torch.zeros((0, 4), dtype=torch.int64, device=masks.device)
    rows = masks.any(dim=2).to(torch.uint8)
    cols = masks.any(dim=1).to(torch.uint8)
    y0 = rows.argmax(dim=1)
    y1 = h - 1 - rows.flip(1).argmax(dim=1)
    x0 = cols.argmax(dim=1)
    x1 = w - 1 - cols.flip(1).argmax(dim=1)
    boxes = torch.stack([x0, y0, x1, y1], dim=1).to(torch.int64)
    boxes[rows.sum(dim=1) == 0] = 0
    return boxes


class TorchMaskFilter:
    def __init__(self, out_hw: tuple[int, int], mask_threshold: float, pred_iou_thresh: float,
                 stability_score_thresh: float, stability_score_offset: float, device) -> None:
        self.out_hw = out_hw
        self.thr = mask_threshold
        self.pred_iou_thresh = pred_iou_thresh
        self.stability_thresh = stability_score_thresh
        self.offset = stability_score_offset
        self.device = device
        self.chunk = max(1, UPSCALE_BUDGET_BYTES // (4 * out_hw[0] * out_hw[1] * 2))
        self.masks: list = []
        self.ious: list = []
        self.stabs: list = []
        self.boxes: list = []
        self.points: list = []

    def add(self, logits, iou, points: np.ndarray) -> None:
        """One decoded batch: logits N x 3 x h x w and iou N x 3 (numpy or torch), grid points N x 2 (pixels)."""
        import torch
        import torch.nn.functional as F

        logits = torch.as_tensor(logits).to(self.device, torch.float32)
        iou = torch.as_tensor(iou).to(self.device, torch.float32)
        n, m = iou.shape
        logits = logits.reshape(n * m, *logits.shape[2:])
        iou = iou.reshape(n * m)
        pts = np.repeat(points, m, axis=0)
        if self.pred_iou_thresh > 0.0:
            keep = torch.nonzero(iou > self.pred_iou_thresh).flatten()
            logits, iou = logits[keep], iou[keep]
            pts = pts[keep.cpu().numpy()]
        for c0 in range(0, len(logits), self.chunk):
            big = F.interpolate(logits[c0:c0 + self.chunk][None], size=self.out_hw, mode="bilinear",
                                align_corners=False)[0]
            inter = (big > self.thr + self.offset).sum(dim=(1, 2)).to(torch.float32)
            union = (big > self.thr - self.offset).sum(dim=(1, 2)).to(torch.float32)
            stab = inter / union
            if self.stability_thresh > 0.0:
                ok = torch.nonzero(stab >= self.stability_thresh).flatten()
            else:
                ok = torch.arange(len(stab), device=self.device)
            if ok.numel() == 0:
                continue
            binary = big[ok] > self.thr
            self.masks.append(binary)
            self.boxes.append(masks_to_boxes(binary))
            self.stabs.append(stab[ok])
            self.ious.append(iou[c0:c0 + self.chunk][ok])
            self.points.append(pts[c0:c0 + self.chunk][ok.cpu().numpy()])

    def finish(self, box_nms_thresh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Box NMS over everything added -> (masks K x H x W bool, iou, stability, boxes, points), numpy."""
        import torch

        h, w = self.out_hw
        if not self.masks:
            return (np.zeros((0, h, w), bool), np.zeros(0, np.float32), np.zeros(0, np.float32),
                    np.zeros((0, 4), np.int64), np.zeros((0, 2), np.float32))
        boxes = torch.cat(self.boxes).cpu().numpy()
        iou = torch.cat(self.ious).cpu().numpy()
        stab = torch.cat(self.stabs).cpu().numpy()
        pts = np.concatenate(self.points)
        keep = amg.box_nms(boxes, iou, box_nms_thresh)
        masks = np.empty((len(keep), h, w), bool)
        start = 0
        for chunk in self.masks:  # copy the kept masks chunk by chunk (no second copy of all masks on the GPU)
            pos = np.flatnonzero((keep >= start) & (keep < start + len(chunk)))
            if pos.size:
                masks[pos] = chunk[torch.as_tensor(keep[pos] - start, device=self.device)].cpu().numpy()
            start += len(chunk)
        return masks, iou[keep], stab[keep], boxes[keep], pts[keep]


def resolve_device(preferred: str | None = None):
    import torch

    if preferred:
        return torch.device(preferred)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
