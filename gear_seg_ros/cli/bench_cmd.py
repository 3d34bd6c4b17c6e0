"""`gear-seg bench`: reproducible speed figures (the machine is printed with them)."""
from __future__ import annotations

import json
import platform
from pathlib import Path

from gear_seg_ros.cli.inputs import add_config_arg, load_config, packaged_image, positive_int, stdout_to_stderr


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks: mask NMS, or the whole pipeline per stage")
    bsub = p.add_subparsers(dest="bench", metavar="WHAT", required=True)
    nms = bsub.add_parser("nms", help="mask NMS on N synthetic masks at SIDE x SIDE")
    nms.add_argument("--masks", type=positive_int, default=300)
    nms.add_argument("--side", type=positive_int, default=1024)
    nms.add_argument("--repeats", type=positive_int, default=5)
    nms.add_argument("--json", action="store_true")
    nms.set_defaults(func=run_nms)
    gen = bsub.add_parser("generators", help="our ONNX SAM 2 mask generator vs the official sam2 one, same weights")
    gen.add_argument("--checkpoint", help="SAM 2 checkpoint (default: random weights, seeded)")
    gen.add_argument("--model-cfg", default="configs/sam2.1/sam2.1_hiera_t.yaml")
    gen.add_argument("--image", default="astronaut", help="packaged photo name")
    gen.add_argument("--points-per-side", type=positive_int, default=8)
    gen.add_argument("--points-per-batch", type=positive_int, default=64)
    gen.add_argument("--providers", default="CPUExecutionProvider",
                     help="ONNX Runtime providers, comma-separated (e.g. TensorrtExecutionProvider,CUDAExecutionProvider)")
    gen.add_argument("--runtime", choices=["onnxruntime", "tensorrt"], default="onnxruntime",
                     help="ours on ONNX Runtime (--providers) or on TensorRT engines built for this run")
    gen.add_argument("--postprocess", choices=["auto", "numpy", "torch"], default="auto",
                     help="our mask filtering in numpy or torch (auto: torch on a GPU)")
    gen.add_argument("--repeats", type=positive_int, default=1)
    gen.add_argument("--json", action="store_true")
    gen.set_defaults(func=run_generators)
    desc = bsub.add_parser("describers", help="batched vs one-by-one description of one frame's masks")
    add_config_arg(desc)
    desc.add_argument("--image", default="arc2017", help="packaged photo name")
    desc.add_argument("--repeats", type=int, default=1)
    desc.add_argument("--json", action="store_true")
    desc.set_defaults(func=run_describers)
    pipe = bsub.add_parser("pipeline", help="per-stage latency and peak memory over several frames")
    add_config_arg(pipe)
    pipe.add_argument("--images", nargs="+", default=["arc2017", "voc", "coffee"],
                      help="packaged photo names (see `gear-seg segment --help`)")
    pipe.add_argument("--instruction", default="the green box")
    pipe.add_argument("--mode", default="referring")
    pipe.add_argument("--out", help="write the JSON report here")
    pipe.add_argument("--json", action="store_true")
    pipe.set_defaults(func=run_pipeline)
    trk = bsub.add_parser("tracking", help="tracker update per frame (1 and 6 targets, 640x480) next to a full "
                                           "perception of the same frame")
    add_config_arg(trk)
    trk.add_argument("--frames", type=positive_int, default=60, help="moving-camera frames (default: %(default)s)")
    trk.add_argument("--targets", type=positive_int, nargs="+", default=[1, 6], help="(default: 1 6)")
    trk.add_argument("--perceptions", type=positive_int, default=3, help="full perceptions timed (default: 3)")
    trk.add_argument("--out", help="write the JSON report here")
    trk.add_argument("--json", action="store_true")
    trk.set_defaults(func=run_tracking)
    rep = bsub.add_parser("report", help="pipeline + generators + describers in one run -> report.json and "
                                         "report.md (the tables of docs/benchmarks.md)")
    add_config_arg(rep)
    rep.add_argument("--images", nargs="+", default=["arc2017", "voc", "coffee"], help="packaged photo names")
    rep.add_argument("--instruction", default="the green box")
    rep.add_argument("--mode", default="referring")
    rep.add_argument("--checkpoint", help="SAM 2 checkpoint for the generator comparison (default: random weights)")
    rep.add_argument("--model-cfg", default="configs/sam2.1/sam2.1_hiera_t.yaml")
    rep.add_argument("--generator-image", default="astronaut", help="packaged photo for the generator comparison")
    rep.add_argument("--points-per-side", type=positive_int, default=8)
    rep.add_argument("--points-per-batch", type=positive_int, default=64)
    rep.add_argument("--providers", default="CPUExecutionProvider")
    rep.add_argument("--runtime", choices=["onnxruntime", "tensorrt"], default="onnxruntime")
    rep.add_argument("--postprocess", choices=["auto", "numpy", "torch"], default="auto")
    rep.add_argument("--repeats", type=positive_int, default=1)
    rep.add_argument("--out", default="runs/bench_report", metavar="DIR", help="(default: %(default)s)")
    rep.set_defaults(func=run_report)


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * page_size / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    try:
        system = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except (OSError, AttributeError):
        system = ""
    return (f"{cpu}, {os.cpu_count()} cores{memory}, {system or platform.system()} (kernel {platform.release()}), "
            f"Python {platform.python_version()}")


