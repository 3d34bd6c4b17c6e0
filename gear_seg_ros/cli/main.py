"""`gear-seg`: the command line. Each subcommand module has register(subparsers); its handler returns an exit code."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from gear_seg_ros.errors import GearSegError

SUBCOMMANDS = ("segment_cmd", "bench_cmd", "bag_cmd", "eval_cmd", "engine_cmd", "export_cmd", "doctor_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gear-seg", description="GEAR-Seg reasoning segmentation agent")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"gear_seg_ros.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gear_seg_ros.cli.{name}":
                continue  # that feature is not part of this installation
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (GearSegError, OSError) as exc:  # OSError: a file or folder the user named (missing, unwritable...)
        print(f"gear-seg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so without a wall of traceback (-v shows it)
        logging.getLogger("gear_seg").debug("unexpected error", exc_info=True)
        print(f"gear-seg: unexpected error ({type(exc).__name__}: {exc}); this is a bug, please report it with the "
              f"output of the same command run with -v", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
