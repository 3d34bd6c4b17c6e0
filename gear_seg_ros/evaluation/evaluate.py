"""Run the agent over evaluation samples, score every query, write results.

Per sample the image is perceived once (or its stored perception imported with `from_outputs`), every query is
answered on that frame, and each answer is scored against the shared ground truth. A failure in one sample or one
query is recorded (success=False, scored as I = 0, U = |gt|) and the run goes on; only set-up errors that would fail
every sample (ConfigError, ModelNotFoundError, BackendUnavailableError) stop it.
Each answer's targets (one per object: gear_seg_ros/targets.py) are what COCO mAP and the instance precision /
recall at IoU 0.5 (evaluation/instances.py) score, where the data has instance ground truth.
Writes under out_dir: results.jsonl (one line per query), summary.json, overlays/*.png (optional), report.html with
its pictures in report/ (optional, html_report.py).
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from gear_seg_ros.errors import BackendUnavailableError, ConfigError, ModelNotFoundError
from gear_seg_ros.evaluation.attribution import attribution_summary, segmentation_ceiling
from gear_seg_ros.evaluation.coco_map import CocoCollector
from gear_seg_ros.evaluation.instances import instance_summary, match_instances
from gear_seg_ros.evaluation.metrics import breakdown, failed_score, score_masks, summarize
from gear_seg_ros.evaluation.reference_outputs import read_outputs
from gear_seg_ros.evaluation.samples import EvalQuery, EvalSample

MODES = ("auto", "reasoning", "referring")
SETUP_ERRORS = (ConfigError, ModelNotFoundError, BackendUnavailableError)  # would fail every sample: stop the run


def query_mode(mode: str, query: EvalQuery) -> str:
    """auto: phrases (is_sentence False) are referring, sentences and unknown are reasoning."""
    if mode != "auto":
        return mode
    return "referring" if query.is_sentence is False else "reasoning"


def _fit(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if mask.shape == tuple(shape):
        return mask
    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120]


def _perceive(agent, sample: EvalSample, from_outputs: Path | None):
    """The frame's Perception (put into the agent's cache) and the seconds it took."""
    t0 = time.perf_counter()
    frame_id = sample.image_id
    cached = agent.get_perception(frame_id)
    if cached is not None:
        return cached, 0.0
    if from_outputs is not None:
        perception = read_outputs(from_outputs, frame_id, image_size=sample.target.shape)
        agent.add_perception(perception)
    else:
        perception = agent.perceive(sample.image, frame_id=frame_id)
    return perception, time.perf_counter() - t0


def _score_query(agent, sample, query, mode, perception, ceiling, perceive_s, error):
    record = {"sample_id": sample.sample_id, "image_id": sample.image_id, "text": query.text, "mode": mode,
              "is_sentence": query.is_sentence, "category": query.category, "ids": [], "explanation": "",
              "confidence": None, "timings": {"perceive_s": round(perceive_s, 4)},
              "n_masks": len(perception.masks) if perception is not None else None}
    result = None
    if error is None:
        try:
            result = agent.query(sample.image_id, query.text, mode=mode)
        except Exception as exc:  # noqa: BLE001 - recorded, never aborts the run
            error = f"{type(exc).__name__}: {exc}"
    if result is not None:
        record.update(ids=list(result.ids), explanation=result.explanation, confidence=result.confidence,
                      success=bool(result.success), message=result.message)
        record["timings"].update({k: round(float(v), 4) for k, v in result.timings.items()})
        if perceive_s > 0 and perception is not None:  # this query paid for the frame's perception
            record["timings"].update({k: round(float(perception.timings.get(k, 0.0)), 4)
                                      for k in ("segment_s", "nms_s", "describe_s")})
            record["timings"]["total_s"] = round(perceive_s + float(result.timings.get("reason_s", 0.0)), 4)
        if not result.success:
            error = result.message or "the agent reported failure"
    if error is None:
        score = score_masks(_fit(result.union_mask, sample.target.shape), sample.target, sample.ignore)
    else:
        score = failed_score(sample.target, sample.ignore)
    record.update(score.to_dict(), success=error is None, message=error or record.get("message", ""))
    record["ceiling"] = None if ceiling is None else max(ceiling, score.iou if score.success else 0.0)
    return record, result


def evaluate(samples: Iterable[EvalSample], agent, mode: str = "auto", out_dir=None, from_outputs=None,
             overlays: bool = False, limit: int | None = None,
             log: Callable[[str], None] | None = None, report: bool = False, report_title: str = "") -> dict:
    """Evaluate `agent` on `samples` (limit = at most that many samples). Returns the summary dict."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
    out = Path(out_dir) if out_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    from_outputs = Path(from_outputs) if from_outputs else None
    records, coco, start = [], CocoCollector(), time.perf_counter()
    jsonl = open(out / "results.jsonl", "w", encoding="utf-8") if out else None  # noqa: SIM115 - closed in finally
    reporter = None
    if report and out:
        from gear_seg_ros.evaluation.html_report import ReportWriter

        reporter = ReportWriter(out, report_title)
    try:
        for n, sample in enumerate(islice(samples, limit)):
            perception, error, perceive_s, ceiling, best_ids = None, None, 0.0, None, []
            try:
                perception, perceive_s = _perceive(agent, sample, from_outputs)
            except SETUP_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 - recorded per sample, the run goes on
                error = f"perception failed: {type(exc).__name__}: {exc}"
            if perception is not None:
                shape = sample.target.shape
                ceiling, best_ids = segmentation_ceiling([_fit(m.mask, shape) for m in perception.masks],
                                                         sample.target, sample.ignore)
            category = sample.queries[0].category if sample.queries else None
            if sample.instances and category:
                coco.add_ground_truth(sample.image_id, category, sample.instances, sample.target.shape)
            for k, query in enumerate(sample.queries):
                qmode = query_mode(mode, query)
                record, result = _score_query(agent, sample, query, qmode, perception, ceiling, perceive_s, error)
                perceive_s = 0.0  # charged to the first query of the image only
                ok = result is not None and result.success
                targets = result.targets if ok else []
                masks = [_fit(t.mask, sample.target.shape) for t in targets]  # one per object
                record["targets"] = [{"id": t.id, "mask_ids": list(t.mask_ids)} for t in targets]
                if sample.instances:
                    record["instances"] = match_instances(masks, sample.instances).to_dict()
                records.append(record)
                if jsonl:
                    jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
                    jsonl.flush()
                if sample.instances and category and ok:
                    coco.add_predictions(sample.image_id, category, masks, [t.score for t in targets],
                                         sample.target.shape)
                if overlays and out:
                    from gear_seg_ros.evaluation.overlay import eval_overlay, write_overlay

                    caption = f"IoU {record['iou']:.2f} | {query.text}"
                    write_overlay(out / "overlays" / f"{_safe(sample.sample_id)}_{k}.png",
                                  eval_overlay(sample.image, masks, [t.id for t in targets], sample.target,
                                               sample.ignore, caption))
                if reporter:
                    seen = result.descriptions if result is not None else \
                        dict(perception.numbered()) if perception is not None else {}
                    reporter.add(sample, k, record, masks, seen, best_ids)
                if log:
                    log(f"[{n + 1}] {sample.sample_id} | {query.text[:60]!r} -> IoU {record['iou']:.3f}"
                        + ("" if record["success"] else f" (failed: {record['message'][:80]})"))
    finally:
        if jsonl:
            jsonl.close()
    summary = build_summary(records, coco, time.perf_counter() - start)
    if out:
        (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if reporter:
        reporter.finish(summary)
    return summary


def build_summary(records: list[dict], coco: CocoCollector | None = None, elapsed_s: float = 0.0) -> dict:
    reason = [r["timings"].get("reason_s") for r in records if r["timings"].get("reason_s") is not None]
    perceive = [r["timings"]["perceive_s"] for r in records if r["timings"].get("perceive_s")]
    return {
        "overall": summarize(records),
        "by_is_sentence": breakdown(records, "is_sentence"),
        "by_mode": breakdown(records, "mode"),
        "by_category": breakdown(records, "category"),
        "attribution": attribution_summary((r["ceiling"], r["iou"]) for r in records if r["ceiling"] is not None),
        "coco": coco.evaluate() if coco is not None else {},
        "instances": instance_summary(r["instances"] for r in records if "instances" in r),
        "images": len({r["image_id"] for r in records}),
        "timing": {"elapsed_s": round(elapsed_s, 3),
                   "mean_reason_s": round(float(np.mean(reason)), 4) if reason else None,
                   "mean_perceive_s": round(float(np.mean(perceive)), 4) if perceive else None},
    }
