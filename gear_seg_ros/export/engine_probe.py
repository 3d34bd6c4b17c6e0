"""The inputs an engine is checked on and ONNX Runtime's (CPU) answers to them, per export kind and part.

- SAM 2: a real photo (scikit-image's astronaut) through the image encoder; the decoder on a grid of point prompts
  with ONNX Runtime's image features. The encoder engine is judged end to end: its features go through the ONNX
  Runtime decoder and the masks / predicted IoUs are compared with ONNX Runtime's own.
- DAM vision: focal-crop pairs (full view + a 2x crop, mask channel a box) made from the same photo.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from gear_seg_ros.export.engine_check import Outputs

Runner = Callable[[dict[str, np.ndarray]], Outputs]


def photo() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


def ort_runner(path: Path) -> Runner:
    from gear_seg_ros.runtime.ort_session import import_onnxruntime, open_session

    ort = import_onnxruntime("the engine check (gear-seg export trt; --no-check skips it)")
    session = open_session(ort, path, ["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return lambda feed: dict(zip(names, session.run(names, feed)))


class EngineProbe:
    def __init__(self, onnx_dir: Path, meta: dict, batch: tuple[int, int, int]) -> None:
        self.kind = meta.get("kind", "sam2")
        self.meta, self.dir = meta, Path(onnx_dir)
        lo, _, hi = batch
        if self.kind == "sam2":
            from gear_seg_ros.segment import amg_utils as amg

            size = int(meta["image_size"])
            image = photo()
            self.image = amg.preprocess_image(image, size, meta.get("pixel_mean", [0.485, 0.456, 0.406]),
                                              meta.get("pixel_std", [0.229, 0.224, 0.225]))
            n = min(max(64, lo), hi)
            _, model_points = amg.grid_prompts(8, image.shape[:2], size)
            model_points = np.resize(model_points, (n, 2)).astype(np.float32)
            self.prompts = {"point_coords": model_points[:, None, :], "point_labels": np.ones((n, 1), np.float32)}
            self.encoder = ort_runner(self.dir / meta["encoder"]["file"])
            self.decoder = ort_runner(self.dir / meta["decoder"]["file"])
            self.features = self.encoder({"image": self.image})
            self._reference = self.decode(self.features)
        else:
            self.images = focal_pairs(int(meta["image_size"]), min(max(3, lo), hi))
            self.vision = ort_runner(self.dir / meta["vision"]["file"])
            self._reference = self.vision({meta["vision"]["inputs"][0]: self.images})

    def decode(self, features: Outputs) -> Outputs:
        feed = {k: np.asarray(features[k], dtype=np.float32) for k in ("image_embed", "high_res_feats_0",
                                                                        "high_res_feats_1")}
        return self.decoder({**feed, **self.prompts})

    def reference(self, part: str) -> Outputs:
        return self._reference

    def candidate(self, part: str, run: Runner) -> Outputs:
        """The part's outputs with `run` (the engine) in place of ONNX Runtime for that part."""
        if self.kind != "sam2":
            return run({self.meta["vision"]["inputs"][0]: self.images})
        if part == "encoder":
            return self.decode(run({"image": self.image}))
        return run({**{k: self.features[k] for k in ("image_embed", "high_res_feats_0", "high_res_feats_1")},
                    **self.prompts})


def focal_pairs(size: int, n: int) -> np.ndarray:
    """n x 8 x size x size: full view (RGB + box mask) and a 2x focal crop around the box, in [-1, 1]."""
    import cv2

    image = photo()
    h, w = image.shape[:2]
    out = np.empty((n, 8, size, size), np.float32)
    for i in range(n):
        cx, cy = w * (0.3 + 0.4 * i / max(n - 1, 1)), h * (0.35 + 0.3 * ((i * 7) % n) / max(n - 1, 1))
        bw, bh = w * 0.25, h * 0.3
        box = np.zeros((h, w), np.uint8)
        box[int(cy - bh / 2):int(cy + bh / 2), int(cx - bw / 2):int(cx + bw / 2)] = 255
        rgba = np.dstack([image, box])
        x0, y0 = int(max(cx - bw, 0)), int(max(cy - bh, 0))
        crop = rgba[y0:int(min(cy + bh, h)), x0:int(min(cx + bw, w))]
        for j, view in enumerate((rgba, crop)):
            resized = cv2.resize(view, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
            out[i, 4 * j:4 * j + 4] = (resized / 127.5 - 1.0).transpose(2, 0, 1)
    return out
