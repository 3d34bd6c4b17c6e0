"""Sentence-embedding matcher between the instruction and the descriptions (explicit referring; no LLM).

It cannot deduce implicit goals: in both modes it ranks by similarity. The modes differ in how many objects it
returns (reason/count.py): `referring` follows the instruction's grammatical number (singular: one object),
`reasoning` returns one region per object whose score stands out, and says that it deduced nothing.
"""
from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from gear_seg_ros.errors import BackendUnavailableError
from gear_seg_ros.models import resolve_model_path
from gear_seg_ros.reason.base import Reasoner
from gear_seg_ros.reason.count import ONE, count_rule
from gear_seg_ros.reason.settings import ReasonerConfig
from gear_seg_ros.types import MaskProposal, Perception, Selection

_FILLER = ("segment ", "find ", "pick ", "please ", "show me ", "grasp ", "select ")


class EmbeddingReasoner(Reasoner):
    name = "embedding"

    def __init__(self, cfg: ReasonerConfig, base_dir: str = "") -> None:
        self.cfg = cfg.embedding
        self.max_targets = cfg.max_targets
        path = resolve_model_path(self.cfg.model_path, base_dir, what="sentence-embedding model",
                                  fetch_name="all-MiniLM-L6-v2")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a model hub at run time
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise BackendUnavailableError(
                "reasoner.backend 'embedding' needs sentence-transformers (requirements/cpu.txt)") from None
        self.model = SentenceTransformer(str(path), device=self.cfg.device)
        self._description_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length sentence embeddings (the matcher's similarity is their dot product; bench/target_count.py)."""
        return self.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


    def _descriptions(self, perception: Perception) -> np.ndarray:
        key = (perception.frame_id, tuple(perception.descriptions))
        if key not in self._description_cache:
            self._description_cache[key] = self.encode(perception.descriptions)
            while len(self._description_cache) > 16:
                self._description_cache.popitem(last=False)
        self._description_cache.move_to_end(key)
        return self._description_cache[key]

    def select(self, perception: Perception, instruction: str, mode: str, *, seed: int | None = None) -> Selection:
        # deterministic: `seed` has nothing to seed
        if not perception.descriptions:
            return Selection(ids=[], message="no masks were found in this frame")
        query = instruction.strip().rstrip(".?!").lower()
        for word in _FILLER:
            query = query.removeprefix(word)
        sims = self._descriptions(perception) @ self.encode([query])[0]
        best = float(sims.max())
        why = " The matcher compares text only and deduces nothing." if mode == "reasoning" else ""
        if best < self.cfg.min_similarity:  # no answer: no confidence to give (None, NaN in the message)
            return Selection(ids=[], explanation=(
                f"No description is similar enough to {instruction!r} (best {best:.2f}, below "
                f"reasoner.embedding.min_similarity {self.cfg.min_similarity}).{why}"))
        number = count_rule(instruction, mode)
        chosen = pick_objects(sims, perception.masks, number, self.cfg.relative_margin, self.cfg.object_margin,
                              self.cfg.part_overlap, self.cfg.min_similarity, self.max_targets, self.cfg.size_margin)
        listing = ", ".join(f"{i} ({sims[i]:.2f})" for i in chosen)
        rule = (f"one object was asked for, so the region within {self.cfg.relative_margin} of the best match "
                f"that is best for its size (each {self.cfg.size_margin} of similarity below another one's costs it "
                f"a factor e in area), grown to the candidate it is the bulk of" if number == ONE else
                f"one region per object that stands out (within {self.cfg.object_margin} of the best match)")
        return Selection(ids=chosen, explanation=(
            f"Similarity to {query!r}: best {best:.2f}; picked {listing}: {rule}.{why}"),
            confidence=_unit(float(sims[chosen].max())))


def _unit(similarity: float) -> float:
    """A cosine similarity as a confidence in [0, 1] (negative similarity: 0)."""
    return round(min(1.0, max(0.0, similarity)), 4)


def _inside(inner: MaskProposal, outer: MaskProposal) -> int:
    """Pixels of `inner` that lie inside `outer` (counted on the boxes' overlap only)."""
    x0, y0 = max(inner.box[0], outer.box[0]), max(inner.box[1], outer.box[1])
    x1, y1 = min(inner.box[2], outer.box[2]), min(inner.box[3], outer.box[3])
    if x0 >= x1 or y0 >= y1:
        return 0
    return int(np.count_nonzero(inner.mask[y0:y1, x0:x1] & outer.mask[y0:y1, x0:x1]))


def _same_object(part: MaskProposal, whole: MaskProposal, overlap: float) -> bool:
    """`whole` holds at least `overlap` of `part`, and `part` fills at least `overlap` of it."""
    inside = _inside(part, whole)
    return inside >= overlap * part.area and inside >= overlap * whole.area


def pick_objects(sims: np.ndarray, masks: list[MaskProposal], number: str, relative_margin: float,
                 object_margin: float, part_overlap: float, min_similarity: float, max_targets: int,
                 size_margin: float) -> list[int]:
    """The count rule on similarity scores (reason/count.py; constants measured in docs/benchmarks.md).

    Candidates are the masks within `relative_margin` of the best score: the matcher cannot tell them apart well.
    ONE: the candidate with the highest log(area) + (similarity - best) / `size_margin`: a larger region (a whole
    object rather than one of its parts, which the segmenter also proposes) wins unless it is much less similar; a
    candidate `size_margin` below another must be e (2.7) times its area to beat it, so a region that merges the
    best match with its neighbours at the margin's edge (0.08 below: 5 times the area needed) does not displace it.
    Then the pick grows to the largest candidate it is the bulk of (holding `part_overlap` of it and filled to
    `part_overlap` by it: at most 1 / part_overlap times its area), so a face of a box gives the whole box.
    SEVERAL: every candidate within `object_margin` of the best stands out; each stands for an object, the largest
    candidate holding at least `part_overlap` of it; one id per distinct object, best first, at most max_targets.
    """
    best = float(sims.max())
    order = [int(i) for i in np.argsort(-sims, kind="stable")]
    candidates = [i for i in order if sims[i] >= max(min_similarity, best - relative_margin)]
    largest = sorted(candidates, key=lambda i: -masks[i].area)
    if number == ONE:
        pick = max(candidates, key=lambda i: np.log(masks[i].area) + (sims[i] - best) / size_margin)
        return [next(j for j in largest if j == pick or _same_object(masks[pick], masks[j], part_overlap))]
    chosen: list[int] = []
    for i in (i for i in candidates if sims[i] >= best - object_margin):
        need = part_overlap * masks[i].area
        whole = next(j for j in largest if j == i or _inside(masks[i], masks[j]) >= need)
        if whole not in chosen:
            chosen.append(whole)
        if len(chosen) == max_targets:
            break
    return chosen
