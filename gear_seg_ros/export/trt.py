"""Build TensorRT engines from an ONNX export (`gear-seg export trt`): SAM 2 or DAM's vision encoder.

UNTESTED HERE: this needs an NVIDIA GPU and the `tensorrt` Python package (requirements/gpu.txt: tensorrt-cu13,
matching the CUDA driver), neither of which exists on the CPU machines this project is developed on. The code follows the
TensorRT 8.6 / 10.x Python API (Builder, OnnxParser, optimisation profile, build_serialized_network); check it on a
GPU before relying on it. On CPU-only machines it raises BackendUnavailableError with a clear message.

- SAM 2: the image encoder has static shapes (1 x 3 x S x S); the prompt decoder gets one optimisation profile over
  the dynamic prompt batch (min / opt / max prompts) and the number of points per prompt (1 .. max_points; the
  automatic generator uses 1).
- DAM vision encoder: one profile over the mask batch (B x 8 x S x S).
- Each engine is compared with ONNX Runtime on the same inputs (export/engine_check.py, engine_probe.py) and built
  in FP32 instead when its FP16 build misses the stated tolerance, or refused when FP32 misses it too.
- `engines.json` in the engine folder records the kind, GPU, TensorRT version, batch range, each part's engine file,
  precision, check report and the sha256 of the ONNX export it was built from; the runtimes
  (`segmenter.onnx_sam2.runtime: tensorrt`, `describer.dam.vision.runtime: tensorrt`) read it and refuse engines
  built from another export (stale) or for another GPU / TensorRT version.
- Engines are specific to a GPU model and a TensorRT version: the file name carries the GPU name, the TensorRT
  version, the first 16 hex digits of the ONNX file's sha256, the precision and the batch range, so a cached
  engine is re-used only when all of them match (and rebuilt otherwise).

The `onnx_sam2` segmenter can also use TensorRT without this step, through onnxruntime-gpu's
TensorrtExecutionProvider (providers: [TensorrtExecutionProvider, CUDAExecutionProvider]), which caches its own
engines under <model_dir>/trt_cache.
"""
from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

from gear_seg_ros.errors import GearSegError, ModelNotFoundError
from gear_seg_ros.runtime.formats import DAM_VISION_KIND, SAM2_KIND, export_kind, read_export_metadata
from gear_seg_ros.runtime.trt_session import ENGINE_INDEX, gpu_name, import_tensorrt

log = logging.getLogger(__name__)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()


def engine_name(onnx_file: str, sha256: str, gpu: str, trt_version: str, fp16: bool,
                batch: tuple[int, int, int] | None = None, max_points: int | None = None) -> str:
    stem = Path(onnx_file).stem
    parts = [stem, slug(gpu), f"trt{trt_version}", sha256[:16], "fp16" if fp16 else "fp32"]
    if batch:
        parts.append("b{}-{}-{}".format(*batch))
    if max_points:
        parts.append(f"p{max_points}")
    return ".".join(parts) + ".engine"


def _build_one(trt, onnx_path: Path, engine_path: Path, fp16: bool, workspace_gb: float,
               profile_shapes: dict[str, tuple[tuple, tuple, tuple]] | None) -> None:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise GearSegError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if fp16:
        if not hasattr(trt.BuilderFlag, "FP16"):
            # TensorRT 11 builds strongly typed networks only: precision must come from the ONNX graph itself
            raise GearSegError(
                f"TensorRT {trt.__version__} has no FP16 builder flag (weak typing was removed in TensorRT 11); "
                "install TensorRT 10.x (requirements/gpu.txt pins tensorrt-cu13 10.16; JetPack 6 ships 10.3) or "
                "build FP32 engines with --no-fp16")
        if not getattr(builder, "platform_has_fast_fp16", True):
            log.warning("this GPU has no fast FP16; building %s in FP16 anyway", engine_path.name)
        config.set_flag(trt.BuilderFlag.FP16)
    if profile_shapes:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in profile_shapes.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise GearSegError(f"TensorRT failed to build an engine from {onnx_path} (see the TensorRT log above)")
    engine_path.write_bytes(bytes(serialized))
    log.info("built %s in %.0f s", engine_path, time.perf_counter() - t0)


# defaults per export kind: (opt, max) batch; SAM 2 batches grid prompts, DAM batches masks. TensorRT reserves
# activation memory for the largest profile shape: a 1024-prompt SAM 2 decoder needs ~9 GB (too much for 8-16 GB
# GPUs and Jetsons), 256 prompts ~2 GB.
BATCH_DEFAULTS = {SAM2_KIND: (256, 256), DAM_VISION_KIND: (8, 16)}


def engine_plan(meta: dict, batch: tuple[int, int, int], max_points: int) -> dict[str, dict | None]:
    """{part: TensorRT profile shapes or None for a static part}, per export kind."""
    lo, opt, hi = batch
    kind = export_kind(meta)
    if kind == SAM2_KIND:
        # image features have static shapes in the ONNX graph; only the prompt inputs are dynamic
        return {"encoder": None, "decoder": {
            "point_coords": ((lo, 1, 2), (opt, 1, 2), (hi, max_points, 2)),
            "point_labels": ((lo, 1), (opt, 1), (hi, max_points))}}
    if kind == DAM_VISION_KIND:
        c, s = int(meta["channels"]), int(meta["image_size"])
        return {"vision": {meta["vision"]["inputs"][0]: ((lo, c, s, s), (opt, c, s, s), (hi, c, s, s))}}
    raise GearSegError(f"metadata.json names an unknown export kind {kind!r}; re-run the export with this version")


