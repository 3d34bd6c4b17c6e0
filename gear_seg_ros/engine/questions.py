"""Stage 4 of the engine: the LLM writes questions about a perceived image; filters keep the good ones."""
from __future__ import annotations

import random

from gear_seg_ros.engine import question_prompts
from gear_seg_ros.engine.llm_calls import complete_json
from gear_seg_ros.engine.options import EngineOptions, derived_seed
from gear_seg_ros.engine.question_schema import (
    InvalidQuestion,
    normalise_text,
    parse_question,
    question_limits,
    question_schema,
)
from gear_seg_ros.engine.records import AnswerRecord, DropRecord, QuestionRecord
from gear_seg_ros.types import Perception


def pick_categories(opts: EngineOptions, stem: str) -> list[str]:
    """Distinct categories for the image's questions, drawn with the image's own seed."""
    rng = random.Random(derived_seed(opts.seed, stem, "categories"))
    return rng.sample(opts.categories, min(opts.questions_per_image, len(opts.categories)))


def write_questions(reasoner, perception: Perception, eligible: list[int], stem: str, opts: EngineOptions,
                    max_targets: int, retries: int) -> tuple[list[QuestionRecord], list[DropRecord]]:
    kept: list[QuestionRecord] = []
    dropped: list[DropRecord] = []
    if not eligible:
        return kept, [DropRecord(stage="questions", reason="no mask is large enough to be an answer")]
    schema = question_schema(eligible, opts, max_targets)
    limits = question_limits(opts, max_targets, len(eligible), max(eligible))
    for k, category in enumerate(pick_categories(opts, stem)):
        earlier = [q.text[0] for q in kept]
        messages = question_prompts.question_messages(perception, eligible, category, opts.paraphrases, earlier, limits)
        generated, problems = None, []
        for attempt in range(retries + 1):
            text = complete_json(reasoner, messages, schema, derived_seed(opts.seed, stem, k, attempt))
            try:
                generated = parse_question(text, eligible, opts, max_targets)
                break
            except InvalidQuestion as exc:
                problems.append(str(exc))
                messages = question_prompts.retry_messages(messages, text, str(exc))
        if generated is None:
            dropped.append(DropRecord(stage="questions", reason=f"{category}: invalid: {'; '.join(problems)}"))
            continue
        question = QuestionRecord(
            question_id=f"{stem}_q{k}", category=category, text=generated.questions, is_sentence=True,
            explanation=generated.explanation, confidence=generated.confidence / 10,
            answers=[AnswerRecord(mask_id=a.mask_id, label=a.label) for a in generated.answers])
        reason = rejection(question, kept, opts)
        if reason:
            dropped.append(DropRecord(stage="questions", reason=f"{category}: {reason}"))
        else:
            kept.append(question)
    return kept, dropped


def rejection(question: QuestionRecord, kept: list[QuestionRecord], opts: EngineOptions) -> str:
    """Why the question is filtered out ("" = keep): low confidence, or a duplicate of a kept one."""
    if question.confidence is not None and question.confidence < opts.min_confidence:
        return f"confidence {question.confidence:g} < {opts.min_confidence:g}"
    texts = {normalise_text(t) for t in question.text}
    for other in kept:
        if texts & {normalise_text(t) for t in other.text}:
            return f"same question as {other.question_id}"
        if other.category == question.category and set(other.answer_ids) == set(question.answer_ids):
            return f"same answer and category as {other.question_id}"
    return ""
