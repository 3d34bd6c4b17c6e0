"""The GEAR-Seg agent: segment everything, describe every mask once per frame, reason over the descriptions."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from gear_seg_ros import registry
from gear_seg_ros.cache import FrameCache
from gear_seg_ros.config import AgentConfig
from gear_seg_ros.describe import DESCRIBERS
from gear_seg_ros.errors import GearSegError, InvalidInstructionError, UnknownFrameError
from gear_seg_ros.image_io import validate_image
from gear_seg_ros.reason import MODES, REASONERS
from gear_seg_ros.segment import SEGMENTERS
from gear_seg_ros.segment.nms import filter_masks
from gear_seg_ros.targets import join_targets
from gear_seg_ros.types import Perception, QueryResult, Selection

log = logging.getLogger("gear_seg")
Progress = Callable[[str], None] | None


def content_frame_id(image: np.ndarray) -> str:
    digest = hashlib.blake2b(image.tobytes(), digest_size=12)
    digest.update(str(image.shape).encode())
    return "sha:" + digest.hexdigest()


class GearSegAgent:
    """Stages are built from the config on first use (or all at once with `load()`), then kept for the agent's life."""

    def __init__(self, config: AgentConfig | None = None, *, segmenter=None, describer=None, reasoner=None):
        self.config = config or AgentConfig()
        self._cache = FrameCache(self.config.cache.max_entries, self.config.cache.max_bytes)
        self._segmenter, self._describer, self._reasoner = segmenter, describer, reasoner
        self._perceive_lock = threading.Lock()
        self._reason_lock = threading.Lock()

    # ---- stages ------------------------------------------------------------------------------------------------
    @property
    def segmenter(self):
        if self._segmenter is None:
            cfg = self.config.segmenter
            self._segmenter = registry.build("segmenter", SEGMENTERS, cfg.backend, getattr(cfg, cfg.backend),
                                             **self._base_dir_kw(SEGMENTERS, cfg.backend))
        return self._segmenter

    @property
    def describer(self):
        if self._describer is None:
            cfg = self.config.describer
            self._describer = registry.build("describer", DESCRIBERS, cfg.backend, getattr(cfg, cfg.backend),
                                             **self._base_dir_kw(DESCRIBERS, cfg.backend))
        return self._describer

    @property
    def reasoner(self):
        if self._reasoner is None:
            cfg = self.config.reasoner
            if cfg.isolation == "process":  # a supervised child process (reason/isolated.py)
                from gear_seg_ros.reason.isolated import IsolatedReasoner

                self._reasoner = IsolatedReasoner(cfg, self.config.base_dir)
            else:
                self._reasoner = registry.build("reasoner", REASONERS, cfg.backend, cfg,
                                                base_dir=self.config.base_dir)
        return self._reasoner

    def _base_dir_kw(self, reg: dict, name: str) -> dict:
        import inspect

        cls = registry.load_backend("stage", reg, name)
        params = inspect.signature(cls.__init__).parameters
        return {"base_dir": self.config.base_dir} if "base_dir" in params else {}

    def load(self) -> GearSegAgent:
        """Builds every stage now (a robot loads its models once, at start-up)."""
        _ = self.segmenter, self.describer, self.reasoner
        return self

    def close(self) -> None:
        """Releases what the stages built so far hold (an isolated reasoner's child process, HTTP clients); a stage
        never built is not built for this."""
        for stage in (self._reasoner, self._describer, self._segmenter):
            close = getattr(stage, "close", None)
            if close is not None:
                close()

    # ---- perception --------------------------------------------------------------------------------------------
    def has_frame(self, frame_id: str) -> bool:
        return frame_id in self._cache

    def get_perception(self, frame_id: str) -> Perception | None:
        """The frame's cached Perception, or None when it was never perceived (or was evicted)."""
        return self._cache.get(frame_id)

    def add_perception(self, perception: Perception) -> None:
        """Caches a Perception made elsewhere (read from disk, another run) under its frame_id, for query()."""
        if not isinstance(perception, Perception):
            raise TypeError(f"add_perception takes a Perception, got {type(perception).__name__}")
        if not perception.frame_id:
            raise GearSegError("the perception has no frame_id; set one (queries name the frame by it)")
        if len(perception.descriptions) != len(perception.masks):
            raise GearSegError(f"perception {perception.frame_id!r} has {len(perception.descriptions)} "
                               f"descriptions for {len(perception.masks)} masks; give one description per mask")
        self._cache.put(perception.frame_id, perception)

    def cache_stats(self) -> dict[str, int]:
        """entries, max_entries, bytes, max_bytes, hits, misses of the frame cache (for diagnostics)."""
        c = self._cache
        return {"entries": len(c), "max_entries": c.max_entries, "bytes": c.nbytes, "max_bytes": c.max_bytes,
                "hits": c.hits, "misses": c.misses}

    def perceive(self, image: np.ndarray, frame_id: str | None = None, progress: Progress = None) -> Perception:
        return self.ensure_perceived(image, frame_id, progress)[0]

    def ensure_perceived(self, image: np.ndarray, frame_id: str | None = None,
                         progress: Progress = None) -> tuple[Perception, bool]:
        """Returns (perception, computed): computed is False when the frame came from the cache."""
        image = validate_image(image, self.config.limits.max_image_side)
        frame_id = frame_id or content_frame_id(image)
        cached = self._cache.get(frame_id)
        if cached is not None:
            return cached, False
        with self._perceive_lock:
            cached = self._cache.get(frame_id)  # another thread may have finished it meanwhile
            if cached is not None:
                return cached, False
            perception = self._compute(image, frame_id, progress)
            self._cache.put(frame_id, perception)
            return perception, True

    def _compute(self, image: np.ndarray, frame_id: str, progress: Progress) -> Perception:
        timings: dict[str, float] = {}
        _notify(progress, "segmenting")
        t0 = time.perf_counter()
        proposals = self.segmenter.segment(image)
        t1 = time.perf_counter()
        masks = filter_masks(proposals, image.shape[0] * image.shape[1], self.config.nms)
        t2 = time.perf_counter()
        _notify(progress, "describing")
        descriptions = self.describer.describe(image, masks) if masks else []
        scene = self.describer.describe_scene(image, masks)
        t3 = time.perf_counter()
        if len(descriptions) != len(masks):
            raise GearSegError(f"describer {self.config.describer.backend!r} returned {len(descriptions)} "
                               f"descriptions for {len(masks)} masks")
        timings.update(segment_s=t1 - t0, nms_s=t2 - t1, describe_s=t3 - t2, proposals=float(len(proposals)))
        log.debug("frame %s: %d proposals -> %d masks", frame_id, len(proposals), len(masks))
        return Perception(frame_id=frame_id, image_size=image.shape[:2], masks=masks,
                          descriptions=list(descriptions), scene=scene, timings=timings)

    # ---- queries -----------------------------------------------------------------------------------------------
    def check_instruction(self, instruction: object, mode: str) -> str:
        if not isinstance(instruction, str) or not instruction.strip():
            raise InvalidInstructionError("the instruction is empty; say what to segment, e.g. 'the ripe strawberry'")
        limit = self.config.limits.max_instruction_chars
        if len(instruction) > limit:
            raise InvalidInstructionError(f"the instruction has {len(instruction)} characters, more than the limit "
                                          f"of {limit} (limits.max_instruction_chars); shorten it")
        if mode not in MODES:
            raise InvalidInstructionError(f"unknown mode {mode!r}; use one of {list(MODES)}")
        return instruction.strip()

    def query(self, frame_id: str, instruction: str, mode: str = "reasoning", progress: Progress = None,
              fresh: bool = False, seed: int | None = None) -> QueryResult:
        """Answers `instruction` on a perceived frame. `fresh` marks a frame perceived for this very request;
        `seed` is the LLM's sampling seed for this query (None = the reasoner's configured seed)."""
        instruction = self.check_instruction(instruction, mode)
        perception = self._cache.get(frame_id)
        if perception is None:
            raise UnknownFrameError(f"frame {frame_id!r} has not been perceived (or was evicted from the cache); "
                                    f"call perceive() with its image first")
        _notify(progress, "reasoning")
        t0 = time.perf_counter()
        try:
            with self._reason_lock:
                kwargs = {} if seed is None else {"seed": seed}
                selection = self.reasoner.select(perception, instruction, mode, **kwargs)
        except GearSegError as exc:
            selection = Selection(ids=[], message=str(exc))
        except Exception as exc:  # a model runtime failure must not take the caller down
            log.exception("reasoner failed")
            selection = Selection(ids=[], message=f"the reasoner failed: {type(exc).__name__}: {exc}")
        reason_s = time.perf_counter() - t0
        return self._result(perception, instruction, mode, selection, reason_s, fresh)

    def segment(self, image: np.ndarray, instruction: str, mode: str = "reasoning",
                frame_id: str | None = None, progress: Progress = None) -> QueryResult:
        self.check_instruction(instruction, mode)  # fail before the expensive stages
        perception, computed = self.ensure_perceived(image, frame_id, progress)
        return self.query(perception.frame_id, instruction, mode, progress, fresh=computed)

    def _result(self, perception: Perception, instruction: str, mode: str, selection: Selection,
                reason_s: float, fresh: bool) -> QueryResult:
        h, w = perception.image_size
        targets = join_targets(perception.masks, selection.ids, perception.descriptions, self.config.targets)
        union = np.logical_or.reduce([t.mask for t in targets]) if targets else np.zeros((h, w), dtype=bool)
        stage = {k: (perception.timings.get(k, 0.0) if fresh else 0.0) for k in ("segment_s", "nms_s", "describe_s")}
        timings = {**stage, "reason_s": reason_s, "total_s": sum(stage.values()) + reason_s}
        return QueryResult(
            frame_id=perception.frame_id, instruction=instruction, mode=mode, ids=list(selection.ids),
            targets=targets, union_mask=union, explanation=selection.explanation,
            confidence=selection.confidence, descriptions=dict(perception.numbered()), timings=timings,
            from_cache=not fresh, success=not selection.message, message=selection.message or selection.note)


def _notify(progress: Progress, stage: str) -> None:
    if progress is not None:
        progress(stage)
