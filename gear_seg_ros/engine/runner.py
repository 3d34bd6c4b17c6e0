"""Running the engine over a folder: resume, manifest, local executors (in-process or a process pool), progress."""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from gear_seg_ros.config import AgentConfig
from gear_seg_ros.engine.options import EngineOptions
from gear_seg_ros.engine.perception_store import perception_root
from gear_seg_ros.engine.records import atomic_write_text, finished_stems
from gear_seg_ros.engine.worker import EngineJob, EngineWorker, Outcome
from gear_seg_ros.errors import ConfigError, GearSegError
from gear_seg_ros.evaluation.samples import IMAGE_SUFFIXES
from gear_seg_ros.reason import can_complete

log = logging.getLogger("gear_seg.engine")
MANIFEST = "engine.json"
# Config keys that do not change what is written (hardware placement, caches); ignored when resuming.
_RUNTIME_KEYS = ("base_dir", "n_threads", "device", "providers", "cache.", "limits.", "isolation")


@dataclass
class RunSummary:
    total: int = 0
    skipped: int = 0  # finished by an earlier run
    done: int = 0
    failed: list[str] = field(default_factory=list)
    questions: int = 0


def list_images(images_dir: Path, limit: int | None = None) -> list[str]:
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise GearSegError(f"images folder not found: {images_dir} (pass a folder of .jpg/.png images)")
    files = sorted(p.name for p in images_dir.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    stems: dict[str, str] = {}
    for name in files:
        stem = Path(name).stem
        if stem in stems:
            raise GearSegError(f"{images_dir}: {stems[stem]} and {name} share the stem {stem!r}; records are named "
                               f"by stem, rename one of them")
        stems[stem] = name
    if not files:
        raise GearSegError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {images_dir}")
    return files[:limit] if limit else files


def check_llm_config(config: AgentConfig) -> None:
    backend = config.reasoner.backend
    if not can_complete(backend):
        raise ConfigError(
            f"reasoner.backend {backend!r} only matches instructions to descriptions; it cannot write questions. "
            f"The engine needs an LLM reasoner: use --config config/cpu_llm.yaml (llama_cpp) or an 'openai' endpoint")


def _comparable(config: dict) -> dict:
    from gear_seg_ros.config import RENAMED_KEYS, flatten

    flat = {RENAMED_KEYS.get(k, k): v for k, v in flatten(config).items()}  # a manifest older than a renamed key
    return {k: v for k, v in flat.items() if not any(part in k for part in _RUNTIME_KEYS)}


def check_manifest(out: Path, images_dir: Path, config: AgentConfig, opts: EngineOptions) -> None:
    """First run: writes engine.json. Resume: refuses options or a config that would make different records."""
    path = Path(out) / MANIFEST
    current = {"options": opts.to_dict(), "config": config.model_dump(), "images_dir": str(Path(images_dir).resolve())}
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        # A key the stored manifest lacks was added to the schema later: it compares as its default, so a folder
        # written by an older version resumes when the settings it had are unchanged.
        stored_opts = {**EngineOptions().to_dict(), **stored.get("options", {})}
        diffs = [k for k in opts.to_dict() if stored_opts.get(k) != opts.to_dict()[k]]
        old = {**_comparable(AgentConfig().model_dump()), **_comparable(stored.get("config", {}))}
        new = _comparable(current["config"])
        diffs += [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        if diffs:
            raise ConfigError(f"{out} holds records made with other settings ({', '.join(diffs[:6])}); resume with "
                              f"the same options and config, or write to a new --out folder")
    atomic_write_text(path, json.dumps(current, indent=1) + "\n")


def manifest(out: Path) -> dict:
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise GearSegError(f"{out} is not an engine output folder ({MANIFEST} is missing)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GearSegError(f"{path} is damaged ({exc}); re-run the engine into a new --out folder") from None
    if not isinstance(info, dict) or "images_dir" not in info:
        raise GearSegError(f"{path} is not an engine manifest (no images_dir); pass --images DIR or re-run the engine")
    return info


def run_engine(images_dir: Path, out: Path, config: AgentConfig, opts: EngineOptions, *, workers: int = 1,
               executor: str = "local", limit: int | None = None, gpus_per_actor: float = 0.0,
               cpus_per_actor: float = 1.0, ray_address: str | None = None, progress: bool = True) -> RunSummary:
    check_llm_config(config)
    files = list_images(images_dir, limit)
    Path(out).mkdir(parents=True, exist_ok=True)
    check_manifest(out, images_dir, config, opts)
    done = finished_stems(out)
    shutil.rmtree(perception_root(out) / ".staging", ignore_errors=True)  # what a killed run was storing
    todo = [f for f in files if Path(f).stem not in done]
    summary = RunSummary(total=len(files), skipped=len(files) - len(todo))
    if not todo:
        return summary
    config = tuned_for_workers(config, workers)
    bar = progress_bar(len(todo), progress)
    job = EngineJob(config, opts, Path(images_dir), Path(out))
    if executor == "ray":
        from gear_seg_ros.engine.ray_executor import run_on_ray

        results = run_on_ray(todo, job, workers, gpus_per_actor=gpus_per_actor, cpus_per_actor=cpus_per_actor,
                             address=ray_address)
    elif workers > 1:
        results = _pool_results(todo, job, workers)
    else:
        results = _serial_results(todo, job)
    try:
        for outcome in results:
            if outcome.error:
                summary.failed.append(f"{outcome.image_file}: {outcome.error}")
                log.warning("%s failed: %s", outcome.image_file, outcome.error)
            else:
                summary.done += 1
                summary.questions += outcome.questions
            bar.set_postfix(questions=summary.questions, failed=len(summary.failed), refresh=False)
            bar.update(1)
    finally:
        bar.close()
    return summary


def tuned_for_workers(config: AgentConfig, workers: int) -> AgentConfig:
    """Several llama.cpp instances on one machine share its cores instead of each taking all of them."""
    config = config.model_copy(deep=True)
    if workers > 1 and config.reasoner.llama_cpp.n_threads is None:
        config.reasoner.llama_cpp.n_threads = max(1, (os.cpu_count() or 1) // workers)
    return config


def progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", desc="engine", file=sys.stderr, disable=not enabled, dynamic_ncols=True)


# ---- local executors: in this process or a spawned process pool -------------------------------------------------
def _serial_results(todo: list[str], job: EngineJob) -> Iterator[Outcome]:
    worker = EngineWorker(job)
    for image_file in todo:
        yield worker.run(image_file)


_WORKER: EngineWorker | None = None


def _init_pool_worker(job: EngineJob) -> None:
    global _WORKER
    _WORKER = EngineWorker(job)


def _pool_run(image_file: str) -> Outcome:
    return _WORKER.run(image_file)


def _pool_results(todo: list[str], job: EngineJob, workers: int) -> Iterator[Outcome]:
    # spawn: each worker starts clean and loads its own models (no forked llama.cpp / torch threads).
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=get_context("spawn"),
                             initializer=_init_pool_worker, initargs=(job,)) as pool:
        futures = [pool.submit(_pool_run, f) for f in todo]
        for future in as_completed(futures):
            yield future.result()
