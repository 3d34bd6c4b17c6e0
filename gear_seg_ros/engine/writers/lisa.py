"""LISA / ReasonSeg layout: per question an image and a JSON with `text` (paraphrases), `is_sentence`, polygon
`shapes` labelled `target`, plus the engine's extras (explanation, category, answers, confidence)."""
from __future__ import annotations

import json
from pathlib import Path

from gear_seg_ros.engine.contours import mask_to_polygons
from gear_seg_ros.engine.writers.common import place_image


def write(items, folder: Path, final: Path, keyword=None) -> None:
    for item in items:
        suffix = item.image_path.suffix.lower()
        for q in item.record.questions:
            shapes = [{"label": "target", "labelme_label": "target", "points": polygon, "group_id": None,
                       "shape_type": "polygon", "flags": {}, "mask_id": mask_id}
                      for mask_id in q.answer_ids for polygon in mask_to_polygons(item.mask(mask_id))]
            doc = {"text": q.text, "is_sentence": q.is_sentence, "shapes": shapes,
                   "explanation": q.explanation, "category": q.category,
                   "answers": [a.model_dump() for a in q.answers], "confidence": q.confidence,
                   "image_id": item.record.image_id, "question_id": q.question_id}
            target = folder / item.split / q.question_id
            target.parent.mkdir(parents=True, exist_ok=True)
            target.with_suffix(".json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            place_image(item.image_path, target.with_suffix(suffix))