def run_nms(args) -> int:
    from gear_seg_ros.bench import nms_bench

    report = nms_bench.run(args.masks, args.side, args.repeats)
    report["machine"] = machine()
    if args.json:
        print(json.dumps(report))
    else:
        print(f"mask NMS: {report['masks']} masks at {report['side']}x{report['side']} -> {report['kept']} kept; "
              f"median {report['median_ms']:.1f} ms, best {report['min_ms']:.1f} ms over {report['repeats']} runs\n"
              f"machine: {report['machine']}")
    return 0


def run_pipeline(args) -> int:
    from gear_seg_ros.bench import pipeline_bench

    with stdout_to_stderr(args.json):
        images = [packaged_image(name) for name in args.images]
        report = pipeline_bench.run(load_config(args.config), images, args.instruction, args.mode)
        report["machine"] = machine()
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"backends: {report['backends']}  frames: {report['frames']}  masks/frame: {report['masks_per_frame']}")
    print(f"model load: {report['model_load_s']:.2f} s   peak RSS: {report['peak_rss_mb']:.0f} MB"
          + (f"   GPU {report['gpu']}: torch peak {report['gpu_torch_peak_mb']:.0f} MB" if "gpu" in report else "")
          + (f", in use at the end {report['gpu_memory_used_mb']:.0f} MB" if "gpu_memory_used_mb" in report else ""))
    print(f"{'stage':<28}{'median s':>10}{'p90 s':>10}")
    for name, s in report["stages"].items():
        print(f"{name:<28}{s['median_s']:>10.3f}{s['p90_s']:>10.3f}")
    print(f"machine: {report['machine']}")
    return 0


def run_generators(args) -> int:
    from gear_seg_ros.bench import generators_bench

    with stdout_to_stderr(args.json):
        report = generators_bench.run(packaged_image(args.image), args.model_cfg, args.checkpoint,
                                      args.points_per_side, args.points_per_batch,
                                      tuple(p for p in args.providers.split(",") if p), args.repeats,
                                      args.runtime, args.postprocess)
        report["machine"] = machine()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"SAM 2 {report['model_cfg']} ({report['weights']}), {report['points_per_side']}^2 points, "
          f"image {report['image_hw']}, device {report['device']}")
    print(f"  ours ({report['ours']['runtime']}, {report['ours']['postprocess']} filtering): "
          f"{report['ours']['median_s']:.2f} s, "
          f"{report['ours']['masks']} masks, stages {report['ours']['stages_s']}")
    print(f"  official sam2 generator (torchvision: {report['official']['torchvision']}): "
          f"{report['official']['median_s']:.2f} s, {report['official']['masks']} masks")
    print(f"  official masks matched by ours: min IoU {report['official_masks_matched_iou_min']}, "
          f"mean {report['official_masks_matched_iou_mean']}")
    print(f"machine: {report['machine']}")
    return 0


def run_describers(args) -> int:
    from gear_seg_ros.bench import describers_bench

    with stdout_to_stderr(args.json):
        report = describers_bench.run(load_config(args.config), packaged_image(args.image), args.repeats)
        report["machine"] = machine()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"describer {report['describer']}: {report['masks']} masks"
          + ("" if report["batch_key"] else " (this backend does not batch)"))
    for name, run in report["runs"].items():
        size = f" ({report['batch_key']}={run['batch']})" if report["batch_key"] else ""
        print(f"  {name}{size}: {run['median_s']:.3f} s, {run['per_mask_ms']:.1f} ms per mask")
    print(f"machine: {report['machine']}")
    return 0


def run_report(args) -> int:
    import shlex
    import sys

    from gear_seg_ros.bench import report as bench_report

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(args.images + [args.generator_image]))
    with stdout_to_stderr():
        photos = {name: packaged_image(name) for name in names}
        frames = {name: photos[name] for name in args.images}
        report = bench_report.run(load_config(args.config), frames, args.instruction, args.mode,
                                  photos[args.generator_image], args.checkpoint, args.model_cfg, args.points_per_side,
                                  args.points_per_batch, tuple(p for p in args.providers.split(",") if p),
                                  args.runtime, args.postprocess, args.repeats)
        report["generators"]["image_name"] = args.generator_image
        report["machine"] = machine()
    command = "gear-seg " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["bench"] else \
        "gear-seg bench report"
    markdown = bench_report.to_markdown(report, command)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown)
    print(markdown)
    print(f"written: {out / 'report.json'}, {out / 'report.md'}")
    return 0


def run_tracking(args) -> int:
    import shlex
    import sys

    from gear_seg_ros.bench import tracking_bench

    if args.frames < 2:
        raise SystemExit("--frames must be at least 2 (the first frame starts the tracks)")
    with stdout_to_stderr(args.json):
        report = tracking_bench.run(load_config(args.config), args.frames, args.targets, args.perceptions)
        report["machine"] = machine()
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report))
        return 0
    command = "gear-seg " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["bench"] else \
        "gear-seg bench tracking"
    print(tracking_bench.to_markdown(report, command))
    return 0
