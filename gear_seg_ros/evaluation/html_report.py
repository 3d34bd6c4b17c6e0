"""`gear-seg eval --report`: OUT/report.html beside summary.json, with its pictures in OUT/report/.

The page needs no network (inline CSS, inline SVG plots, relative image paths), so it opens from file:// and can be
zipped with its folder. Per query: the photo, the ground truth, the prediction (selected masks with their ids, the
ground truth outlined), the descriptions the reasoner read (its picks and the best union of proposals marked) and
its explanation; sorted worst first.
"""
from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from gear_seg_ros.evaluation.overlay import eval_overlay

REPORT_FILE = "report.html"
ASSET_DIR = "report"
MAX_SIDE = 512  # pixels of the longest side of the pictures in the report
GT_COLOR = np.array([40, 200, 70], np.float32)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:100]


def _small(image: np.ndarray, masks: list[np.ndarray], max_side: int = MAX_SIDE):
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return image, masks
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, [cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool) for m in masks]


def gt_picture(image: np.ndarray, target: np.ndarray, ignore: np.ndarray) -> np.ndarray:
    out = image.astype(np.float32)
    out[target] = 0.45 * out[target] + 0.55 * GT_COLOR
    out[ignore] = 0.5 * out[ignore] + 64
    out = out.astype(np.uint8)
    contours, _ = cv2.findContours(target.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (0, 255, 0), 2)
    return out


def _write_jpg(path: Path, rgb: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85]):
        raise OSError(f"could not write {path}")


@dataclass
class Entry:
    sample_id: str
    record: dict
    photo: str
    gt: str
    prediction: str
    descriptions: dict[int, str]
    best_ids: list[int] = field(default_factory=list)


class ReportWriter:
    """add() per query while the evaluation runs (pictures are written at once, nothing large is kept);
    finish(summary) writes the page."""

    def __init__(self, out: Path, title: str = "") -> None:
        self.out, self.title = Path(out), title
        self.assets = self.out / ASSET_DIR
        shutil.rmtree(self.assets, ignore_errors=True)  # pictures of an earlier run into the same folder
        self.assets.mkdir(parents=True)
        self.entries: list[Entry] = []
        self._samples: dict[str, tuple[str, str]] = {}

    def add(self, sample, query_index: int, record: dict, masks: list[np.ndarray], descriptions: dict[int, str],
            best_ids: list[int] | None = None) -> None:
        key = _safe(sample.sample_id) or "sample"
        if sample.sample_id not in self._samples:
            key = f"{len(self._samples):04d}_{key}"
            small, (target, ignore) = _small(sample.image, [sample.target, sample.ignore])
            _write_jpg(self.assets / f"{key}_photo.jpg", small)
            _write_jpg(self.assets / f"{key}_gt.jpg", gt_picture(small, target, ignore))
            self._samples[sample.sample_id] = (f"{ASSET_DIR}/{key}_photo.jpg", f"{ASSET_DIR}/{key}_gt.jpg")
        photo, gt = self._samples[sample.sample_id]
        prefix = Path(photo).name.removesuffix("_photo.jpg")
        small, fitted = _small(sample.image, [sample.target, sample.ignore, *masks])
        pred_name = f"{prefix}_q{query_index}_pred.jpg"
        ids = [t["id"] for t in record.get("targets", [])]  # masks: one per target (object)
        _write_jpg(self.assets / pred_name, eval_overlay(small, fitted[2:], ids, fitted[0], fitted[1]))
        self.entries.append(Entry(sample.sample_id, dict(record), photo, gt, f"{ASSET_DIR}/{pred_name}",
                                  {int(k): str(v) for k, v in (descriptions or {}).items()}, list(best_ids or [])))

    def finish(self, summary: dict) -> Path:
        path = self.out / REPORT_FILE
        path.write_text(render_page(summary, self.entries, self.title), encoding="utf-8")
        return path


