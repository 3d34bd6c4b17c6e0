"""Plain-text table of an evaluation summary (what `gear-seg eval` prints)."""
from __future__ import annotations


def _pct(value) -> str:
    return "   -  " if value is None else f"{100 * value:6.2f}"


def _row(name: str, s: dict) -> str:
    return f"{name[:28]:<28} {s.get('count', 0):>6} {_pct(s.get('gIoU'))} {_pct(s.get('cIoU'))} " \
           f"{_pct(s.get('ncIoU'))} {s.get('failed', 0):>6}"


def format_summary(summary: dict) -> str:
    lines = [f"{'split':<28} {'n':>6} {'gIoU':>6} {'cIoU':>6} {'ncIoU':>6} {'failed':>6}", "-" * 64,
             _row("all", summary["overall"])]
    for title in ("by_is_sentence", "by_mode", "by_category"):
        groups = summary.get(title) or {}
        if len(groups) > 1 or title == "by_category" and groups and "unknown" not in groups:
            lines += [f"{title.replace('_', ' ')}:"] + [_row("  " + k, v) for k, v in groups.items()]
    att = summary.get("attribution") or {}
    if att.get("count"):
        rows = [("segmentation ceiling (mean best IoU of any union of proposals)", att["mean_ceiling"]),
                ("reached (mean IoU)", att["mean_reached"]),
                ("lost to segmentation (1 - ceiling)", att["lost_to_segmentation"]),
                ("lost to description + reasoning (ceiling - reached)", att["lost_to_description_reasoning"])]
        lines += [""] + [f"{name + ':':<64}{_pct(value)}" for name, value in rows]
    coco = summary.get("coco") or {}
    if coco.get("mAP") is not None:
        lines += ["", (f"COCO segm: mAP {coco['mAP']:.3f}  AP50 {coco['AP50']:.3f}  AP75 {coco['AP75']:.3f}  "
                      f"AR100 {coco['AR100']:.3f}  ({coco['gt_instances']} gt, {coco['predictions']} predicted)")]
    inst = summary.get("instances") or {}
    if inst.get("queries"):
        lines += [(f"targets vs instances (IoU >= {inst['iou_threshold']}): precision {_ratio(inst['precision'])}  "
                   f"recall {_ratio(inst['recall'])}  ({inst['matched']} matched, {inst['targets']} targets, "
                   f"{inst['gt_instances']} gt instances, {inst['queries']} queries)")]
    return "\n".join(lines)


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.3f}"
