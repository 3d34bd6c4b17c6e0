"""GPU tracker: SAM 2 re-prompted on every frame with each target's predicted box and an inner point.

Per frame: the image encoder runs once, then ONE decoder call takes every target's prompt as a batch (box corners
with labels 2 / 3 plus one positive point, SAM's prompt encoding). The box and point are the previous mask's,
moved by the box centre's last displacement (constant velocity) and grown by `box_margin`. Of SAM's three masks the
one that agrees best with the predicted mask (IoU, ties broken by SAM's predicted IoU) is kept; its predicted IoU is
the score. Uses the export of `gear-seg export sam2` through ONNX Runtime or TensorRT engines, as the onnx_sam2
segmenter does. Not yet run on a GPU; its masks have only been checked with random weights (plumbing, not quality).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gear_seg_ros.errors import ConfigError
from gear_seg_ros.segment import amg_utils as amg
from gear_seg_ros.track import masks as mk
from gear_seg_ros.track.base import Track, Tracker


class Sam2PromptTracker(Tracker):
    name = "sam2_prompt"

    def __init__(self, cfg: Any, base_dir: str = "") -> None:
        super().__init__(cfg, base_dir)
        from gear_seg_ros.runtime.settings import ExportRuntimeSettings
        from gear_seg_ros.segment.onnx_sam2 import OnnxSam2Segmenter
        from gear_seg_ros.segment.settings import OnnxSam2SegmenterConfig

        c = self.prompt_cfg = cfg.sam2_prompt
        export = c.model_dump(include=set(ExportRuntimeSettings.model_fields))  # the same export, run the same way
        seg_cfg = OnnxSam2SegmenterConfig(**export, points_per_batch=c.max_targets)
        self.sam = OnnxSam2Segmenter(seg_cfg, base_dir)
        self.encoder_calls = 0
        self.decoder_calls = 0
        self._upscaler: amg.LogitUpscaler | None = None

    def _start(self, image: np.ndarray, depth: np.ndarray | None) -> None:
        if len(self._tracks) > self.prompt_cfg.max_targets:
            raise ConfigError(f"{len(self._tracks)} targets but tracker.sam2_prompt.max_targets="
                              f"{self.prompt_cfg.max_targets}; raise it (TensorRT: rebuild the engines with that "
                              "--max-batch)")
        for t in self._tracks:
            t.extra["velocity"] = (0.0, 0.0)

    def prompts(self, tracks: list[Track]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """coords N x 3 x 2 in image pixels (box corners, inner point), labels N x 3, predicted masks."""
        h, w = self._hw
        coords, predicted = [], []
        for t in tracks:
            dx, dy = t.extra.get("velocity", (0.0, 0.0))
            x0, y0, x1, y1 = t.box
            mx, my = self.prompt_cfg.box_margin * (x1 - x0), self.prompt_cfg.box_margin * (y1 - y0)
            box = (np.clip(x0 - mx + dx, 0, w - 1), np.clip(y0 - my + dy, 0, h - 1),
                   np.clip(x1 + mx + dx, 0, w - 1), np.clip(y1 + my + dy, 0, h - 1))
            px, py = mk.inner_point(t.mask, t.box)
            coords.append([[box[0], box[1]], [box[2], box[3]], [np.clip(px + dx, 0, w - 1), np.clip(py + dy, 0, h - 1)]])
            predicted.append(_shift(t.mask, round(dx), round(dy)))
        labels = np.tile(np.array([[2.0, 3.0, 1.0]], np.float32), (len(tracks), 1))
        return np.asarray(coords, np.float32), labels, predicted

    def _propagate(self, image: np.ndarray, depth: np.ndarray | None, tracks: list[Track]
                   ) -> list[tuple[np.ndarray, float]]:
        h, w = image.shape[:2]
        feats = self.sam.encode(image)
        self.encoder_calls += 1
        coords, labels, predicted = self.prompts(tracks)
        size = self.sam.image_size
        model = coords * np.array([size / w, size / h], np.float32)
        logits, iou = self.sam.decode(feats, model, labels)  # one batch for every target
        self.decoder_calls += 1
        if hasattr(logits, "detach"):  # TensorRT engines return CUDA tensors
            logits, iou = logits.float().cpu().numpy(), iou.float().cpu().numpy()
        n, k = logits.shape[:2]
        if self._upscaler is None or self._upscaler.out_hw != (h, w):
            self._upscaler = amg.LogitUpscaler(logits.shape[2:], (h, w))
        masks = self._upscaler(np.ascontiguousarray(logits.reshape(n * k, *logits.shape[2:]), np.float32)) \
            .reshape(n, k, h, w) > self.sam.mask_threshold
        out = []
        for i, t in enumerate(tracks):
            agree = [mk.iou(masks[i, j], predicted[i]) for j in range(k)]
            j = max(range(k), key=lambda j: (round(agree[j], 3), float(iou[i, j])))
            out.append((masks[i, j].copy(), float(iou[i, j])))
        return out

    def _commit(self, image: np.ndarray, depth: np.ndarray | None, tracks: list[Track]) -> None:
        for t in tracks:
            old = t.extra.get("box", t.box)
            t.extra["velocity"] = ((t.box[0] + t.box[2] - old[0] - old[2]) / 2, (t.box[1] + t.box[3] - old[1] - old[3]) / 2)
            t.extra["box"] = t.box


def _shift(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out
