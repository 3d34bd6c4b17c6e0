"""The first check on a lent GPU (scripts/device_check.sh runs it): one run, one JSON + Markdown report.

1. The GPU (name, memory, torch / CUDA versions).
2. The official SAM 2 automatic mask generator against ours (ONNX export of the same random SAM 2.1 weights, mask
   filtering in torch on the GPU), 32 x 32 points on a 1024 image, masks matched (generators_bench.run).
3. Batched against one-by-one description with a tiny random DAM built from DAM's own classes (needs the `dam`
   package and tests/support/tiny_dam.py; reported as skipped, with the reason, when either is missing).
4. Peak GPU memory (torch's allocator) over the whole run.
A section that fails is reported with its error; the others still run. `--smoke --device cpu`: tiny sizes, for CI.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support.*: tests/support/


def _image(side: int) -> np.ndarray:
    """A photo from scikit-image's data when available (real structure for SAM), else a seeded synthetic scene."""
    try:
        import cv2
        from skimage import data

        return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)
    except Exception:  # noqa: BLE001 - the lent image may lack opencv / scikit-image
        rng = np.random.default_rng(0)
        img = np.full((side, side, 3), 40, np.uint8)
        yy, xx = np.mgrid[:side, :side]
        for _ in range(12):
            cy, cx, r = rng.integers(0, side, 2).tolist() + [int(rng.integers(side // 20, side // 6))]
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.integers(0, 255, 3)
        return img


def gpu_info(device: str) -> dict:
    import torch

    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
            "machine": platform.machine(), "device": device}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update(name=props.name, memory_gb=round(props.total_memory / 2**30, 1),
                    capability=f"{props.major}.{props.minor}")
    return info


def generators(device: str, smoke: bool) -> dict:
    from support.torchvision_standin import use_in_generators_bench

    from gear_seg_ros.bench import generators_bench

    use_in_generators_bench()  # the official generator on a pure-torch torchvision where the real one does not import

    providers = ("CPUExecutionProvider",)
    if device == "cuda":
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers = ("CUDAExecutionProvider", "CPUExecutionProvider")
    cfg = "configs/sam2.1/sam2.1_hiera_t.yaml" if smoke else "configs/sam2.1/sam2.1_hiera_l.yaml"
    side, points = (256, 4) if smoke else (1024, 32)
    return generators_bench.run(_image(side), cfg, None, points_per_side=points, points_per_batch=64,
                                providers=providers, postprocess="torch")


def dam_batched(device: str, smoke: bool) -> dict:
    try:
        import dam  # noqa: F401
        from support.tiny_dam import build_tiny_dam
    except Exception as e:  # noqa: BLE001
        return {"skipped": f"tiny DAM unavailable ({type(e).__name__}: {e})"}
    from gear_seg_ros.describe.dam import DamDescriber
    from gear_seg_ros.describe.settings import DamDescriberConfig
    from gear_seg_ros.types import MaskProposal

    image = _image(128 if smoke else 512)
    h, w = image.shape[:2]
    masks = []
    for i in range(4 if smoke else 16):
        m = np.zeros((h, w), bool)
        y, x = (i * 37) % (h // 2), (i * 53) % (w // 2)
        m[y:y + h // 3, x:x + w // 3] = True
        masks.append(MaskProposal(mask=m, area=int(m.sum()), box=(x, y, x + w // 3, y + h // 3)))
    try:  # DAM puts its tensors on CUDA; on the CPU (smoke runs) redirect those few places
        from support.dam_on_cpu import cpu_patches
    except ImportError:
        cpu_patches = contextlib.ExitStack
    out = {"masks": len(masks), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp, cpu_patches():
        model = build_tiny_dam(Path(tmp) / "tiny_dam")
        for name, batch in (("one by one", 1), ("batched", len(masks))):
            describer = DamDescriber(DamDescriberConfig(model_path=str(model), batch_size=batch,
                                                        max_new_tokens=8 if smoke else 32))
            describer.describe(image, masks[:1])  # warm-up
            t0 = time.perf_counter()
            texts = describer.describe(image, masks)
            out["runs"][name] = {"batch": batch, "seconds": time.perf_counter() - t0, "descriptions": len(texts)}
    one, many = out["runs"]["one by one"]["seconds"], out["runs"]["batched"]["seconds"]
    out["speedup"] = one / many if many else None
    return out


def _section(fn, *args) -> dict:
    t0 = time.perf_counter()
    try:
        result = fn(*args)
    except Exception as e:  # noqa: BLE001 - one failed section must not lose the others
        result = {"failed": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-4000:]}
    result["section_s"] = round(time.perf_counter() - t0, 2)
    return result


def run(device: str, smoke: bool) -> dict:
    import torch

    if device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("device_check: --device cuda but torch sees no CUDA GPU")
        torch.cuda.reset_peak_memory_stats()
    report = {"gpu": gpu_info(device), "smoke": smoke, "command": " ".join(sys.argv)}
    report["generators"] = _section(generators, device, smoke)
    report["dam"] = _section(dam_batched, device, smoke)
    if device == "cuda":
        report["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return report


def to_markdown(r: dict) -> str:
    g, d, gpu = r["generators"], r["dam"], r["gpu"]
    lines = [f"# Device check{' (smoke)' if r['smoke'] else ''}", "", f"Command: `{r['command']}`", "",
             (f"Device: {gpu.get('name', gpu['device'])} ({gpu.get('memory_gb', '-')} GB), torch {gpu['torch']}, "
             f"CUDA {gpu['cuda']}, Python {gpu['python']}"), ""]
    if "failed" in g:
        lines += [f"SAM 2 generators: FAILED: {g['failed']}", ""]
    else:
        lines += [(f"SAM 2 automatic masks ({g['model_cfg']}, {g['weights']}, {g['points_per_side']}^2 points, image "
                  f"{g['image_hw'][1]}x{g['image_hw'][0]}):"), "", "| generator | time | masks |", "|---|---|---|",
                  (f"| ours ({g['ours']['runtime']}, {g['ours']['postprocess']} filtering) | "
                  f"{g['ours']['median_s']:.3f} s | {g['ours']['masks']} |"),
                  (f"| official (torchvision: {g['official']['torchvision']}) | {g['official']['median_s']:.3f} s | "
                  f"{g['official']['masks']} |"), "",
                  (f"Official masks matched by ours: min IoU {g['official_masks_matched_iou_min']}, mean "
                  f"{g['official_masks_matched_iou_mean']}."), ""]
    if "skipped" in d or "failed" in d:
        lines += [f"Tiny DAM: {'skipped: ' + d['skipped'] if 'skipped' in d else 'FAILED: ' + d['failed']}", ""]
    else:
        lines += [f"Tiny random DAM, {d['masks']} masks:", "", "| variant | time |", "|---|---|"]
        lines += [f"| {k} (batch {v['batch']}) | {v['seconds']:.3f} s |" for k, v in d["runs"].items()]
        lines += ["", f"Batched speed-up: {d['speedup']:.2f}x", ""]
    if "peak_gpu_memory_mb" in r:
        lines += [f"Peak GPU memory (torch allocator): {r['peak_gpu_memory_mb']:.0f} MB", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (SAM 2.1 tiny, 4x4 points, 256 px), for CI")
    ap.add_argument("--out", required=True, help="folder for gpu-report.json and gpu-report.md")
    args = ap.parse_args(argv)
    report = run(args.device, args.smoke)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu-report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "gpu-report.md").write_text(to_markdown(report))
    print(to_markdown(report))
    failed = [k for k in ("generators", "dam") if "failed" in report[k]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