# ---- the page -------------------------------------------------------------------------------------------------------
CSS = """
body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1d232a;background:#f4f5f7}
header{padding:12px 18px;background:#20303f;color:#fff}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c4cfda}main{padding:14px 18px}
.top{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}.top section.box{flex:0 1 auto}
section.box{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:12px 16px;margin-bottom:14px}
h2{font-size:16px;margin:0 0 8px}table{border-collapse:collapse}
td,th{padding:3px 10px;border-bottom:1px solid #eef0f3;text-align:right}th:first-child,td:first-child{text-align:left}
tr.group td{font-weight:600;background:#f7f9fb}.plots{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.card{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:10px 14px;margin-bottom:12px}
.card.failed{border-left:5px solid #d0342c}.card h3{margin:0 0 4px;font-size:15px}
.iou{display:inline-block;min-width:68px;padding:1px 8px;border-radius:9px;color:#fff;font-weight:600}
.pics{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}.pics figure{margin:0}
.pics img{max-height:300px;max-width:100%;border:1px solid #ccd3da;display:block}
figcaption{font-size:12px;color:#56616d}.dim{color:#6b7682}.query{font-size:15px;margin:4px 0}
.desc{border-collapse:collapse;margin-top:4px}.desc td{text-align:left;vertical-align:top;font-size:13px}
.desc tr.picked td{background:#e4f1ff;font-weight:600}.desc tr.best td:first-child{box-shadow:inset 4px 0 #2e9d4a}
.tag{font-size:11px;padding:0 6px;border-radius:7px;background:#dde3ea;margin-left:4px}
"""


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _iou_color(iou: float) -> str:
    red, green = np.array([208, 52, 44]), np.array([46, 157, 74])
    r, g, b = (red + (green - red) * float(np.clip(iou, 0, 1))).astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def summary_table(summary: dict) -> str:
    rows = ["<tr><th>split</th><th>n</th><th>gIoU</th><th>cIoU</th><th>ncIoU</th><th>failed</th></tr>"]

    def row(name: str, s: dict, cls: str = "") -> str:
        return (f"<tr class='{cls}'><td>{html.escape(name)}</td><td>{s.get('count', 0)}</td><td>{_pct(s.get('gIoU'))}"
                f"</td><td>{_pct(s.get('cIoU'))}</td><td>{_pct(s.get('ncIoU'))}</td><td>{s.get('failed', 0)}</td></tr>")

    rows.append(row("all", summary.get("overall", {}), "group"))
    for title in ("by_is_sentence", "by_mode", "by_category"):
        groups = summary.get(title) or {}
        if groups:
            rows.append(f"<tr class='group'><td colspan='6'>{html.escape(title.replace('_', ' '))}</td></tr>")
            rows += [row("  " + str(k), v) for k, v in groups.items()]
    coco = summary.get("coco") or {}
    extra = ""
    if coco.get("mAP") is not None:
        extra = (f"<p>COCO segm: mAP {coco['mAP']:.3f} · AP50 {coco['AP50']:.3f} · AP75 {coco['AP75']:.3f} · "
                 f"AR100 {coco['AR100']:.3f} ({coco['gt_instances']} ground-truth instances, "
                 f"{coco['predictions']} predicted)</p>")
    inst = summary.get("instances") or {}
    if inst.get("queries"):
        ratio = [("-" if inst[k] is None else f"{inst[k]:.3f}") for k in ("precision", "recall")]
        extra += (f"<p>Targets vs ground-truth instances (IoU &ge; {inst['iou_threshold']}): precision {ratio[0]} · "
                  f"recall {ratio[1]} ({inst['matched']} matched, {inst['targets']} targets, "
                  f"{inst['gt_instances']} instances)</p>")
    return f"<table>{''.join(rows)}</table>{extra}"


