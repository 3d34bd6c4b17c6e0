"""Imports and versions of the backends the config uses (only those, imported lazily, as the agent would)."""
from __future__ import annotations

import importlib
from importlib import metadata

from gear_seg_ros.doctor.core import FAIL, OK, Check, Context

LOCK = "pip install -r requirements/cpu.txt (CUDA machine: pip install -r requirements/gpu.txt)"
GPU_LOCK = "pip install -r requirements/gpu.txt"
DAM_COMMIT = "153ad3d33c29324e9197f565547c6bc8500da02d"  # the commit docker/Dockerfile.x86 installs
DAM_INSTALL = (f"pip install --no-deps git+https://github.com/NVlabs/describe-anything@{DAM_COMMIT} (its dependencies "
               "are pinned in requirements/gpu.txt; a CUDA machine)")
# module -> (distribution names to read the version from, fix when it is missing)
PACKAGES = {
    "cv2": (("opencv-python-headless", "opencv-python"), LOCK),
    "skimage": (("scikit-image",), LOCK),
    "numpy": (("numpy",), LOCK),
    "torch": (("torch",), LOCK),
    "torchvision": (("torchvision",), GPU_LOCK + " (no CPU torchvision wheel exists: on CPU use segmenter.backend "
                                                "onnx_sam2 or classical)"),
    "sam2": (("sam2",), "SAM2_BUILD_CUDA=0 pip install --no-deps sam2==1.1.0 (requirements/no-deps.txt)"),
    "onnxruntime": (("onnxruntime", "onnxruntime-gpu"), LOCK),
    "transformers": (("transformers",), LOCK),
    "dam": (("dam",), DAM_INSTALL),
    "sentence_transformers": (("sentence-transformers",), LOCK),
    "llama_cpp": (("llama-cpp-python",), LOCK),
}
NEEDS = {
    ("segmenter", "classical"): ["numpy", "cv2", "skimage"],
    ("segmenter", "sam2"): ["torch", "torchvision", "sam2"],
    ("segmenter", "onnx_sam2"): ["numpy", "onnxruntime"],
    ("describer", "attributes"): ["numpy", "cv2"],
    ("describer", "dam"): ["torch", "transformers", "dam"],
    ("describer", "openai_vlm"): ["numpy", "cv2"],
    ("reasoner", "embedding"): ["torch", "sentence_transformers"],
    ("reasoner", "llama_cpp"): ["llama_cpp"],
    ("reasoner", "openai"): [],
}
REGISTRIES = {"segmenter": ("gear_seg_ros.segment", "SEGMENTERS"), "describer": ("gear_seg_ros.describe", "DESCRIBERS"),
              "reasoner": ("gear_seg_ros.reason", "REASONERS")}


def version_of(module_name: str, module=None) -> str:
    for dist in PACKAGES.get(module_name, ((module_name,), ""))[0]:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return str(getattr(module, "__version__", "?"))


def installed(module_name: str) -> bool:
    return any(_has_dist(d) for d in PACKAGES.get(module_name, ((module_name,), ""))[0])


def _has_dist(dist: str) -> bool:
    try:
        metadata.version(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


def import_row(stage: str, name: str, modules: list[str]) -> Check:
    found, problems, fixes = [], [], []
    for mod in modules:
        try:
            module = importlib.import_module(mod)
        except Exception as exc:  # noqa: BLE001 - a broken install raises more than ImportError
            what = "not installed" if not installed(mod) else \
                f"installed ({version_of(mod)}) but does not import: {type(exc).__name__}: {exc}"
            problems.append(f"{mod} {what}")
            fix = PACKAGES.get(mod, ((), LOCK))[1]
            if mod == "dam" and installed(mod):
                fix = ("install the lock DAM's code imports under (transformers 4.57, numpy 1.26, pydantic 2.10): "
                       + LOCK)
            fixes.append(fix)
            continue
        found.append(f"{mod} {version_of(mod, module)}")
    key = f"{stage}.backend"
    if problems:
        return Check("backend", f"{stage}: {name}", FAIL, f"{key} {name!r} cannot load: " + "; ".join(problems),
                     " && ".join(dict.fromkeys(fixes)))
    return Check("backend", f"{stage}: {name}", OK, ", ".join(found) or "no extra packages")


def checks(ctx: Context) -> list[Check]:
    rows = []
    for stage, (module, attr) in REGISTRIES.items():
        name = getattr(ctx.cfg, stage).backend
        registry = getattr(importlib.import_module(module), attr)
        modules = list(NEEDS.get((stage, name), []))
        rows.append(import_row(stage, name, modules))
        try:  # our own backend module (imports only what the backend needs at module level)
            importlib.import_module(registry[name].split(":")[0])
        except Exception as exc:  # noqa: BLE001
            rows.append(Check("backend", f"{stage}: {name} module", FAIL, f"{registry[name]}: {exc}", LOCK))
    return rows