class TensorRTBackend:
    """What build_engines needs from TensorRT: its version, the GPU, building an engine and running one."""

    def __init__(self) -> None:
        self.trt = import_tensorrt()
        self.version = self.trt.__version__
        self.gpu = gpu_name()

    def build(self, onnx_path: Path, engine_path: Path, fp16: bool, workspace_gb: float, shapes) -> None:
        _build_one(self.trt, onnx_path, engine_path, fp16, workspace_gb, shapes)

    def runner(self, engine_path: Path):
        from gear_seg_ros.runtime.trt_session import TrtSession

        session = TrtSession(engine_path)
        return lambda feed: dict(zip(session.output_names, session.run(session.output_names, feed)))


def build_engines(onnx_dir: str | Path, out_dir: str | Path | None = None, fp16: bool = True,
                  workspace_gb: float = 4.0, min_batch: int = 1, opt_batch: int | None = None,
                  max_batch: int | None = None, max_points: int = 4, force: bool = False, check: bool = True,
                  backend=None) -> dict:
    """Build (or re-use cached) engines for every part of an export; returns the engines.json content.

    With `check`, each engine is compared with ONNX Runtime on the same inputs (export/engine_check.py): FP16 first
    when asked, FP32 for a part whose FP16 engine misses the tolerance, refused when FP32 misses it too.
    `backend` is TensorRT (TensorRTBackend) unless a test passes a stand-in.
    """
    from gear_seg_ros.export.engine_check import TOLERANCES, select_precision
    from gear_seg_ros.export.sam2_onnx import export_digest

    onnx_dir = Path(onnx_dir)
    meta = read_export_metadata(onnx_dir)
    default_opt, default_max = BATCH_DEFAULTS.get(export_kind(meta), (8, 16))
    max_batch = max_batch or default_max
    opt_batch = min(opt_batch or default_opt, max_batch)
    if not (1 <= min_batch <= opt_batch <= max_batch):
        raise GearSegError(f"need 1 <= min batch <= opt batch <= max batch, got {min_batch}, {opt_batch}, {max_batch}")
    batch = (min_batch, opt_batch, max_batch)
    plan = engine_plan(meta, batch, max_points)
    backend = backend or TensorRTBackend()
    out = Path(out_dir) if out_dir else onnx_dir / "engines"
    out.mkdir(parents=True, exist_ok=True)
    kind = export_kind(meta)
    result: dict = {"kind": kind, "gpu": backend.gpu, "tensorrt": backend.version, "fp16": fp16,
                    "batch": list(batch), "precision": {}, "export_sha256": {}, "checks": {} if check else None}
    if kind == SAM2_KIND:
        result["max_points"] = max_points
    probe = None
    if check:
        from gear_seg_ros.export.engine_probe import EngineProbe

        probe = EngineProbe(onnx_dir, meta, batch)
    for part, shapes in plan.items():
        onnx_path = onnx_dir / meta[part]["file"]
        if not onnx_path.is_file():
            raise ModelNotFoundError(f"{onnx_path} is missing; re-run the export into {onnx_dir}")
        digest = export_digest(onnx_dir, onnx_path.name)
        if digest != meta[part].get("sha256"):
            raise GearSegError(f"{onnx_path} does not match the sha256 in {onnx_dir / 'metadata.json'} (changed "
                               "after the export); re-run the export")
        points = max_points if shapes and "point_coords" in shapes else None

        def build(precision: str, onnx_path=onnx_path, shapes=shapes, points=points, digest=digest) -> Path:
            engine = out / engine_name(onnx_path.name, digest, backend.gpu, backend.version, precision == "fp16",
                                       batch if shapes else None, points)
            if engine.is_file() and not force:
                log.info("re-using cached engine %s", engine)
            else:
                backend.build(onnx_path, engine, precision == "fp16", workspace_gb, shapes)
            return engine

        precisions = ["fp16", "fp32"] if fp16 else ["fp32"]
        if probe is None:
            engine, precision = build(precisions[0]), precisions[0]
            log.warning("%s engine not compared with ONNX Runtime (--no-check)", part)
        else:
            engine, precision, reports = select_precision(
                part, precisions, build, lambda e, part=part: probe.candidate(part, backend.runner(e)),
                probe.reference(part), TOLERANCES[(kind, part)])
            result["checks"][part] = [r.as_dict() for r in reports]
            for r in reports:
                log.log(logging.INFO if r.passed else logging.WARNING, "engine check: %s", r.summary())
        result[part] = engine.name  # relative to the engine folder, so the folder can be mounted elsewhere
        result["precision"][part] = precision
        result["export_sha256"][part] = digest
    (out / ENGINE_INDEX).write_text(json.dumps(result, indent=2) + "\n")
    return result
