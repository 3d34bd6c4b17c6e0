"""Auto-labelling (a category name for every mask, discovered by the LLM) and fruit maturity grading."""
from __future__ import annotations

import json
import re
from functools import lru_cache

from pydantic import BaseModel, Field, create_model

from gear_seg_ros.engine import question_prompts
from gear_seg_ros.engine.llm_calls import complete_json
from gear_seg_ros.engine.options import MATURITY_GRADES, EngineOptions, derived_seed
from gear_seg_ros.engine.records import AnswerRecord, DropRecord, InstanceRecord, MaskRecord, QuestionRecord
from gear_seg_ros.types import Perception
from gear_seg_ros.utils.llm_schema import STRICT, llm_schema
from gear_seg_ros.utils.llm_schema import text as text_field
from gear_seg_ros.utils.rle import encode_rle

CHUNK = 8  # masks per LLM call: short answers keep a small model on track
NOT_OBJECTS = {"background", "none", "other", "unknown", "nothing", "region", "object", "thing"}


def category_name(text: str) -> str:
    """Free LLM text -> snake_case category, singular ("Ripe Strawberries" -> "ripe_strawberry"); "" if unusable."""
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()[:4]
    if words:
        last = words[-1]
        if last.endswith("ies") and len(last) > 4:
            words[-1] = last[:-3] + "y"
        elif last.endswith("s") and not last.endswith("ss") and len(last) > 3:
            words[-1] = last[:-1]
    name = "_".join(words)
    return "" if not name or name in NOT_OBJECTS or name[0].isdigit() else name


Label = text_field(2, 32)  # bounded like every LLM string (utils/llm_schema.py), so each chunk's answer closes


@lru_cache(maxsize=256)
def label_model(ids: tuple[int, ...]) -> type[BaseModel]:
    """The answer for one chunk: a label per mask id, keyed by the id as a string."""
    fields = {f"mask_{i}": (Label, Field(alias=str(i))) for i in ids}
    return create_model("Labels", __config__=STRICT, **fields)


def label_schema(ids: list[int]) -> dict:
    # Parsing stays per mask (below): one unusable label drops that mask, not the chunk.
    return llm_schema(label_model(tuple(ids)))


def label_instances(reasoner, perception: Perception, eligible: list[int], stem: str,
                    opts: EngineOptions) -> tuple[list[InstanceRecord], list[DropRecord]]:
    instances, dropped = [], []
    for start in range(0, len(eligible), CHUNK):
        ids = eligible[start:start + CHUNK]
        text = complete_json(reasoner, question_prompts.label_messages(perception, ids, opts.auto_label),
                             label_schema(ids), derived_seed(opts.seed, stem, "label", start))
        try:
            answer = json.loads(text)
            if not isinstance(answer, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            dropped.append(DropRecord(stage="auto_label", reason=f"masks {ids}: invalid JSON ({exc})"))
            continue
        for i in ids:
            value = answer.get(str(i))
            name = category_name(value) if isinstance(value, str) else ""
            if name:
                instances.append(InstanceRecord(mask_id=i, category=name))
            else:
                dropped.append(DropRecord(stage="auto_label", reason=f"mask {i}: no category ({value!r})"))
    return instances, dropped


def plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun if noun.endswith("s") else noun + "s"


def maturity_questions(agent, perception: Perception, masks: list[MaskRecord], stem: str,
                       opts: EngineOptions) -> tuple[list[QuestionRecord], list[DropRecord]]:
    """'the unripe/turning/ripe <fruit>s', answered by the agent in referring mode: one answer per target (object),
    as the node publishes them. A target joined from several masks is appended to `masks` (in place) as a new mask
    record, its union, listing them in `joined_from`; the same set of masks is appended once."""
    fruit = category_name(opts.maturity or "strawberry") or "strawberry"
    eligible = {m.id for m in masks if m.eligible}
    kept, dropped = [], []
    agent.add_perception(perception)
    for k, grade in enumerate(MATURITY_GRADES):
        query = f"the {grade} {plural(fruit.replace('_', ' '))}"
        result = agent.query(perception.frame_id, query, mode="referring",
                             seed=derived_seed(opts.seed, stem, "maturity", k))
        targets = [t for t in result.targets if eligible.issuperset(t.mask_ids)]
        if not result.success:
            dropped.append(DropRecord(stage="maturity", reason=f"{grade}: {result.message}"))
        elif not targets:
            dropped.append(DropRecord(stage="maturity", reason=f"{grade}: no region selected"))
        elif result.confidence is not None and result.confidence < opts.min_confidence:
            dropped.append(DropRecord(stage="maturity", reason=f"{grade}: confidence {result.confidence:g} < "
                                                               f"{opts.min_confidence:g}"))
        else:
            kept.append(QuestionRecord(
                question_id=f"{stem}_maturity_{grade}", category="maturity", text=[query], is_sentence=False,
                explanation=result.explanation, confidence=result.confidence,
                answers=[AnswerRecord(mask_id=_target_mask_id(t, masks), label=f"{grade}_{fruit}") for t in targets]))
    return kept, dropped


def _target_mask_id(target, masks: list[MaskRecord]) -> int:
    """The record's mask id of a target: its own mask's, or (joined from several) that of its union, appended once."""
    if len(target.mask_ids) == 1:
        return target.id
    parts = sorted(target.mask_ids)
    for m in masks:
        if m.joined_from == parts:
            return m.id
    masks.append(MaskRecord(id=len(masks), description=target.description, area=target.area, box=list(target.box),
                            rle=encode_rle(target.mask), eligible=True, joined_from=parts))
    return masks[-1].id