def scatter_svg(pairs: list[tuple[float, float]], size: int = 340) -> str:
    """IoU reached (y) against the segmentation ceiling (x), one dot per query; the diagonal is 'nothing lost to
    description + reasoning'."""
    pad, inner = 46, size - 60

    def xy(cx: float, cy: float) -> tuple[float, float]:
        return pad + cx * inner, 14 + (1 - cy) * inner

    parts = [(f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size}' role='img' "
             f"aria-label='IoU reached against the segmentation ceiling' class='scatter'>"),
             f"<rect x='{pad}' y='14' width='{inner}' height='{inner}' fill='#fafbfc' stroke='#99a3ad'/>"]
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = xy(t, t)
        parts.append(f"<line x1='{x}' y1='14' x2='{x}' y2='{14 + inner}' stroke='#e3e7eb'/>"
                     f"<line x1='{pad}' y1='{y}' x2='{pad + inner}' y2='{y}' stroke='#e3e7eb'/>"
                     f"<text x='{x}' y='{28 + inner}' font-size='11' text-anchor='middle'>{t:g}</text>"
                     f"<text x='{pad - 6}' y='{y + 4}' font-size='11' text-anchor='end'>{t:g}</text>")
    (x0, y0), (x1, y1) = xy(0, 0), xy(1, 1)
    parts.append(f"<line x1='{x0}' y1='{y0}' x2='{x1}' y2='{y1}' stroke='#56616d' stroke-dasharray='5 4'/>")
    for ceiling, reached in pairs:
        x, y = xy(ceiling, reached)
        parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='5' fill='{_iou_color(reached)}' fill-opacity='0.8' "
                     f"stroke='#1d232a' stroke-width='0.6'><title>ceiling {ceiling:.3f}, reached {reached:.3f}"
                     f"</title></circle>")
    parts.append(f"<text x='{pad + inner / 2}' y='{size - 6}' font-size='12' text-anchor='middle'>segmentation "
                 f"ceiling</text><text x='12' y='{14 + inner / 2}' font-size='12' text-anchor='middle' "
                 f"transform='rotate(-90 12 {14 + inner / 2})'>IoU reached</text></svg>")
    return "".join(parts)


def attribution_bar_svg(att: dict, width: int = 460) -> str:
    """Where the mean IoU went: reached, lost to description + reasoning, lost to segmentation (sums to 100 %)."""
    parts_ = [("reached", att["mean_reached"], "#2e9d4a"),
              ("lost to description + reasoning", att["lost_to_description_reasoning"], "#e59b0e"),
              ("lost to segmentation", att["lost_to_segmentation"], "#8d96a0")]
    out = [(f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='120' role='img' class='bar' "
           f"aria-label='where the IoU was lost'>")]
    x = 0.0
    for k, (name, value, color) in enumerate(parts_):
        w = max(0.0, float(value)) * width
        out.append(f"<rect x='{x:.1f}' y='10' width='{w:.1f}' height='34' fill='{color}'><title>{name}: "
                   f"{_pct(value)} %</title></rect>")
        x += w
        out.append(f"<rect x='0' y='{58 + 20 * k}' width='12' height='12' fill='{color}'/>"
                   f"<text x='18' y='{68 + 20 * k}' font-size='12'>{html.escape(name)}: {_pct(value)} %</text>")
    out.append("</svg>")
    return "".join(out)


def attribution_section(summary: dict, entries: list[Entry]) -> str:
    att = summary.get("attribution") or {}
    if not att.get("count"):
        return "<p class='dim'>No error attribution (no sample had proposals to score).</p>"
    pairs = [(e.record["ceiling"], e.record["iou"]) for e in entries if e.record.get("ceiling") is not None]
    return (f"<p>Mean segmentation ceiling (best IoU any union of the proposed masks reaches) "
            f"<b>{_pct(att['mean_ceiling'])}</b>,<br>mean IoU reached <b>{_pct(att['mean_reached'])}</b> over "
            f"{att['count']} queries.</p><div class='plots'>{scatter_svg(pairs, 300)}{attribution_bar_svg(att, 360)}"
            f"</div>")


