"""One engine worker (this process, a pool process or a Ray actor) and the typed work it is given and returns.

Executors (engine/runner.py's local ones, engine/ray_executor.py) import this module; it imports neither of them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from gear_seg_ros.config import AgentConfig
from gear_seg_ros.engine.options import EngineOptions
from gear_seg_ros.engine.records import ImageRecord, write_record

log = logging.getLogger("gear_seg.engine")


@dataclass(frozen=True)
class EngineJob:
    """What every worker of a run needs (pickled to pool processes and Ray actors)."""

    config: AgentConfig
    options: EngineOptions
    images_dir: Path
    out: Path


@dataclass(frozen=True)
class Built:
    """A record built for one image (as a dict, so it travels between processes), or why it could not be."""

    image_file: str
    record: dict | None
    error: str = ""


@dataclass(frozen=True)
class Outcome:
    """One image finished: the questions kept, or an error ("" when it succeeded)."""

    image_file: str
    questions: int
    error: str = ""


class EngineWorker:
    """Builds its own agent once; `run(image_file)` builds and writes one record."""

    def __init__(self, job: EngineJob) -> None:
        from gear_seg_ros.agent import GearSegAgent

        if not isinstance(job, EngineJob):
            raise TypeError(f"EngineWorker takes an EngineJob, got {type(job).__name__}")
        self.agent = GearSegAgent(job.config).load()  # a bad model path fails here, once
        self.job = job

    def build(self, image_file: str) -> Built:
        from gear_seg_ros.engine.image_job import build_record

        job = self.job
        try:
            record = build_record(self.agent, job.images_dir, image_file, job.out, job.options)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # one bad image (or a model runtime error) must not end the run
            log.debug("image %s failed", image_file, exc_info=True)
            return Built(image_file, None, f"{type(exc).__name__}: {exc}")
        return Built(image_file, record.model_dump())

    def run(self, image_file: str) -> Outcome:
        built = self.build(image_file)
        return store_record(self.job.out, built)


def store_record(out: Path, built: Built) -> Outcome:
    """Validates and writes a built record (atomically); a failed build passes its error through."""
    if built.record is None:
        return Outcome(built.image_file, 0, built.error)
    try:
        written = write_record(Path(out), ImageRecord.model_validate(built.record))
    except (ValueError, OSError) as exc:
        return Outcome(built.image_file, 0, f"record not written: {exc}")
    return Outcome(built.image_file, len(built.record["questions"]), "" if written else "not written")
