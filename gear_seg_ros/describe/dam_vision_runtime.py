"""DAM's vision encoder on ONNX Runtime or a TensorRT engine instead of PyTorch (`describer.dam.vision.model_dir`).

`install()` replaces the loaded model's `encode_images_with_context` with a call into the exported encoder
(gear_seg_ros/export/dam_vision.py), in batches no larger than the engine's profile allows. DAM treats an input whose
crop equals its full view as a plain image (no context); the export assumes focal-crop pairs, so only those inputs
go through DAM's PyTorch vision tower and projector (what DAM computes for them), the rest through the exported
encoder, merged back in input order.
"""
from __future__ import annotations

import logging
from pathlib import Path

from gear_seg_ros.errors import GearSegError, ModelNotFoundError

log = logging.getLogger(__name__)

EXPORT_HINT = "export it with `gear-seg export dam-vision --model-path models/weights/DAM-3B --out {dir}`"


class ExportedVisionEncoder:
    def __init__(self, export_dir: Path, runtime: str, providers: list[str], engine_dir: Path | None) -> None:
        from gear_seg_ros.runtime.formats import (
            DAM_VISION_INPUT,
            DAM_VISION_KIND,
            DAM_VISION_OUTPUT,
            read_export_metadata,
        )

        self.input, self.output = DAM_VISION_INPUT, DAM_VISION_OUTPUT
        meta = read_export_metadata(export_dir)
        if meta.get("kind") != DAM_VISION_KIND:
            raise GearSegError(f"{export_dir} holds a {meta.get('kind', 'sam2')!r} export, not DAM's vision encoder; "
                               + EXPORT_HINT.format(dir=export_dir))
        self.meta = meta
        if runtime == "tensorrt":
            from gear_seg_ros.runtime.trt_session import TrtSession, read_engine_index

            engines = engine_dir or export_dir / "engines"
            self.session = TrtSession(read_engine_index(engines, export_dir, ("vision",))["vision"])
            self.max_batch = self.session.shape_range(self.input)[2][0]
        else:
            from gear_seg_ros.runtime.ort_session import import_onnxruntime, open_session, provider_list

            ort = import_onnxruntime("describer.dam.vision.runtime 'onnxruntime'")
            path = export_dir / meta["vision"]["file"]
            if not path.is_file():
                raise ModelNotFoundError(f"{path} is missing; " + EXPORT_HINT.format(dir=export_dir))
            c, s = meta["channels"], meta["image_size"]
            profile = {level: f"{self.input}:{b}x{c}x{s}x{s}" for level, b in (("min", 1), ("opt", 8), ("max", 32))}
            self.session = open_session(ort, path, provider_list(
                ort, providers, "describer.dam.vision.providers", export_dir / "trt_cache", profile))
            self.max_batch = 32 if "TensorrtExecutionProvider" in self.session.get_providers() else 1 << 30
        self.runtime = runtime

    def encode(self, images):
        """images: B x 8 x S x S torch tensor (any device / dtype) -> B x T x D on the same device and dtype."""
        import torch

        chunks = []
        for start in range(0, images.shape[0], self.max_batch):
            chunk = images[start:start + self.max_batch].float()
            if self.runtime == "tensorrt":
                chunks.append(self.session.run_torch({self.input: chunk})[self.output])
            else:
                out = self.session.run([self.output], {self.input: chunk.cpu().numpy()})[0]
                chunks.append(torch.from_numpy(out))
        return torch.cat(chunks).to(device=images.device, dtype=images.dtype)

    def install(self, llava_model) -> None:
        """Route the model's encode_images_with_context through this encoder (plain images stay on torch)."""
        import torch

        provider = llava_model.get_context_provider()
        always_context = bool(getattr(provider, "treat_image_as_cimage", False))

        def encode_images_with_context(images):
            has_context = torch.any((images[:, :4] != images[:, 4:]).flatten(start_dim=1), dim=1)
            if always_context or bool(has_context.all()):
                return self.encode(images)
            # DAM's own method on plain inputs alone would run its context provider on an empty batch; for them it
            # computes only vision tower + projector, so that is what runs here, in PyTorch
            plain = plain_features(images[~has_context])
            if not bool(has_context.any()):
                return plain
            focal = self.encode(images[has_context])  # every input is encoded on its own: merge back in order
            merged = focal.new_empty((images.shape[0], *focal.shape[1:]))
            merged[has_context] = focal
            merged[~has_context] = plain.to(dtype=focal.dtype, device=focal.device)
            return merged

        def plain_features(images):
            feats = llava_model.get_vision_tower()(images[:, :4])
            return llava_model.get_mm_projector()(feats.to(images.device))

        llava_model.encode_images_with_context = encode_images_with_context
        log.info("DAM vision encoder: %s (%s)", self.runtime, getattr(self.session, "path", "onnx"))