def _descriptions(entry: Entry) -> str:
    """The picked masks and the best union's masks as a short table; every description in a fold below it."""
    if not entry.descriptions:
        return "<p class='dim'>No descriptions (perception failed).</p>"
    picked, best = set(entry.record.get("ids") or []), set(entry.best_ids)

    def rows(ids) -> str:
        out = []
        for mid in ids:
            tags = ("<span class='tag'>picked</span>" if mid in picked else "") + \
                   ("<span class='tag'>best union</span>" if mid in best else "")
            cls = " ".join(c for c, on in (("picked", mid in picked), ("best", mid in best)) if on)
            text = html.escape(entry.descriptions.get(mid, "(no description)"))
            out.append(f"<tr class='{cls}'><td>{mid}</td><td>{text}{tags}</td></tr>")
        return "".join(out)

    key = sorted(picked | best)
    opened = " open" if len(entry.descriptions) <= 12 else ""
    return (f"<p><b>picked</b> {', '.join(map(str, sorted(picked))) or 'none'} · <b>best union of proposals</b> "
            f"{', '.join(map(str, sorted(best))) or 'none'}</p><table class='desc'>{rows(key)}</table>"
            f"<details{opened}><summary>all {len(entry.descriptions)} descriptions the reasoner read</summary>"
            f"<table class='desc'>{rows(sorted(entry.descriptions))}</table></details>")


def sample_card(rank: int, entry: Entry) -> str:
    r = entry.record
    ceiling = "" if r.get("ceiling") is None else f" · ceiling {r['ceiling']:.2f}"
    failed = "" if r.get("success") else f"<p><b>failed:</b> {html.escape(str(r.get('message', '')))}</p>"
    conf = "" if r.get("confidence") is None else f" · confidence {r['confidence']}"
    explanation = html.escape(r.get("explanation") or "") or "<span class='dim'>(none)</span>"
    return (f"<article class='card{'' if r.get('success') else ' failed'}' data-iou='{r['iou']:.6f}'>"
            f"<h3><span class='iou' style='background:{_iou_color(r['iou'])}'>IoU {r['iou']:.2f}</span> "
            f"#{rank} · {html.escape(entry.sample_id)} <span class='dim'>· {html.escape(str(r.get('mode')))}"
            f"{ceiling}{conf}</span></h3><p class='query'>“{html.escape(str(r.get('text', '')))}”</p>"
            f"<div class='pics'><figure><img src='{entry.photo}' alt='photo' loading='lazy'><figcaption>photo"
            f"</figcaption></figure><figure><img src='{entry.gt}' alt='ground truth' loading='lazy'><figcaption>"
            f"ground truth</figcaption></figure><figure><img src='{entry.prediction}' alt='prediction' "
            f"loading='lazy'><figcaption>prediction (masks {html.escape(str(r.get('ids')))}, ground truth "
            f"outlined)</figcaption></figure></div>{failed}<p><b>explanation:</b> {explanation}</p>"
            f"{_descriptions(entry)}</article>")


def render_page(summary: dict, entries: list[Entry], title: str = "") -> str:
    ordered = sorted(entries, key=lambda e: (e.record["iou"], -(e.record.get("ceiling") or 0.0)))
    timing = summary.get("timing") or {}
    heading = html.escape(title or "evaluation")
    cards = "".join(sample_card(k + 1, e) for k, e in enumerate(ordered))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>gear-seg eval: {heading}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head><body>"
            f"<header><h1>gear-seg eval · {heading}</h1><p>{summary.get('overall', {}).get('count', 0)} queries on "
            f"{summary.get('images', 0)} images · {timing.get('elapsed_s', '–')} s · summary.json and "
            f"results.jsonl beside this page</p></header><main>"
            f"<div class='top'><section class='box'><h2>Summary</h2>{summary_table(summary)}</section>"
            f"<section class='box'><h2>Error attribution</h2>{attribution_section(summary, entries)}</section></div>"
            f"<section><h2>Samples, worst first</h2>{cards}</section></main></body></html>")
