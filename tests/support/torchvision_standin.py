"""Lets the official sam2 generator run on a CPU machine, for the comparison tests and the device check only.

sam2's automatic mask generator imports torchvision, which has no CPU build for this torch. `official_sam2()` imports
the real torchvision when it works (GPU machines) and otherwise a small pure-torch stand-in, and says which it used;
the stand-in is in sys.modules only inside it (transformers, imported by other stages, probes torchvision too).

`gear-seg bench generators` / `bench report` (gear_seg_ros/bench/generators_bench.py) need a working torchvision;
`python -m support.torchvision_standin MODULE [ARGS...]` (tests/ on PYTHONPATH) runs MODULE as `python -m` would,
with generators_bench.official_generator swapped for `official_generator` below (stand-in where needed).
"""
from __future__ import annotations

import contextlib
import runpy
import sys
import types

import numpy as np
import torch


def torchvision_stand_in() -> dict[str, types.ModuleType]:
    """A minimal pure-torch stand-in for the torchvision pieces sam2 imports (tests and benchmarks only).

    Why: sam2's automatic mask generator imports torchvision.ops.boxes (batched_nms, box_area) and its transforms
    import torchvision.transforms (ToTensor, Resize, Normalize); there is no CPU torchvision wheel for this torch, and
    the CUDA one fails to import with CPU torch. These re-implement the documented behaviour (greedy NMS, IoU > thr
    suppressed; bilinear Resize with antialias=True on tensors; per-channel Normalize). Never used by the agent's backends.
    """
    import torch.nn.functional as F
    from torch import nn

    def box_area(boxes):
        return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])

    def nms(boxes, scores, iou_threshold):
        order = torch.argsort(scores, descending=True)
        b = boxes[order]
        area = box_area(b)
        lt = torch.maximum(b[:, None, :2], b[None, :, :2])
        rb = torch.minimum(b[:, None, 2:], b[None, :, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[..., 0] * wh[..., 1]
        iou = inter / (area[:, None] + area[None, :] - inter)
        removed = torch.zeros(len(b), dtype=torch.bool)
        keep = []
        for i in range(len(b)):
            if not removed[i]:
                keep.append(i)
                removed |= iou[i] > iou_threshold
        return order[torch.tensor(keep, dtype=torch.long)]

    def batched_nms(boxes, scores, idxs, iou_threshold):
        if boxes.numel() == 0:
            return torch.empty(0, dtype=torch.long)
        offsets = idxs.to(boxes) * (boxes.max() + 1)
        return nms(boxes + offsets[:, None], scores, iou_threshold)

    class ToTensor:
        def __call__(self, pic):
            return torch.from_numpy(np.ascontiguousarray(pic)).permute(2, 0, 1).float().div(255)

    class Resize(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.size = [int(size[0]), int(size[1])]

        def forward(self, x):
            return F.interpolate(x.unsqueeze(0), size=self.size, mode="bilinear", align_corners=False,
                                 antialias=True).squeeze(0)

    class Normalize(nn.Module):
        def __init__(self, mean, std):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1))
            self.register_buffer("std", torch.tensor(std).view(-1, 1, 1))

        def forward(self, x):
            return (x - self.mean) / self.std

    tv = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    boxes_mod = types.ModuleType("torchvision.ops.boxes")
    transforms = types.ModuleType("torchvision.transforms")
    boxes_mod.batched_nms, boxes_mod.box_area = batched_nms, box_area
    transforms.ToTensor, transforms.Resize, transforms.Normalize = ToTensor, Resize, Normalize
    tv.ops, ops.boxes, tv.transforms = ops, boxes_mod, transforms
    return {"torchvision": tv, "torchvision.ops": ops, "torchvision.ops.boxes": boxes_mod,
            "torchvision.transforms": transforms}


@contextlib.contextmanager
def official_sam2():
    """Yields (SAM2ImagePredictor, SAM2AutomaticMaskGenerator, uses_stand_in); restores sys.modules afterwards."""
    try:
        import torchvision.ops.boxes  # noqa: F401  (a GPU machine: use the real one)
        stand_in: dict[str, types.ModuleType] = {}
    except Exception:  # noqa: BLE001 - missing, or the CUDA wheel failing with CPU torch
        stand_in = torchvision_stand_in()
    saved = {name: sys.modules.get(name) for name in stand_in}
    sys.modules.update(stand_in)
    try:
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        yield SAM2ImagePredictor, SAM2AutomaticMaskGenerator, bool(stand_in)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@contextlib.contextmanager
def official_generator():
    """generators_bench.official_generator, with the stand-in where the real torchvision does not import."""
    with official_sam2() as (_predictor, generator, stand_in):
        yield generator, "pure-torch stand-in (no CPU wheel)" if stand_in else "real"


def use_in_generators_bench() -> None:
    """From now on, in this process, the generators benchmark's official generator may run on the stand-in."""
    from gear_seg_ros.bench import generators_bench

    generators_bench.official_generator = official_generator


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m support.torchvision_standin MODULE [ARGS...]")
    use_in_generators_bench()
    sys.argv = list(argv)
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
