"""`gear-seg bench report`: the three comparisons in one run, as JSON and as the Markdown tables of
docs/benchmarks.md: per-stage pipeline latency and memory for a config, our SAM 2 generator against the official
one (same weights), and batched against one-by-one description."""
from __future__ import annotations

import numpy as np

from gear_seg_ros.config import AgentConfig


def run(config: AgentConfig, images: dict[str, np.ndarray], instruction: str, mode: str,
        generator_image: np.ndarray, checkpoint: str | None, model_cfg: str, points_per_side: int, points_per_batch: int,
        providers: tuple[str, ...], runtime: str, postprocess: str, repeats: int) -> dict:
    from gear_seg_ros.bench import describers_bench, generators_bench, pipeline_bench

    first = next(iter(images.values()))
    return {
        "pipeline": pipeline_bench.run(config, list(images.values()), instruction, mode),
        "images": list(images),
        "describers": describers_bench.run(config, first, repeats),
        "generators": generators_bench.run(generator_image, model_cfg, checkpoint,
                                           points_per_side, points_per_batch, providers, repeats, runtime,
                                           postprocess),
    }


def to_markdown(report: dict, command: str) -> str:
    p, d, g = report["pipeline"], report["describers"], report["generators"]
    lines = [f"Command: `{command}`", "", f"Machine: {report.get('machine', '?')}", ""]
    memory = f"peak RSS {p['peak_rss_mb']:.0f} MB"
    if "gpu" in p:
        memory += f"; {p['gpu']}: torch peak {p['gpu_torch_peak_mb']:.0f} MB"
    if "gpu_memory_used_mb" in p:
        memory += f", GPU memory in use at the end {p['gpu_memory_used_mb']:.0f} MB"
    lines += [(f"Pipeline ({', '.join(f'{k} `{v}`' for k, v in p['backends'].items())}; frames "
              f"{', '.join(report['images'])}; masks per frame {p['masks_per_frame']}; model load "
              f"{p['model_load_s']:.1f} s; {memory}):"), "",
              "| stage | median | p90 |", "|---|---|---|"]
    lines += [f"| {name} | {s['median_s']:.3f} s | {s['p90_s']:.3f} s |" for name, s in p["stages"].items()]
    lines += ["", f"Description of one frame's {d['masks']} masks (`{d['describer']}`):", "",
              "| variant | time | per mask |", "|---|---|---|"]
    for name, r in d["runs"].items():
        size = f" ({d['batch_key']}={r['batch']})" if d["batch_key"] else ""
        lines.append(f"| {name}{size} | {r['median_s']:.3f} s | {r['per_mask_ms']:.1f} ms |")
    lines += ["", (f"SAM 2 automatic masks ({g['model_cfg']}, {g['weights']}, {g['points_per_side']}^2 points, batch "
                  f"{g['points_per_batch']}, image {g['image_hw'][1]}x{g['image_hw'][0]}, torch device "
                  f"{g['device']}):"), "",
              "| generator | time | masks | stages |", "|---|---|---|---|",
              (f"| ours ({g['ours']['runtime']}, {g['ours']['postprocess']} filtering) | {g['ours']['median_s']:.3f} s "
              f"| {g['ours']['masks']} | {_stages(g['ours']['stages_s'])} |"),
              (f"| official SAM2AutomaticMaskGenerator (torchvision: {g['official']['torchvision']}) | "
              f"{g['official']['median_s']:.3f} s | {g['official']['masks']} | - |"),
              "", (f"Official masks matched by ours: min IoU {g['official_masks_matched_iou_min']}, mean "
                  f"{g['official_masks_matched_iou_mean']}."), ""]
    return "\n".join(lines)


def _stages(s: dict) -> str:
    return (f"encoder {s['encoder_s']:.3f} s, decoder {s['decoder_s']:.3f} s ({s['decoder_batches']:.0f} batches), "
            f"filtering {s['postprocess_s']:.3f} s, box NMS {s['nms_s']:.3f} s")
