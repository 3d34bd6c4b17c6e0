"""ONNX exports (`onnx_sam2`, DAM's vision encoder) and their TensorRT engine folders: present, matching, not stale.

The engine rows use the runtime's own checks (runtime/trt_session.py), so they fail with the runtime's messages.
"""
from __future__ import annotations

import json
from pathlib import Path

from gear_seg_ros.doctor.core import FAIL, OK, SKIP, WARN, Check, Context
from gear_seg_ros.doctor.gpu import NOT_RUN_NOTE
from gear_seg_ros.doctor.hash_cache import export_digest_cached
from gear_seg_ros.errors import GearSegError
from gear_seg_ros.models import resolve_model_path

SAM2_EXPORT = ("gear-seg export sam2 --checkpoint models/weights/sam2.1_hiera_large.pt --model-cfg "
               "configs/sam2.1/sam2.1_hiera_l.yaml --out {dir}")
DAM_EXPORT = "gear-seg export dam-vision --model-path models/weights/DAM-3B --out {dir}"


def checks(ctx: Context) -> list[Check]:
    cfg, rows = ctx.cfg, []
    if cfg.segmenter.backend == "onnx_sam2":
        o = cfg.segmenter.onnx_sam2
        rows += _export("segmenter.onnx_sam2.model_dir", o.model_dir, ("encoder", "decoder"), SAM2_EXPORT, ctx,
                        o.engine_dir if o.runtime == "tensorrt" else None)
    vision = cfg.describer.dam.vision
    if cfg.describer.backend == "dam" and vision.model_dir:
        rows += _export("describer.dam.vision.model_dir", vision.model_dir, ("vision",), DAM_EXPORT, ctx,
                        vision.engine_dir if vision.runtime == "tensorrt" else None)
    return rows


def _export(key: str, spec: str, parts: tuple[str, ...], export_cmd: str, ctx: Context,
            engine_spec: str | None) -> list[Check]:
    fix = export_cmd.format(dir=spec)
    try:
        folder = Path(resolve_model_path(spec, ctx.base_dir, what="ONNX export folder"))
        meta = json.loads((folder / "metadata.json").read_text())
    except (GearSegError, OSError, json.JSONDecodeError) as exc:
        return [Check("export", key, FAIL, f"no usable ONNX export: {exc}", fix)]
    problems = []
    for part in parts:
        entry = meta.get(part) or {}
        path = folder / str(entry.get("file", ""))
        if not entry.get("file") or not path.is_file():
            problems.append(f"{part} file missing ({path})")
        elif entry.get("sha256") and export_digest_cached(folder, path.name, ctx.progress) != entry["sha256"]:
            problems.append(f"{path.name} does not match the sha256 in metadata.json (changed after the export)")
    if problems:
        return [Check("export", key, FAIL, f"{folder}: " + "; ".join(problems), fix)]
    kind = meta.get("kind", "sam2")
    weights = " (RANDOM weights: tests only)" if meta.get("random_weights") else ""
    rows = [Check("export", key, OK, f"{kind} export at {folder}{weights}, files match metadata.json")]
    if engine_spec is not None:
        rows += _engines(key, folder, engine_spec, parts, ctx)
    return rows


def _engines(key: str, onnx_dir: Path, engine_spec: str, parts: tuple[str, ...], ctx: Context) -> list[Check]:
    from gear_seg_ros.runtime.trt_session import gpu_name, load_engine_index

    name = key.rsplit(".", 1)[0] + " engines"
    build = f"gear-seg export trt --onnx-dir {onnx_dir}"
    try:
        engine_dir = Path(resolve_model_path(engine_spec, ctx.base_dir, what="TensorRT engine folder")) \
            if engine_spec else onnx_dir / "engines"
        index = load_engine_index(engine_dir, onnx_dir, parts)
    except GearSegError as exc:
        return [Check("engine", name, FAIL, str(exc), build + " --force")]
    precision = index.get("precision") or {}
    detail = (f"{engine_dir}: built for {index.get('gpu')} with TensorRT {index.get('tensorrt')}, "
              + ", ".join(f"{p} {precision.get(p, 'fp16' if index.get('fp16') else 'fp32')}" for p in parts)
              + ("" if index.get("checks") else ", NOT compared with ONNX Runtime at build")
              + f"; {NOT_RUN_NOTE}")
    try:
        import tensorrt as trt
    except Exception:  # noqa: BLE001 - reported by the TensorRT row
        return [Check("engine", name, SKIP, detail + "; GPU / TensorRT match not checked (no tensorrt here)")]
    here = (gpu_name(), trt.__version__)
    if (index.get("gpu"), index.get("tensorrt")) != here:
        return [Check("engine", name, FAIL, detail + f"; this machine is {here[0]} with TensorRT {here[1]}",
                      build + " --force")]
    status = OK if index.get("checks") else WARN
    return [Check("engine", name, status, detail, "" if status == OK else build + " --force")]
