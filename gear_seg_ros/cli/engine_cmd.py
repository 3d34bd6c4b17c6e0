"""`gear-seg engine IMAGES_DIR --out OUT ...` (build a data set), `gear-seg engine export OUT` (write it again),
`gear-seg engine review OUT` and `gear-seg engine labelme export|import OUT` (cli/engine_review_cmd.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gear_seg_ros.errors import GearSegError

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "cpu_llm.yaml"
ALL_FORMATS = "lisa,parquet,coco,yolo"
USAGE = ("gear-seg engine IMAGES_DIR [--out OUT] [options]  (one folder of images)\n"
         "       gear-seg engine export OUT | review OUT | labelme export OUT | labelme import OUT")


def _int_range(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value
    return parse


def _float_min(low: float, inclusive: bool):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (value >= low if inclusive else value > low):
            raise argparse.ArgumentTypeError(f"must be {'at least' if inclusive else 'above'} {low}, got {value}")
        return value
    return parse


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        hint = f" (confidences are 0-1: the LLM's 1-10 rating / 10, so {value:g} -> {value / 10:g})" \
            if 1.0 < value <= 10.0 else ""
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value:g}{hint}")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "engine", help="data engine: write a reasoning-segmentation data set from a folder of images",
        usage=USAGE,
        description="gear-seg engine IMAGES_DIR --out OUT [...]  builds (or resumes) a data set;  "
                    "gear-seg engine export OUT [--formats ...]  writes the data sets again from OUT's records "
                    "(honouring the review);  gear-seg engine review OUT  opens the review page;  "
                    "gear-seg engine labelme export|import OUT  round-trips masks through labelme.")
    p.add_argument("paths", nargs="+", metavar="IMAGES_DIR",
                   help="one folder of images, or: export OUT, review OUT, labelme export OUT, labelme import OUT")
    p.add_argument("--out", default="out/engine", help="output folder (records, perception cache, exports)")
    p.add_argument("--config", metavar="FILE", default=None,
                   help=f"agent YAML config with an LLM reasoner (default: {DEFAULT_CONFIG.name}, SmolLM2 on CPU)")
    p.add_argument("--questions-per-image", type=_int_range(1, 4), default=2, metavar="1..4")
    p.add_argument("--paraphrases", type=_int_range(1, 10), default=5)
    p.add_argument("--min-confidence", type=_confidence, default=0.6,
                   help="drop questions the LLM is less sure of (0-1, the LLM's 1-10 rating / 10; default 0.6)")
    p.add_argument("--max-tokens", type=_int_range(16, 32768), default=None, help="per LLM call (default: config)")
    p.add_argument("--workers", type=_int_range(1, 256), default=1, help="processes (or Ray actors), each with "
                                                                        "its own agent")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--gpus-per-actor", type=_float_min(0.0, inclusive=True), default=0.0,
                   help="GPUs each Ray actor requests (0 or more, fractions allowed)")
    p.add_argument("--cpus-per-actor", type=_float_min(0.0, inclusive=False), default=1.0,
                   help="CPUs each Ray actor reserves (above 0, default 1; e.g. llama.cpp's n_threads)")
    p.add_argument("--ray-address", default=None, help="an existing Ray cluster (default: a private local one)")
    p.add_argument("--split", default="0.8,0.1,0.1", help="train,val,test ratios by image (default 0.8,0.1,0.1)")
    p.add_argument("--formats", default=ALL_FORMATS, help=f"exports to write: {ALL_FORMATS} or 'none'")
    p.add_argument("--auto-label", metavar="KEYWORD", default=None,
                   help="name every mask with a discovered category (scene keyword, e.g. strawberry); COCO/YOLO "
                        "then use those categories")
    p.add_argument("--maturity", nargs="?", const="", default=None, metavar="FRUIT",
                   help="also ask 'the unripe/turning/ripe FRUITs' (default fruit: the auto-label keyword, "
                        "else strawberry)")
    p.add_argument("--limit", type=_int_range(1, 10**9), default=None, help="only the first N images (by name)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--images", default=None, help="export: the images folder, if it moved since the run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    from gear_seg_ros.cli import engine_review_cmd

    engine_review_cmd.add_arguments(p)
    p.set_defaults(func=run)


def load_engine_config(path: str | None):
    from gear_seg_ros.config import AgentConfig

    if path:
        return AgentConfig.from_yaml(path)
    if DEFAULT_CONFIG.is_file():
        return AgentConfig.from_yaml(DEFAULT_CONFIG)
    return AgentConfig.from_dict({"reasoner": {"backend": "llama_cpp"}})


def _formats(text: str) -> list[str]:
    from gear_seg_ros.engine.writers import FORMATS

    if text.strip().lower() == "none":
        return []
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise GearSegError(f"unknown --formats {unknown}; choose from {', '.join(FORMATS)} or 'none'")
    return formats


def run(args) -> int:
    from gear_seg_ros.cli import engine_review_cmd
    from gear_seg_ros.engine.splits import parse_ratios

    if args.paths[0] in engine_review_cmd.ACTIONS:
        return engine_review_cmd.run_action(args)
    try:
        ratios = parse_ratios(args.split)
    except ValueError as exc:
        raise GearSegError(str(exc)) from None
    formats = _formats(args.formats)
    if args.paths[0] == "export" and len(args.paths) == 2:
        return run_export(Path(args.paths[1]), formats or list(ALL_FORMATS.split(",")), ratios, args.images,
                          args.only_accepted)
    if len(args.paths) != 1:
        given = " ".join(args.paths)
        raise GearSegError(f"expected one IMAGES_DIR, got {len(args.paths)} paths ({given}); the engine reads one "
                           f"folder: put the images in one folder and pass it, or run it once per folder with its "
                           f"own --out")
    return run_build(args, Path(args.paths[0]), formats, ratios)


def run_build(args, images_dir: Path, formats: list[str], ratios) -> int:
    from gear_seg_ros.engine.options import EngineOptions
    from gear_seg_ros.engine.runner import run_engine

    if images_dir.is_file():
        raise GearSegError(f"IMAGES_DIR must be a folder of images, and {images_dir} is a file; put the image into a "
                           f"folder and pass the folder (gear-seg engine {images_dir.parent or '.'} reads every image "
                           f"in it), or use `gear-seg segment {images_dir} \"instruction\"` for one photo")
    if not images_dir.is_dir():
        raise GearSegError(f"images folder {images_dir} does not exist; pass a folder of images")
    maturity = None if args.maturity is None else (args.maturity or args.auto_label or "strawberry")
    try:
        opts = EngineOptions(questions_per_image=args.questions_per_image, paraphrases=args.paraphrases,
                             min_confidence=args.min_confidence, max_tokens=args.max_tokens, seed=args.seed,
                             auto_label=args.auto_label, maturity=maturity)
    except ValueError as exc:
        raise GearSegError(str(exc)) from None
    config = load_engine_config(args.config)
    from gear_seg_ros.engine.question_schema import question_limits

    # --max-tokens too small for the question schema: say so now, not as a failure on every image.
    question_limits(opts, config.reasoner.max_targets, config.nms.max_masks, config.nms.max_masks - 1)
    if opts.max_tokens:
        config.reasoner.llama_cpp.max_tokens = opts.max_tokens
        config.reasoner.openai.max_tokens = opts.max_tokens
    out = Path(args.out)
    summary = run_engine(images_dir, out, config, opts, workers=args.workers, executor=args.executor,
                         limit=args.limit, gpus_per_actor=args.gpus_per_actor, cpus_per_actor=args.cpus_per_actor,
                         ray_address=args.ray_address,
                         progress=not args.no_progress)
    print(f"{summary.total} images: {summary.done} done, {summary.skipped} finished earlier, "
          f"{len(summary.failed)} failed; {summary.questions} questions kept; records in {out / 'records'}")
    for line in summary.failed:
        print(f"  failed: {line}", file=sys.stderr)
    if formats:
        _export(out, images_dir, formats, ratios, opts.auto_label)
    return 1 if summary.failed else 0


def run_export(out: Path, formats: list[str], ratios, images: str | None, only_accepted: bool = False) -> int:
    from gear_seg_ros.cli.engine_review_cmd import review_line
    from gear_seg_ros.engine.runner import manifest

    info = manifest(out)
    images_dir = Path(images) if images else Path(info["images_dir"])
    if not images_dir.is_dir():
        raise GearSegError(f"images folder {images_dir} not found; pass --images DIR")
    if review_line(out):
        print(review_line(out) + ("; only the accepted ones exported" if only_accepted else ""))
    _export(out, images_dir, formats, ratios, info.get("options", {}).get("auto_label"), only_accepted)
    return 0


def _export(out: Path, images_dir: Path, formats: list[str], ratios, keyword, only_accepted: bool = False) -> None:
    from gear_seg_ros.engine.writers import export_dataset

    for fmt, path in export_dataset(out, images_dir, formats, ratios, keyword, only_accepted).items():
        print(f"{fmt}: {path}")
