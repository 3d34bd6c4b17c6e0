"""`gear-seg doctor [--config F] [--json]`: can this machine run this config? One row per check, with the fix."""
from __future__ import annotations

import json
import sys

from gear_seg_ros.cli.inputs import add_config_arg, load_config, stdout_to_stderr

STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check imports, GPU, model files (sha256), engines, llama.cpp and ROS for a "
                                      "config; exit 1 when it cannot start")
    add_config_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout and nothing else")
    p.add_argument("--manifest", metavar="FILE", help="model manifest (default: models/manifest.yaml)")
    p.add_argument("--no-ros", dest="ros", action="store_false", help="skip the ROS 2 interface check")
    p.set_defaults(func=run)


def run(args) -> int:
    from gear_seg_ros.doctor import report, run_checks

    cfg = load_config(args.config)
    with stdout_to_stderr(args.json):
        rows = run_checks(cfg, ros=args.ros, manifest=args.manifest,
                          progress=lambda msg: print(f"doctor: {msg}", file=sys.stderr, flush=True))
    doc = report(rows, args.config or "(embedded CPU default)")
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _table(rows, doc)
    return 0 if doc["can_start"] else 1


def _table(rows, doc) -> None:
    verdict = ("this config can start here" if doc["can_start"] else
               f"this config cannot start here: {doc['counts']['fail']} check(s) failed")
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ImportError:
        for r in rows:
            print(r.line())
        print(verdict)
        return
    table = Table(title=f"gear-seg doctor: {doc['config']}", show_lines=True)
    for col in ("check", "status", "detail", "fix"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(Text(r.name), Text(r.status, style=STYLE[r.status]), Text(r.detail), Text(r.fix))
    console = Console(width=max(120, Console().width))
    console.print(table)
    console.print(verdict, style="green" if doc["can_start"] else "bold red")
