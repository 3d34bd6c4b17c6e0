"""`gear-seg engine review OUT` (the review page) and `gear-seg engine labelme export|import OUT` (mask fixes)."""
from __future__ import annotations

import sys
from pathlib import Path

from gear_seg_ros.errors import GearSegError

ACTIONS = ("review", "labelme")
DEFAULT_PORT = 8765


def add_arguments(p) -> None:
    g = p.add_argument_group("review (gear-seg engine review OUT) and labelme (gear-seg engine labelme "
                             "export|import OUT)")
    g.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"review: port on 127.0.0.1 (default "
                                                                  f"{DEFAULT_PORT}; 0 = any free one)")
    g.add_argument("--no-browser", action="store_true", help="review: do not open a browser, print the address")
    g.add_argument("--select", default="flagged", metavar="STATUSES",
                   help="labelme export: review statuses to export, comma-separated: pending, accepted, rejected, "
                        "flagged or all (default: flagged)")
    g.add_argument("--labelme-dir", metavar="DIR", default=None, help="labelme: the folder (default OUT/labelme)")
    g.add_argument("--only-accepted", action="store_true",
                   help="export: only the questions accepted in the review (default: all but the rejected ones)")


def run_action(args) -> int:
    action, rest = args.paths[0], args.paths[1:]
    if action == "review" and len(rest) == 1:
        return run_review(Path(rest[0]), args)
    if action == "labelme" and len(rest) == 2 and rest[0] in ("export", "import"):
        return run_labelme(rest[0], Path(rest[1]), args)
    raise GearSegError("expected: engine review OUT, engine labelme export OUT or engine labelme import OUT")


def images_of(out: Path, images: str | None) -> Path:
    from gear_seg_ros.engine.runner import manifest

    images_dir = Path(images) if images else Path(manifest(out)["images_dir"])
    if not images_dir.is_dir():
        raise GearSegError(f"images folder {images_dir} not found; pass --images DIR")
    return images_dir


def run_review(out: Path, args) -> int:
    from gear_seg_ros.engine.review.data import ReviewData
    from gear_seg_ros.engine.review.server import make_server

    if not 0 <= args.port <= 65535:
        raise GearSegError(f"--port {args.port}: expected 0..65535")
    data = ReviewData(out, images_of(out, args.images), progress=not args.no_progress)
    server = make_server(data, args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"review of {out}: {url}  (decisions are saved to {data.store.path}; Ctrl+C stops)", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def run_labelme(action: str, out: Path, args) -> int:
    from gear_seg_ros.engine.review import labelme

    folder = Path(args.labelme_dir) if args.labelme_dir else None
    if action == "export":
        select = labelme.parse_selection(args.select)
        written = labelme.export_labelme(out, images_of(out, args.images), select, folder,
                                         progress=not args.no_progress)
        where = folder or out / labelme.LABELME_DIR
        if not written:
            print(f"no question has a review status in {sorted(select)}; nothing written (see --select)")
            return 0
        print(f"{len(written)} labelme files in {where}; correct them with `labelme {where}`, then run "
              f"`gear-seg engine labelme import {out}`")
        return 0
    summary = labelme.import_labelme(out, folder, progress=not args.no_progress)
    print(f"{summary.files} labelme files read: {summary.questions_changed} questions with corrected masks, "
          f"{summary.masks_added} masks added, {len(summary.emptied)} left without a mask (rejected)")
    for line in summary.skipped:
        print(f"  skipped {line}", file=sys.stderr)
    return 0


def review_line(out: Path) -> str:
    """What the review decided, for the export's output ("" when nobody reviewed)."""
    from gear_seg_ros.engine.review.decisions import decision_counts, load_decisions

    decisions = load_decisions(out)
    if not decisions:
        return ""
    c = decision_counts(decisions)
    return (f"review: {c['accepted']} accepted, {c['rejected']} rejected (left out), {c['flagged']} flagged, "
            f"{c['edited']} with edited text")
