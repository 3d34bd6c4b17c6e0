"""TensorRT engines (built by `gear-seg export trt`) run on CUDA, with torch tensors as device buffers.

NOT RUN HERE: it needs an NVIDIA GPU, the `tensorrt` package and CUDA torch, none of which exist on the CPU machines
this project is developed on (only its error paths are tested). It uses the tensor-address API of TensorRT 8.6 and
10.x (set_input_shape / set_tensor_address / execute_async_v3) on torch's current CUDA stream.
"""
from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import numpy as np

from gear_seg_ros.errors import BackendUnavailableError, GearSegError, ModelNotFoundError
from gear_seg_ros.runtime.formats import METADATA_FILE

log = logging.getLogger(__name__)

ENGINE_INDEX = "engines.json"


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError:
        raise BackendUnavailableError(
            "TensorRT engines need the `tensorrt` Python package and an NVIDIA GPU (pip install -r requirements/gpu.txt: "
            "tensorrt-cu13 10.16 for CUDA 13; JetPack ships it on a Jetson); on a CPU-only machine run the ONNX files with "
            "onnxruntime instead (runtime: onnxruntime)") from None
    return trt


def gpu_name() -> str:
    """Name of GPU 0 (torch if importable, else nvidia-smi), or 'unknown-gpu'."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001, S110 - torch missing or broken: fall back to nvidia-smi
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10, check=True)
        name = out.stdout.strip().splitlines()[0].strip()
        if name:
            return name
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return "unknown-gpu"


def load_engine_index(engine_dir: Path, onnx_dir: Path, parts: tuple[str, ...]) -> dict:
    """engines.json of `gear-seg export trt`, checked without TensorRT: every part's engine file exists and was built
    from the export now in onnx_dir (its sha256 in metadata.json). Engine paths come back absolute."""
    rebuild = f"build them with `gear-seg export trt --onnx-dir {onnx_dir} --out {engine_dir}`"
    index_path = engine_dir / ENGINE_INDEX
    if not index_path.is_file():
        raise ModelNotFoundError(f"no TensorRT engines in {engine_dir} ({ENGINE_INDEX} missing); {rebuild}")
    try:
        index = json.loads(index_path.read_text())
    except json.JSONDecodeError as exc:
        raise GearSegError(f"{index_path} is not valid JSON ({exc}); {rebuild} --force") from None
    missing = [p for p in parts if not index.get(p)]
    if missing:
        raise ModelNotFoundError(f"{index_path} lists no engine for {missing}; {rebuild}")
    for part in parts:
        path = Path(index[part])
        if not path.is_absolute():
            path = engine_dir / path
        if not path.is_file():
            raise ModelNotFoundError(f"TensorRT engine missing: {path}; {rebuild}")
        index[part] = str(path)
    export = _export_hashes(onnx_dir)
    built = index.get("export_sha256") or {}
    for part in parts:
        if not built.get(part):
            raise GearSegError(f"{index_path} does not record which export its {part!r} engine was built from "
                               f"(built by an older version); {rebuild} --force")
        if built[part] != export.get(part):
            raise GearSegError(
                f"stale TensorRT engines in {engine_dir}: the {part!r} engine was built from an export with sha256 "
                f"{built[part][:16]}..., the export in {onnx_dir} now has {str(export.get(part))[:16]}... (re-exported "
                f"since); {rebuild} --force")
    return index


def _export_hashes(onnx_dir: Path) -> dict[str, str]:
    """{part: sha256} from the export's metadata.json (written by the export, so a re-export changes it)."""
    try:
        meta = json.loads((onnx_dir / METADATA_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {k: v["sha256"] for k, v in meta.items() if isinstance(v, dict) and v.get("sha256")}


def read_engine_index(engine_dir: Path, onnx_dir: Path, parts: tuple[str, ...]) -> dict:
    """load_engine_index, then checked against this GPU and TensorRT (engines only run where they were built)."""
    index = load_engine_index(engine_dir, onnx_dir, parts)
    rebuild = f"build them with `gear-seg export trt --onnx-dir {onnx_dir} --out {engine_dir}`"
    trt = import_tensorrt()
    here = (gpu_name(), trt.__version__)
    built = (index.get("gpu"), index.get("tensorrt"))
    if built != here:
        raise GearSegError(f"the engines in {engine_dir} were built for {built[0]} with TensorRT {built[1]}, this is "
                           f"{here[0]} with TensorRT {here[1]} (engines only run where they were built); {rebuild} "
                           "--force")
    return index


class TrtSession:
    """One engine with an execution context; `run` mirrors onnxruntime's InferenceSession.run."""

    def __init__(self, engine_path: str | Path) -> None:
        trt = import_tensorrt()
        try:
            import torch
        except ImportError:
            raise BackendUnavailableError("running TensorRT engines needs torch with CUDA (the GPU image has it)") \
                from None
        if not torch.cuda.is_available():
            raise BackendUnavailableError("TensorRT engines need a CUDA GPU and none is visible to torch "
                                          "(check the driver / container runtime, or use runtime: onnxruntime)")
        self.torch, self.trt = torch, trt
        self.path = Path(engine_path)
        self.engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(self.path.read_bytes())
        if self.engine is None:
            raise GearSegError(f"TensorRT could not load {self.path} (built for another GPU or TensorRT version?); "
                               "rebuild it with `gear-seg export trt --force`")
        self.context = self.engine.create_execution_context()
        if self.context is None:
            raise GearSegError(f"TensorRT could not create an execution context for {self.path.name} (out of GPU "
                               "memory for its largest profile shape?); rebuild it with a smaller --max-batch")
        # TensorRT on the default stream adds a synchronisation per call: run on our own stream, ordered with
        # torch's current stream on both sides
        self.stream = torch.cuda.Stream()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        is_input = {n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self.input_names = [n for n in names if is_input[n]]
        self.output_names = [n for n in names if not is_input[n]]
        self.dtypes = {n: self._torch_dtype(self.engine.get_tensor_dtype(n)) for n in names}
        self.device = torch.device("cuda")

    def _torch_dtype(self, dt):
        torch, trt = self.torch, self.trt
        table = {trt.DataType.FLOAT: torch.float32, trt.DataType.HALF: torch.float16, trt.DataType.INT32: torch.int32,
                 trt.DataType.INT8: torch.int8, trt.DataType.BOOL: torch.bool}
        for name, torch_dt in (("INT64", torch.int64), ("BF16", torch.bfloat16)):
            if hasattr(trt.DataType, name):
                table[getattr(trt.DataType, name)] = torch_dt
        if dt not in table:
            raise GearSegError(f"{self.path}: unsupported TensorRT tensor type {dt}")
        return table[dt]

    def shape_range(self, name: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """(min, opt, max) shape of a dynamic input in profile 0 (min == max for a static one)."""
        shape = tuple(self.engine.get_tensor_shape(name))
        if all(d >= 0 for d in shape):
            return shape, shape, shape
        lo, opt, hi = self.engine.get_tensor_profile_shape(name, 0)
        return tuple(lo), tuple(opt), tuple(hi)

    def run_torch(self, feed: dict) -> dict:
        """Inputs as torch tensors (any device / dtype) -> outputs as CUDA tensors, ordered after the caller's
        current stream's work and before anything queued on it afterwards."""
        torch = self.torch
        caller = torch.cuda.current_stream()
        buffers = []
        for name in self.input_names:
            if name not in feed:
                raise GearSegError(f"{self.path.name}: input {name!r} not given")
            t = feed[name].to(device=self.device, dtype=self.dtypes[name]).contiguous()
            lo, _, hi = self.shape_range(name)
            if len(t.shape) != len(lo) or any(not (a <= d <= b) for d, a, b in zip(t.shape, lo, hi)):
                raise GearSegError(f"{self.path.name}: input {name!r} has shape {tuple(t.shape)}, the engine takes "
                                   f"{lo} .. {hi}; rebuild it with a larger range (gear-seg export trt --help)")
            if not self.context.set_input_shape(name, tuple(t.shape)):
                raise GearSegError(f"{self.path.name}: TensorRT refused shape {tuple(t.shape)} for {name!r}")
            self.context.set_tensor_address(name, t.data_ptr())
            buffers.append(t)
        outputs = {}
        for name in self.output_names:
            out = torch.empty(tuple(self.context.get_tensor_shape(name)), dtype=self.dtypes[name], device=self.device)
            self.context.set_tensor_address(name, out.data_ptr())
            outputs[name] = out
            buffers.append(out)
        self.stream.wait_stream(caller)  # inputs written on the caller's stream are ready
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise GearSegError(f"TensorRT failed to run {self.path.name} (see the TensorRT log)")
        for t in buffers:  # the allocator must not hand these to other work before our stream is done with them
            t.record_stream(self.stream)
        caller.wait_stream(self.stream)
        return outputs

    def run(self, output_names, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        torch = self.torch
        outputs = self.run_torch({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in feed.items()})
        wanted = output_names or self.output_names
        return [(outputs[n].float() if outputs[n].dtype == torch.bfloat16 else outputs[n]).cpu().numpy()
                for n in wanted]
