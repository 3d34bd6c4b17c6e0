"""The exported-model formats: what the exporters (export/, build time) write and the backends that run them
(segment/onnx_sam2.py, track/sam2_prompt.py, describe/dam_vision_runtime.py, runtime/trt_session.py) read.

Both sides import the file names, tensor names and versions from here, so neither imports the other.
"""
from __future__ import annotations

import json
from pathlib import Path

from gear_seg_ros.errors import GearSegError, ModelNotFoundError
from gear_seg_ros.models import fetch_command

METADATA_FILE = "metadata.json"  # every export folder: kind, version, tensor names, sha256 per part

# `gear-seg export sam2` (export/sam2_onnx.py); metadata has no "kind" (written before there were others)
SAM2_KIND = "sam2"
SAM2_FORMAT_VERSION = 1
SAM2_ENCODER_FILE = "image_encoder.onnx"
SAM2_DECODER_FILE = "mask_decoder.onnx"
SAM2_IMAGE_INPUT = "image"
SAM2_ENCODER_OUTPUTS = ["image_embed", "high_res_feats_0", "high_res_feats_1"]
SAM2_PROMPT_INPUTS = ["point_coords", "point_labels"]
SAM2_DECODER_INPUTS = SAM2_ENCODER_OUTPUTS + SAM2_PROMPT_INPUTS
SAM2_DECODER_OUTPUTS = ["masks", "iou_predictions"]
SAM2_PIXEL_MEAN = [0.485, 0.456, 0.406]
SAM2_PIXEL_STD = [0.229, 0.224, 0.225]

# `gear-seg export dam-vision` (export/dam_vision.py)
DAM_VISION_KIND = "dam_vision"
DAM_VISION_FORMAT_VERSION = 1
DAM_VISION_FILE = "dam_vision.onnx"
DAM_VISION_INPUT = "images"  # B x 8 x S x S: full view RGB + mask, focal crop RGB + mask
DAM_VISION_OUTPUT = "image_features"
DAM_VISION_CHANNELS = 8

SAM2_EXPORT_HINT = ("`gear-seg export sam2 --checkpoint models/weights/sam2.1_hiera_large.pt --out {dir}` "
                    "(fetch the checkpoint with: " + fetch_command("sam2.1_hiera_large") + ")")


def export_kind(meta: dict) -> str:
    return meta.get("kind", SAM2_KIND)


def read_export_metadata(onnx_dir: Path) -> dict:
    """metadata.json of any export (SAM 2 or DAM vision)."""
    path = Path(onnx_dir) / METADATA_FILE
    if not path.is_file():
        raise ModelNotFoundError(
            f"no ONNX export in {onnx_dir} ({METADATA_FILE} missing); export first with `gear-seg export sam2 "
            f"--checkpoint models/weights/sam2.1_hiera_large.pt --out {onnx_dir}` or `gear-seg export dam-vision "
            f"--model-path models/weights/DAM-3B --out {onnx_dir}`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GearSegError(f"{path} is not valid JSON ({exc}); re-run the export") from None


def read_sam2_metadata(model_dir: str | Path) -> dict:
    """metadata.json of a SAM 2 export, with the export command in the error when it is missing."""
    path = Path(model_dir) / METADATA_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"SAM 2 ONNX metadata not found: {path}; export the model first with "
                                 + SAM2_EXPORT_HINT.format(dir=model_dir))
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise GearSegError(f"{path} is not valid JSON ({exc}); re-run `gear-seg export sam2`") from None
