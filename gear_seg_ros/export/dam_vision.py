"""Export DAM's vision side to one ONNX file (`gear-seg export dam-vision`) for ONNX Runtime or TensorRT.

DAM encodes each mask as 8 channels: the full image (RGB + mask) and the focal crop (RGB + mask), both at the vision
tower's input size S and normalised by DAM's own processor (`DescribeAnythingModel.get_image_tensor`). Its
`encode_images_with_context` runs the SigLIP vision tower on the full view, the context provider (the crop's tokens
cross-attend to the full view's) and the projector into the language model's embedding space. The wrapper below
calls those same three submodules in that order for a batch where every input is a focal-crop pair (what DAM's
"full+focal_crop" prompting always produces), which exports with a dynamic batch:

- `dam_vision.onnx`: `images` (B x 8 x S x S, float32) -> `image_features` (B x T x D, float32).
- `metadata.json`: kind `dam_vision`, S, T, D, the source model, the sha256 (with the external-data files torch
  writes for a model over 2 GB), and the export check (largest difference between ONNX Runtime on CPU and PyTorch
  for random batches of 1 and 3, traced at 2).

Run here through DAM's real code (NVlabs/describe-anything from ../shared/vendor) on a tiny random-weight DAM on
CPU, for the context provider's plain, crop-as-queries and masked-cross-attention modes (tests/test_dam_real.py);
the DAM-3B weights were never loaded, so its export time and size are unmeasured.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from gear_seg_ros.errors import BackendUnavailableError, GearSegError
from gear_seg_ros.export.onnx_export import onnx_export
from gear_seg_ros.export.sam2_onnx import export_digest
from gear_seg_ros.runtime.formats import (
    DAM_VISION_CHANNELS,
    DAM_VISION_FILE,
    DAM_VISION_FORMAT_VERSION,
    DAM_VISION_INPUT,
    DAM_VISION_KIND,
    DAM_VISION_OUTPUT,
    METADATA_FILE,
)

log = logging.getLogger(__name__)


def vision_wrapper(llava_model):
    """nn.Module: focal-crop image batch -> projected tokens, from a loaded DAM LlavaLlamaModel's submodules."""
    import torch
    from torch import nn

    class DamVisionEncoder(nn.Module):
        def __init__(self, m) -> None:
            super().__init__()
            self.vision_tower = m.get_vision_tower()
            self.context_provider = m.get_context_provider()
            self.mm_projector = m.get_mm_projector()
            if self.context_provider is None:
                raise GearSegError("this DAM model has no context provider: it is not a focal-crop DAM checkpoint")
            self.swap = bool(getattr(self.context_provider, "context_image_as_queries", False))
            self.kind = getattr(self.context_provider, "context_provider_type", "cross_attn_end_to_all")
            if self.kind not in ("cross_attn_end_to_all", "concat"):
                raise GearSegError(f"unsupported DAM context provider type {self.kind!r}")

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            if self.swap:  # the model uses the crop as queries: DAM swaps the two views first
                images = torch.cat((images[:, 4:], images[:, :4]), dim=1)
            if self.kind == "concat":
                feats = self.context_provider(cimage_concatenated=images, vision_tower=self.vision_tower)
            else:
                full = self.vision_tower(images[:, :4])
                feats = self.context_provider(cimage_full_features=full, cimage_concatenated=images,
                                              vision_tower=self.vision_tower)
            return self.mm_projector(feats)

    return DamVisionEncoder(llava_model).eval()


def load_dam_llava(model_path: str, base_dir: str = ""):
    """DAM-3B's LlavaLlamaModel from a local folder (the `dam` package, a CUDA machine)."""
    import os

    from gear_seg_ros.models import resolve_model_path

    path = resolve_model_path(model_path, base_dir, what="DAM-3B weights folder", fetch_name="DAM-3B")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from dam import DescribeAnythingModel, disable_torch_init
    except ImportError:
        raise BackendUnavailableError(
            "exporting DAM's vision encoder needs NVIDIA's describe-anything package (pip install "
            "git+https://github.com/NVlabs/describe-anything) on a CUDA machine") from None
    from gear_seg_ros.describe.dam import dam_fast_init

    with dam_fast_init(disable_torch_init):
        return DescribeAnythingModel(model_path=str(path), conv_mode="v1", prompt_mode="full+focal_crop").model


def export_dam_vision(out_dir: str | Path, model_path: str | None = None, model=None, opset: int = 17,
                      device: str | None = None, base_dir: str = "", verify: bool = True) -> dict:
    """Write dam_vision.onnx + metadata.json; `model` may pass an already loaded LlavaLlamaModel (or stand-in).

    The vision submodules are converted to float32 in place (the export is the process's last use of the model).
    """
    import torch

    if model is None:
        if not model_path:
            raise GearSegError("give the DAM-3B weights folder (--model-path models/weights/DAM-3B)")
        model = load_dam_llava(model_path, base_dir)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    encoder = vision_wrapper(model).to(device=device, dtype=torch.float32)
    size = int(encoder.vision_tower.config.image_size)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    sample = torch.randn(2, DAM_VISION_CHANNELS, size, size, device=device)
    t0 = time.perf_counter()
    with torch.no_grad():
        tokens, hidden = encoder(sample[:1]).shape[1:]
        onnx_export(torch, encoder, (sample,), out / DAM_VISION_FILE, [DAM_VISION_INPUT], [DAM_VISION_OUTPUT],
                    {DAM_VISION_INPUT: {0: "batch"}, DAM_VISION_OUTPUT: {0: "batch"}}, opset)
    export_s = time.perf_counter() - t0
    check = None
    if verify:  # batches other than the traced one (2): a batch size baked into the graph would show here
        check = 0.0
        for batch in (1, 3):
            images = torch.randn(batch, DAM_VISION_CHANNELS, size, size, device=device)
            with torch.no_grad():
                reference = encoder(images).float().cpu().numpy()
            got = run_onnx_cpu(out / DAM_VISION_FILE, images.cpu().numpy())
            if got.shape != reference.shape:
                raise GearSegError(f"the exported DAM vision encoder returned {got.shape} for a batch of {batch}, "
                                   f"PyTorch {reference.shape}: the export is broken")
            check = max(check, float(abs(got - reference).max()))
        log.info("dam_vision.onnx vs PyTorch, batches of 1 and 3: max abs difference %.2e", check)
    meta = {
        "kind": DAM_VISION_KIND,
        "format_version": DAM_VISION_FORMAT_VERSION,
        "model_path": str(model_path) if model_path else None,
        "prompt_mode": "full+focal_crop",
        "channels": DAM_VISION_CHANNELS,
        "image_size": size,
        "tokens": int(tokens),
        "hidden_size": int(hidden),
        "opset": opset,
        "torch_version": torch.__version__,
        "export_s": round(export_s, 1),
        "onnxruntime_cpu_max_abs_diff": check,
        "vision": {"file": DAM_VISION_FILE, "sha256": export_digest(out, DAM_VISION_FILE),
                   "inputs": [DAM_VISION_INPUT], "outputs": [DAM_VISION_OUTPUT]},
    }
    (out / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def run_onnx_cpu(path: Path, images):
    from gear_seg_ros.runtime.ort_session import import_onnxruntime, open_session

    ort = import_onnxruntime("checking the DAM vision export")
    return open_session(ort, path, ["CPUExecutionProvider"]).run([DAM_VISION_OUTPUT], {DAM_VISION_INPUT: images})[0]
