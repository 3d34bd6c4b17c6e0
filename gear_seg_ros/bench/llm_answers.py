"""What an LLM reasoner answers on a few photos, and what the data engine kept: validity, ids per answer, the
position-bias check (answers that are the first ids in order) and explanations cut mid-sentence.

python -m gear_seg_ros.bench.llm_answers --config config/cpu_llm.yaml --images DIR [--engine-out OUT ...]

--images: every image in DIR gets three instructions (arc* files the arc2017 ones, others the strawberry ones).
--engine-out: folders written by `gear-seg engine DIR --out OUT`; per image, questions kept, dropped as invalid
JSON and otherwise, and how many kept answers are the first ids in order.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

INSTRUCTIONS = {
    "strawberry": [("the ripe strawberry", "referring"), ("the green leaves", "referring"),
                   ("something sweet to eat", "reasoning")],
    "arc": [("the green box", "referring"), ("the pink scissors", "referring"),
            ("something to cut the tape with", "reasoning")],
}


def first_ids_in_order(ids: list[int], eligible: list[int]) -> bool:
    """A run of consecutive ascending ids starting at the first or second eligible id ([0..k-1] or [1..k])."""
    return bool(ids) and ids == list(range(ids[0], ids[0] + len(ids))) and ids[0] in eligible[:2]


def reasoner_answers(config: str, images: Path) -> None:
    from gear_seg_ros.agent import GearSegAgent
    from gear_seg_ros.config import AgentConfig
    from gear_seg_ros.image_io import load_image

    agent = GearSegAgent(AgentConfig.from_yaml(config)).load()
    rows = []
    for path in sorted(p for p in images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        image = load_image(path)
        for text, mode in INSTRUCTIONS["arc" if path.name.startswith("arc") else "strawberry"]:
            r = agent.segment(image, text, mode)
            rows.append({"image": path.stem[:12], "instruction": text, "mode": mode, "success": r.success,
                         "ids": r.ids, "confidence": r.confidence, "reason_s": round(r.timings["reason_s"], 1),
                         "explanation": r.explanation})
            print(json.dumps(rows[-1]), flush=True)
    n = len(rows)
    biased = sum(first_ids_in_order(r["ids"], list(range(1000))) for r in rows)
    cut = sum(1 for r in rows if r["explanation"] and r["explanation"].rstrip()[-1] not in ".!?")
    print(f"\n{n} answers: {sum(r['success'] for r in rows)} valid; ids per answer {[len(r['ids']) for r in rows]}; "
          f"first ids in order {biased}/{n}; explanation not ending a sentence {cut}/{n}; "
          f"median reason_s {statistics.median(r['reason_s'] for r in rows)}")


def engine_summary(out: Path) -> None:
    asked = kept = invalid = biased = 0
    for path in sorted((out / "records").glob("*.json")):
        record = json.loads(path.read_text())
        eligible = [m["id"] for m in record["masks"] if m.get("eligible", True)]
        drops = [d["reason"] for d in record["dropped"] if d["stage"] == "questions"]
        bad_json = sum("JSON" in d for d in drops)
        runs = sum(first_ids_in_order([a["mask_id"] for a in q["answers"]], eligible) for q in record["questions"])
        print(f"  {record['image_id'][:12]}: kept {len(record['questions'])}, invalid JSON {bad_json}, other drops "
              f"{[d[:70] for d in drops if 'JSON' not in d]}, first ids in order {runs}/{len(record['questions'])}")
        asked += len(record["questions"]) + len(drops)
        kept, invalid, biased = kept + len(record["questions"]), invalid + bad_json, biased + runs
    print(f"{out}: asked {asked}, kept {kept}, dropped as invalid JSON {invalid}, kept answers that are the first "
          f"ids in order {biased}/{kept}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="config/cpu_llm.yaml")
    ap.add_argument("--images", type=Path, help="a folder of photos to ask the reasoner about")
    ap.add_argument("--engine-out", type=Path, nargs="*", default=[], help="engine output folders to summarise")
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}")
    for out in args.engine_out:
        engine_summary(out)
    if args.images:
        reasoner_answers(args.config, args.images)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
