"""Export a SAM 2 / 2.1 model to two ONNX files that `segment/onnx_sam2.py` runs with onnxruntime.

- `image_encoder.onnx`: `image` (1 x 3 x S x S, float32, resized to S = model.image_size and normalised with the
  ImageNet mean/std) -> `image_embed` (1 x 256 x S/16 x S/16, `no_mem_embed` already added, as
  SAM2ImagePredictor.set_image does), `high_res_feats_0` (1 x 32 x S/4 x S/4, after `conv_s0`) and
  `high_res_feats_1` (1 x 64 x S/8 x S/8, after `conv_s1`).
- `mask_decoder.onnx`: the three encoder outputs plus `point_coords` (N x P x 2, float32, pixels in the S x S model
  input frame) and `point_labels` (N x P, float32: 1 foreground, 0 background, -1 padding) -> `masks`
  (N x 3 x S/4 x S/4 low-resolution logits, multimask output) and `iou_predictions` (N x 3). N (prompt batch) and P
  (points per prompt) are dynamic.
- `metadata.json`: model cfg, checkpoint, input size, mask threshold, normalisation, tensor names and the sha256 of
  both ONNX files (TensorRT engine caching keys on it).

The wrappers below re-implement, around the sam2 model's own submodules and weights, exactly the steps the official
SAM2ImagePredictor takes (`forward_image` + `_prepare_backbone_features` + `no_mem_embed`; `sam_prompt_encoder` with
the padding point; `sam_mask_decoder.predict_masks` with `multimask_output=True`). The only change: the image
embedding is broadcast to the prompt batch with `expand` instead of `repeat_interleave`, which exports cleanly with a
dynamic batch and gives the same numbers.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from gear_seg_ros.errors import BackendUnavailableError, GearSegError, ModelNotFoundError
from gear_seg_ros.export.onnx_export import onnx_export
from gear_seg_ros.models import fetch_command
from gear_seg_ros.runtime.formats import (
    METADATA_FILE,
    SAM2_DECODER_FILE,
    SAM2_DECODER_INPUTS,
    SAM2_DECODER_OUTPUTS,
    SAM2_ENCODER_FILE,
    SAM2_ENCODER_OUTPUTS,
    SAM2_FORMAT_VERSION,
    SAM2_IMAGE_INPUT,
    SAM2_PIXEL_MEAN,
    SAM2_PIXEL_STD,
)
from gear_seg_ros.utils.hashing import sha256_of

log = logging.getLogger(__name__)


def export_digest(folder: str | Path, onnx_file: str, file_hash: Callable[[Path], str] = sha256_of) -> str:
    """sha256 of an ONNX file, and of its external-data files when the model is over 2 GB (torch then writes the
    weights beside it): every plain file in the folder except metadata/engine files, in name order.
    `file_hash` hashes one file (the doctor passes its cached one)."""
    folder = Path(folder)
    extra = sorted(p for p in folder.iterdir() if p.is_file() and p.name != onnx_file
                   and p.suffix not in (".json", ".engine", ".onnx"))
    if not extra:
        return file_hash(folder / onnx_file)
    digest = hashlib.sha256()
    for path in [folder / onnx_file, *extra]:
        digest.update(path.name.encode() + b"\0" + file_hash(path).encode())
    return digest.hexdigest()


def _import_torch_sam2():
    try:
        import torch
        from sam2.build_sam import build_sam2
    except ImportError as exc:
        raise BackendUnavailableError(
            f"exporting SAM 2 needs torch and the `sam2` package ({exc.name or exc} is missing); install them "
            "(pip install sam2==1.1.0 --no-deps plus torch, hydra-core, iopath, onnx, onnxscript)") from None
    return torch, build_sam2


def build_model(model_cfg: str, checkpoint: str | None, device: str = "cpu"):
    """`sam2.build_sam.build_sam2(model_cfg, checkpoint)`; checkpoint None gives random weights (tests only)."""
    _, build_sam2 = _import_torch_sam2()
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise ModelNotFoundError(
            f"SAM 2 checkpoint not found: {checkpoint}; fetch it with: {fetch_command('sam2.1_hiera_large')} "
            "(or another sam2.1_hiera_* name from models/manifest.yaml)")
    try:
        return build_sam2(model_cfg, checkpoint, device=device)
    except Exception as exc:  # hydra raises MissingConfigException etc. for a bad cfg name
        if type(exc).__name__ in ("MissingConfigException", "ConfigCompositionException"):
            raise GearSegError(
                f"unknown SAM 2 model config {model_cfg!r}; use one that ships in the sam2 package, e.g. "
                "configs/sam2.1/sam2.1_hiera_l.yaml or configs/sam2.1/sam2.1_hiera_t.yaml") from None
        raise


def _wrappers(model):
    """Build the encoder / decoder nn.Modules (defined here so that torch is imported lazily)."""
    import torch
    from torch import nn

    class ImageEncoderWrapper(nn.Module):
        def __init__(self, sam) -> None:
            super().__init__()
            self.image_encoder = sam.image_encoder
            self.conv_s0 = sam.sam_mask_decoder.conv_s0
            self.conv_s1 = sam.sam_mask_decoder.conv_s1
            self.num_feature_levels = sam.num_feature_levels
            self.add_no_mem = bool(sam.directly_add_no_mem_embed)
            # (1, 1, C) in SAM2Base, added to the flattened (HW, B, C) lowest-resolution features
            self.register_buffer("no_mem_embed", sam.no_mem_embed.detach().reshape(1, -1, 1, 1).clone())

        def forward(self, image: torch.Tensor):
            fpn = self.image_encoder(image)["backbone_fpn"][-self.num_feature_levels:]
            feat_s0 = self.conv_s0(fpn[0])
            feat_s1 = self.conv_s1(fpn[1])
            embed = fpn[-1]
            if self.add_no_mem:
                embed = embed + self.no_mem_embed
            return embed, feat_s0, feat_s1

    class PromptDecoderWrapper(nn.Module):
        def __init__(self, sam) -> None:
            super().__init__()
            pe = sam.sam_prompt_encoder
            dec = sam.sam_mask_decoder
            self.prompt_encoder = pe
            self.decoder = dec
            self.register_buffer("image_pe", pe.get_dense_pe().detach().clone())
            self.register_buffer("no_mask_dense", pe.no_mask_embed.weight.detach().reshape(1, -1, 1, 1).clone())
            s = 1 if dec.pred_obj_scores else 0
            self.s = s
            tokens = [dec.iou_token.weight, dec.mask_tokens.weight]
            if dec.pred_obj_scores:
                tokens = [dec.obj_score_token.weight] + tokens
            self.register_buffer("output_tokens", torch.cat(tokens, dim=0).detach().clone())
            self.num_mask_tokens = dec.num_mask_tokens

        def forward(self, image_embed, high_res_feats_0, high_res_feats_1, point_coords, point_labels):
            n = point_coords.shape[0]
            # Prompt encoder, points only (no box): SAM appends one padding point with label -1.
            coords = point_coords + 0.5
            coords = torch.cat([coords, torch.zeros_like(coords[:, :1, :])], dim=1)
            labels = torch.cat([point_labels, -torch.ones_like(point_labels[:, :1])], dim=1).unsqueeze(-1)
            pe = self.prompt_encoder
            emb = pe.pe_layer.forward_with_coords(coords, pe.input_image_size)
            emb = torch.where(labels == -1, torch.zeros_like(emb) + pe.not_a_point_embed.weight, emb)
            for k in range(4):
                emb = torch.where(labels == k, emb + pe.point_embeddings[k].weight, emb)
            sparse = emb
            # Mask decoder (predict_masks), image broadcast over the prompt batch.
            dec = self.decoder
            tokens = torch.cat([self.output_tokens.unsqueeze(0).expand(n, -1, -1), sparse], dim=1)
            src = (image_embed + self.no_mask_dense).expand(n, -1, -1, -1)
            pos_src = self.image_pe.expand(n, -1, -1, -1)
            b, c, h, w = src.shape
            hs, src = dec.transformer(src, pos_src, tokens)
            iou_token_out = hs[:, self.s, :]
            mask_tokens_out = hs[:, self.s + 1:(self.s + 1 + self.num_mask_tokens), :]
            src = src.transpose(1, 2).reshape(b, c, h, w)
            dc1, ln1, act1, dc2, act2 = dec.output_upscaling
            up = act1(ln1(dc1(src) + high_res_feats_1))
            up = act2(dc2(up) + high_res_feats_0)
            hyper_in = torch.stack(
                [dec.output_hypernetworks_mlps[i](mask_tokens_out[:, i, :]) for i in range(self.num_mask_tokens)],
                dim=1)
            b, c, h, w = up.shape
            masks = (hyper_in @ up.reshape(b, c, h * w)).reshape(b, -1, h, w)
            iou_pred = dec.iou_prediction_head(iou_token_out)
            # multimask_output=True: drop the single-mask token
            return masks[:, 1:, :, :], iou_pred[:, 1:]

    return ImageEncoderWrapper(model).eval(), PromptDecoderWrapper(model).eval()


def export_sam2(model_cfg: str, checkpoint: str | None, out_dir: str | Path, opset: int = 17,
                model=None) -> dict:
    """Export encoder + decoder ONNX and metadata.json into out_dir; return the metadata dict.

    `checkpoint=None` exports random weights (for tests); `model` may pass an already built SAM2Base.
    """
    torch, _ = _import_torch_sam2()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if model is None:
        model = build_model(model_cfg, checkpoint, device="cpu")
    model = model.to("cpu").eval()
    encoder, decoder = _wrappers(model)
    size = int(model.image_size)
    t0 = time.perf_counter()
    with torch.no_grad():
        image = torch.randn(1, 3, size, size)
        feats = encoder(image)
        onnx_export(torch, encoder, (image,), out / SAM2_ENCODER_FILE, [SAM2_IMAGE_INPUT], SAM2_ENCODER_OUTPUTS,
                    None, opset)
        t1 = time.perf_counter()
        coords = torch.rand(4, 1, 2) * size
        labels = torch.ones(4, 1)
        onnx_export(torch, decoder, (*feats, coords, labels), out / SAM2_DECODER_FILE, SAM2_DECODER_INPUTS,
                    SAM2_DECODER_OUTPUTS, {"point_coords": {0: "num_prompts", 1: "num_points"},
                                           "point_labels": {0: "num_prompts", 1: "num_points"},
                                           "masks": {0: "num_prompts"}, "iou_predictions": {0: "num_prompts"}}, opset)
    t2 = time.perf_counter()
    log.info("exported encoder in %.1f s, decoder in %.1f s", t1 - t0, t2 - t1)
    meta = {
        "format_version": SAM2_FORMAT_VERSION,
        "model_cfg": model_cfg,
        "checkpoint": str(checkpoint) if checkpoint else None,
        "random_weights": checkpoint is None,
        "image_size": size,
        "low_res_size": int(feats[1].shape[-1]),
        "mask_threshold": 0.0,
        "pixel_mean": SAM2_PIXEL_MEAN,
        "pixel_std": SAM2_PIXEL_STD,
        "multimask_output": True,
        "opset": opset,
        "torch_version": torch.__version__,
        "encoder": {"file": SAM2_ENCODER_FILE, "sha256": sha256_of(out / SAM2_ENCODER_FILE),
                    "inputs": [SAM2_IMAGE_INPUT], "outputs": SAM2_ENCODER_OUTPUTS},
        "decoder": {"file": SAM2_DECODER_FILE, "sha256": sha256_of(out / SAM2_DECODER_FILE),
                    "inputs": SAM2_DECODER_INPUTS, "outputs": SAM2_DECODER_OUTPUTS},
    }
    (out / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta
