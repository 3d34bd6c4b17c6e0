"""Is a TensorRT engine as good as ONNX Runtime on the same inputs? The numeric core of `gear-seg export trt`.

Pure numpy: `compare(reference, candidate, tolerance)` measures per output the max abs difference (and, relative to
the reference's largest magnitude), the mask IoU at the generator's threshold for mask logits, and the cosine
similarity for feature outputs; `select_precision` builds FP16 first, falls back to FP32 when FP16 misses a
tolerance, and refuses when FP32 misses it too. Engines and ONNX Runtime are reached only through callables, so all
of this runs on CPU (the engine side: ONNX Runtime with perturbed outputs in the tests); on a GPU the callables run
TensorRT (export/trt.py), which has NOT been run on a GPU by this project.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gear_seg_ros.errors import GearSegError


@dataclass(frozen=True)
class Tolerance:
    """Limits for one engine part; None = measured and reported, not a limit."""

    max_abs: dict[str, float] = field(default_factory=dict)  # output -> max |engine - onnxruntime|
    max_rel: dict[str, float] = field(default_factory=dict)  # output -> max abs diff / max |onnxruntime|
    mask_outputs: tuple[str, ...] = ()  # logits outputs scored as masks at `mask_threshold`
    mask_threshold: float = 0.0
    min_mask_iou: float | None = None  # the worst mask
    min_mean_mask_iou: float | None = None
    feature_outputs: tuple[str, ...] = ()  # scored by cosine similarity per row
    min_cosine: float | None = None


# The stated tolerances (docs/gpu.md, "Speed"). SAM 2 masks are logits > 0; the stability score reads them at 0 +- 0.7,
# so a logit error under 0.5 cannot move a pixel across both bands; predicted IoUs are thresholded at 0.8 (0.02 is
# a tenth of the distance between typical kept and dropped scores).
SAM2_MASKS = {"mask_outputs": ("masks",), "mask_threshold": 0.0, "min_mask_iou": 0.90, "min_mean_mask_iou": 0.98}
TOLERANCES = {
    ("sam2", "decoder"): Tolerance(max_abs={"masks": 0.5, "iou_predictions": 0.02}, **SAM2_MASKS),
    # the encoder is judged by what it changes downstream: the ONNX Runtime decoder run on the engine's features
    ("sam2", "encoder"): Tolerance(max_abs={"iou_predictions": 0.02}, **SAM2_MASKS),
    ("dam_vision", "vision"): Tolerance(max_rel={"image_features": 0.05}, feature_outputs=("image_features",),
                                        min_cosine=0.999),
}


@dataclass
class CheckReport:
    part: str
    precision: str
    metrics: dict[str, dict[str, float]]
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        return {"part": self.part, "precision": self.precision, "passed": self.passed, "metrics": self.metrics,
                "failures": self.failures}

    def summary(self) -> str:
        head = f"{self.part} {self.precision}: " + ("within tolerance" if self.passed else "; ".join(self.failures))
        return head


def mask_ious(ref_logits: np.ndarray, cand_logits: np.ndarray, threshold: float) -> np.ndarray:
    """IoU per mask (all leading dims flattened) of logits > threshold; two empty masks count as 1."""
    a = ref_logits.reshape(-1, *ref_logits.shape[-2:]) > threshold
    b = cand_logits.reshape(-1, *cand_logits.shape[-2:]) > threshold
    inter = (a & b).sum(axis=(1, 2)).astype(np.float64)
    union = (a | b).sum(axis=(1, 2)).astype(np.float64)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def compare(part: str, precision: str, reference: dict[str, np.ndarray], candidate: dict[str, np.ndarray],
            tol: Tolerance) -> CheckReport:
    metrics: dict[str, dict[str, float]] = {}
    failures: list[str] = []
    for name, ref in reference.items():
        if name not in candidate:
            failures.append(f"{name}: missing from the engine's outputs")
            continue
        ref = np.asarray(ref, dtype=np.float64)
        cand = np.asarray(candidate[name], dtype=np.float64)
        if ref.shape != cand.shape:
            failures.append(f"{name}: shape {cand.shape}, ONNX Runtime gives {ref.shape}")
            continue
        m: dict[str, float] = {}
        if not np.isfinite(cand).all():
            failures.append(f"{name}: {int((~np.isfinite(cand)).sum())} non-finite values (FP16 overflow?)")
            metrics[name] = {"non_finite": float((~np.isfinite(cand)).sum())}
            continue
        diff = np.abs(ref - cand)
        m["max_abs_diff"] = float(diff.max()) if diff.size else 0.0
        m["max_rel_diff"] = m["max_abs_diff"] / max(float(np.abs(ref).max()) if ref.size else 0.0, 1e-12)
        _limit(failures, name, "max abs difference", m["max_abs_diff"], tol.max_abs.get(name), above=True)
        _limit(failures, name, "max relative difference", m["max_rel_diff"], tol.max_rel.get(name), above=True)
        if name in tol.mask_outputs:
            ious = mask_ious(ref, cand, tol.mask_threshold)
            m["mask_iou_min"], m["mask_iou_mean"] = float(ious.min()), float(ious.mean())
            _limit(failures, name, "worst mask IoU", m["mask_iou_min"], tol.min_mask_iou, above=False)
            _limit(failures, name, "mean mask IoU", m["mask_iou_mean"], tol.min_mean_mask_iou, above=False)
        if name in tol.feature_outputs:
            a, b = ref.reshape(len(ref), -1), cand.reshape(len(cand), -1)
            cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
            m["cosine_min"] = float(cos.min())
            _limit(failures, name, "worst cosine similarity", m["cosine_min"], tol.min_cosine, above=False)
        metrics[name] = m
    return CheckReport(part, precision, metrics, failures)


def _limit(failures: list[str], name: str, what: str, value: float, limit: float | None, above: bool) -> None:
    if limit is None:
        return
    if (value > limit) if above else (value < limit):
        failures.append(f"{name}: {what} {value:.4g} {'>' if above else '<'} {limit:g}")


Outputs = dict[str, np.ndarray]


def select_precision(part: str, precisions: list[str], build: Callable[[str], str],
                     run: Callable[[str], Outputs], reference: Outputs, tol: Tolerance) -> tuple[str, str, list]:
    """Build and check `precisions` in order (e.g. ["fp16", "fp32"]); the first one within tolerance wins.

    build(precision) -> engine path; run(engine path) -> outputs on the check inputs. Returns (engine path, precision,
    reports of every try); raises EngineCheckError with the reports when none passes.
    """
    reports = []
    for precision in precisions:
        engine = build(precision)
        report = compare(part, precision, reference, run(engine), tol)
        reports.append(report)
        if report.passed:
            return engine, precision, reports
    raise EngineCheckError(part, reports)


class EngineCheckError(GearSegError):
    def __init__(self, part: str, reports: list[CheckReport]) -> None:
        self.reports = reports
        tried = "; ".join(r.summary() for r in reports)
        super().__init__(f"refusing the {part} engine: it differs from ONNX Runtime beyond the stated tolerance "
                         f"({tried}); check the ONNX export and the TensorRT version, or build without the check "
                         "(--no-check) at your own risk")
