"""Mask correction in labelme: selected questions out as labelme JSON (one file per question, beside a link to its
photo, so `labelme OUT/labelme` opens them), the corrected files back into the records.

Export: one polygon shape per outer contour of each answer mask, labelled with the answer's label, group_id = the
mask id (engine/contours.py, as the LISA export). Import: each group (group_id, or the label for new shapes without
one) is rasterised with utils/polygons.py (LISA's rule). A group whose polygons are still the exported ones keeps its mask; a
changed or new group becomes a new mask appended to the record (the perception's masks stay as they were) and the
question answers with it; a group the user deleted is no longer an answer. Importing the same files again changes
nothing. A question left with no shape is marked rejected.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gear_seg_ros.engine.contours import mask_to_polygons
from gear_seg_ros.engine.records import (
    AnswerRecord,
    ImageRecord,
    MaskRecord,
    atomic_write_text,
    iter_records,
    read_record,
    record_path,
    write_record,
)
from gear_seg_ros.engine.review.decisions import STATUSES, DecisionStore, load_decisions
from gear_seg_ros.engine.writers.common import place_image
from gear_seg_ros.errors import GearSegError
from gear_seg_ros.utils.polygons import polygons_to_mask, shape_points
from gear_seg_ros.utils.rle import decode_rle, encode_rle

log = logging.getLogger("gear_seg.review")
LABELME_DIR = "labelme"
LABELME_VERSION = "5.5.0"
KEY = "gear_seg"  # our key in the labelme file; labelme keeps keys it does not know when it saves


def parse_selection(text: str) -> set[str]:
    names = {s.strip().lower() for s in text.split(",") if s.strip()}
    if "all" in names:
        return set(STATUSES)
    unknown = names - set(STATUSES)
    if unknown or not names:
        raise GearSegError(f"--select {text!r}: choose from {', '.join(STATUSES)} or all (comma-separated)")
    return names


def item_name(image_id: str, question_id: str) -> str:
    return question_id if question_id.startswith(image_id) else f"{image_id}__{question_id}"


def labelme_doc(record: ImageRecord, question, image_name: str) -> dict:
    shapes = []
    for answer in question.answers:
        mask = decode_rle(record.masks[answer.mask_id].rle)
        for polygon in mask_to_polygons(mask):
            shapes.append({"label": answer.label, "points": [[float(x), float(y)] for x, y in polygon],
                           "group_id": answer.mask_id, "description": "", "shape_type": "polygon", "flags": {},
                           "mask": None})
    return {"version": LABELME_VERSION, "flags": {}, "shapes": shapes, "imagePath": image_name, "imageData": None,
            "imageHeight": record.height, "imageWidth": record.width,
            KEY: {"image_id": record.image_id, "question_id": question.question_id, "text": question.text,
                  "answer_mask_ids": question.answer_ids}}


def export_labelme(out: Path, images_dir: Path, select: set[str], folder: Path | None = None,
                   progress: bool = True) -> list[Path]:
    """The questions whose review status is in `select`, as labelme files in `folder` (default OUT/labelme)."""
    from tqdm import tqdm

    folder = Path(folder) if folder else Path(out) / LABELME_DIR
    decisions = load_decisions(out)
    records = list(iter_records(out))
    chosen = [(rec, q) for rec in records for q in rec.questions
              if (decisions[q.question_id].status if q.question_id in decisions else "pending") in select]
    written = []
    for rec, question in tqdm(chosen, desc="labelme export", unit="question", disable=not progress):
        decision = decisions.get(question.question_id)
        if decision and decision.text:
            question = question.model_copy(update={"text": decision.text})
        name = item_name(rec.image_id, question.question_id)
        source = Path(images_dir) / rec.image_file
        if not source.is_file():
            raise GearSegError(f"image {source} not found; pass --images DIR if the images moved")
        image_name = name + source.suffix.lower()
        if not (folder / image_name).exists():
            place_image(source, folder / image_name)
        path = folder / f"{name}.json"
        atomic_write_text(path, json.dumps(labelme_doc(rec, question, image_name), indent=1, ensure_ascii=False))
        written.append(path)
    return written


@dataclass
class ImportSummary:
    files: int = 0
    questions_changed: int = 0
    masks_added: int = 0
    emptied: list[str] = field(default_factory=list)  # question ids left without a shape: rejected
    skipped: list[str] = field(default_factory=list)  # files that are not ours, with the reason


def _groups(shapes: Iterable[dict]) -> dict[tuple, dict]:
    """(kind, key) -> {"label", "polygons"}: a group per group_id; shapes without one group by label."""
    groups: dict[tuple, dict] = {}
    for shape in shapes:
        points = shape_points(shape)
        if points is None:
            log.warning("labelme shape %r (%s) skipped: only polygons and rectangles become masks",
                        shape.get("label"), shape.get("shape_type"))
            continue
        gid = shape.get("group_id")
        key = ("id", int(gid)) if isinstance(gid, (int, float)) else ("label", str(shape.get("label") or "target"))
        group = groups.setdefault(key, {"label": str(shape.get("label") or "target"), "polygons": []})
        group["polygons"].append(points)
    return groups


def _same_polygons(a: list[list[list[float]]], b: list[list[list[int]]]) -> bool:
    return len(a) == len(b) and all(np.array_equal(np.asarray(p, float), np.asarray(q, float))
                                    for p, q in zip(a, b, strict=True))


def _mask_id_for(record: ImageRecord, mask: np.ndarray, source: str) -> tuple[ImageRecord, int, bool]:
    """An existing mask with exactly these pixels, or a new one appended (record, id, added)."""
    rle = encode_rle(mask)
    for m in record.masks:
        if m.rle == rle:
            return record, m.id, False
    ys, xs = np.nonzero(mask)
    new = MaskRecord(id=len(record.masks), description=f"corrected in labelme ({source})", area=int(mask.sum()),
                     box=[int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1], rle=rle, eligible=True)
    return record.model_copy(update={"masks": [*record.masks, new]}), new.id, True


def apply_labelme(record: ImageRecord, doc: dict) -> tuple[ImageRecord, bool, int, bool]:
    """(record, question changed, masks added, question left without shapes)."""
    qid = doc[KEY]["question_id"]
    index = next((k for k, q in enumerate(record.questions) if q.question_id == qid), None)
    if index is None:
        raise GearSegError(f"question {qid} is no longer in record {record.image_id}")
    question = record.questions[index]
    answers, added = [], 0
    for (kind, key), group in _groups(doc.get("shapes", [])).items():
        mask = polygons_to_mask(group["polygons"], record.height, record.width)
        if not mask.any():
            continue
        if kind == "id" and 0 <= key < len(record.masks) and _same_polygons(
                group["polygons"], mask_to_polygons(decode_rle(record.masks[key].rle))):
            mask_id = key  # untouched in labelme
        else:
            source = f"was mask {key}" if kind == "id" else f"new shape {group['label']!r}"
            record, mask_id, new = _mask_id_for(record, mask, source)
            added += new
        if mask_id not in [a.mask_id for a in answers]:
            answers.append(AnswerRecord(mask_id=mask_id, label=group["label"]))
    if not answers:
        return record, False, added, True
    changed = [a.model_dump() for a in answers] != [a.model_dump() for a in question.answers]
    if changed:
        questions = list(record.questions)
        questions[index] = question.model_copy(update={"answers": answers})
        record = record.model_copy(update={"questions": questions})
    return record, changed, added, False


def import_labelme(out: Path, folder: Path | None = None, progress: bool = True) -> ImportSummary:
    """Reads every labelme file of `folder` (default OUT/labelme) that this export wrote back into the records."""
    from tqdm import tqdm

    folder = Path(folder) if folder else Path(out) / LABELME_DIR
    if not folder.is_dir():
        raise GearSegError(f"labelme folder {folder} not found; run `gear-seg engine labelme export {out}` first")
    summary, store = ImportSummary(), DecisionStore(out)
    for path in tqdm(sorted(folder.glob("*.json")), desc="labelme import", unit="file", disable=not progress):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            ours = doc[KEY]
            rec_path = record_path(out, ours["image_id"])
            record = read_record(rec_path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            summary.skipped.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        if (doc.get("imageHeight"), doc.get("imageWidth")) not in ((record.height, record.width), (None, None)):
            summary.skipped.append(f"{path.name}: image size {doc.get('imageWidth')}x{doc.get('imageHeight')} is "
                                   f"not the record's {record.width}x{record.height}")
            continue
        new, changed, added, emptied = apply_labelme(record, doc)
        summary.files += 1
        summary.masks_added += added
        qid = ours["question_id"]
        if emptied:
            summary.emptied.append(qid)
            store.update(qid, record.image_id, status="rejected", note="no mask left after the labelme correction")
            continue
        if changed or added:
            write_record(out, new)
            summary.questions_changed += changed
            previous = store.get(qid)
            if previous is not None and previous.status == "flagged":  # the fix it was flagged for is in
                store.update(qid, record.image_id, status="accepted", note="mask corrected in labelme")
    return summary
