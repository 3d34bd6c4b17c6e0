"""Sentence-embedding matcher between the instruction and the descriptions (explicit referring; no LLM).

It cannot deduce implicit goals, so in `reasoning` mode it still ranks by similarity and says so in the explanation.
"""
from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from gear_seg_ros.config import ReasonerConfig
from gear_seg_ros.errors import BackendUnavailableError
from gear_seg_ros.models import resolve_model_path
from gear_seg_ros.reason.base import Reasoner
from gear_seg_ros.types import Perception, Selection

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

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    def _descriptions(self, perception: Perception) -> np.ndarray:
        key = (perception.frame_id, tuple(perception.descriptions))
        if key not in self._description_cache:
            self._description_cache[key] = self._encode(perception.descriptions)
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
        sims = self._descriptions(perception) @ self._encode([query])[0]
        best = float(sims.max())
        note = " (embedding matcher: no deduction, similarity only)" if mode == "reasoning" else ""
        if best < self.cfg.min_similarity:
            return Selection(ids=[], explanation=f"no description is similar enough to {instruction!r} "
                                                 f"(best {best:.2f} < {self.cfg.min_similarity}){note}",
                             confidence=1.0)
        chosen = [int(i) for i in np.argsort(-sims, kind="stable")
                  if sims[i] >= max(self.cfg.min_similarity, best - self.cfg.relative_margin)]
        chosen = chosen[: self.max_targets]
        listing = ", ".join(f"{i} ({sims[i]:.2f})" for i in chosen)
        return Selection(ids=chosen, explanation=f"most similar descriptions to {query!r}: {listing}{note}",
                         confidence=round(1 + 9 * max(0.0, best), 1))
