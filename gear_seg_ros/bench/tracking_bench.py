"""Per-frame tracker update for N targets at 640x480 next to a full perception of the same frame, in one run.

Frames: the arc2017 RGB-D frame seen by an approaching camera (track/synthetic.py), so the flow has real motion to
follow; targets: the N largest visible arc2017 objects, tracked from frame 0 with depth. Some objects leave the
image during the approach and are lost: `live_targets_mean` says how many were still tracked per frame on average.
`update_3d` adds what the node adds per frame: the 3-D centroid and grasp pose of every live target
(geometry.target_geometry with the config's `geometry` section); `posed` counts the live targets that got both.
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from gear_seg_ros.agent import GearSegAgent
from gear_seg_ros.config import AgentConfig

CAMERA_HZ = 30.0


def _stats(seconds: list[float]) -> dict:
    return {"median_ms": float(np.median(seconds) * 1000), "p90_ms": float(np.percentile(seconds, 90) * 1000),
            "n": len(seconds)}


def _load() -> tuple[float, float, float]:
    import os

    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def run(config: AgentConfig, n_frames: int = 60, targets: Sequence[int] = (1, 6), perceptions: int = 3) -> dict:
    from gear_seg_ros.geometry.target import target_geometry
    from gear_seg_ros.track import LOST, build_tracker
    from gear_seg_ros.track.masks import iou
    from gear_seg_ros.track.synthetic import arc2017_sequence

    seq, masks, names = arc2017_sequence(n_frames)
    frames = [seq.frame(i) for i in range(n_frames)]
    k = seq.k.reshape(9)
    agent = GearSegAgent(config).load()
    rgb0 = frames[0][0]
    perceive, perceive_cpu = [], []
    for i in range(perceptions):
        c0, t0 = time.process_time(), time.perf_counter()
        agent.perceive(rgb0, frame_id=f"bench-tracking-{i}")  # a new id each time: computed, never cached
        perceive.append(time.perf_counter() - t0)
        perceive_cpu.append(time.process_time() - c0)
    order = sorted(range(len(masks)), key=lambda j: -int(masks[j].sum()))
    runs = {}
    for n in targets:
        chosen = order[:n]
        tracker = build_tracker(config.tracker, config.base_dir)
        tracker.start(rgb0, [masks[j] for j in chosen], chosen, frames[0][1])
        update, with_3d, live, cpu, cpu_3d, posed = [], [], [], [], [], 0
        for rgb, depth in frames[1:]:
            c0, t0 = time.process_time(), time.perf_counter()
            states = tracker.update(rgb, depth)
            t1, c1 = time.perf_counter(), time.process_time()
            shapes = [target_geometry(s.mask, depth, k, config.geometry, s.box) for s in states if s.state != LOST]
            t2, c2 = time.perf_counter(), time.process_time()
            update.append(t1 - t0)
            cpu.append(c1 - c0)
            with_3d.append(t2 - t0)
            cpu_3d.append(c2 - c0)
            live.append(len(shapes))
            posed += sum(g.centroid_valid and g.pose_valid for g in shapes)
        u = _stats(update)
        last = n_frames - 1
        final = {s.source_id: s for s in states if s.state != LOST}
        in_view = [j for j in chosen if seq.in_view(masks[j], last) >= 0.98]
        scores = {names[j]: round(iou(final[j].mask, seq.render_mask(masks[j], last)), 3) if j in final else 0.0
                  for j in in_view}
        u3 = _stats(with_3d)
        runs[str(n)] = {"targets": [names[j] for j in chosen], "update": u, "update_3d": u3,
                        "update_cpu": _stats(cpu), "update_3d_cpu": _stats(cpu_3d), "last_frame_iou_in_view": scores,
                        "posed": posed, "live_total": int(np.sum(live)),
                        "live_targets_mean": float(np.mean(live)), "live_targets_last": live[-1],
                        "perception_over_update": float(np.median(perceive) * 1000 / u["median_ms"]),
                        "keeps_up_30hz": u["p90_ms"] <= 1000 / CAMERA_HZ,
                        "keeps_up_30hz_3d": u3["p90_ms"] <= 1000 / CAMERA_HZ}
    fc = config.tracker.optical_flow
    return {"backend": config.tracker.backend, "frames": n_frames, "image_hw": list(rgb0.shape[:2]),
            "flow": {"work_side": fc.work_side, "preset": fc.preset, "finest_scale": fc.finest_scale,
                     "patch_stride": fc.patch_stride},
            "load_average": list(_load()),
            "perception": {**_stats(perceive), "cpu": _stats(perceive_cpu), "backends": {"segmenter": config.segmenter.backend,
                                                            "describer": config.describer.backend}},
            "runs": runs}


def to_markdown(report: dict, command: str) -> str:
    p = report["perception"]
    f = report["flow"]
    lines = [(f"`{command}` — tracker `{report['backend']}` (DIS {f['preset']}, work_side {f['work_side']}, "
             f"finest_scale {f['finest_scale']}, patch_stride {f['patch_stride']}), {report['frames']} frames at "
             f"{report['image_hw'][1]}x{report['image_hw'][0]}; machine: {report.get('machine', '?')}"), "",
             f"load average at the end (1/5/15 min): {', '.join(f'{v:.1f}' for v in report['load_average'])}", "",
             ("| per frame | median ms | p90 ms | CPU ms (all threads, median) | perception / update | keeps up with "
             "30 Hz (p90 <= 33.3 ms) | last-frame IoU, targets fully in view |"),
             "|---|---|---|---|---|---|---|",
             (f"| full perception ({p['backends']['segmenter']} + {p['backends']['describer']}, n={p['n']}) | "
             f"{p['median_ms']:.0f} | {p['p90_ms']:.0f} | {p['cpu']['median_ms']:.0f} | | | |")]
    for n, r in report["runs"].items():
        u, u3 = r["update"], r["update_3d"]
        lines.append(f"| tracker update, {n} target{'s' if n != '1' else ''} (mean live {r['live_targets_mean']:.1f}) "
                     f"| {u['median_ms']:.1f} | {u['p90_ms']:.1f} | {r['update_cpu']['median_ms']:.1f} | "
                     f"{r['perception_over_update']:.0f}x | "
                     f"{'yes' if r['keeps_up_30hz'] else 'no'} | "
                     f"{', '.join(f'{k} {v:.2f}' for k, v in r['last_frame_iou_in_view'].items()) or '-'} |")
        lines.append(f"| + 3-D centroid and grasp pose per target ({r['posed']} of {r['live_total']} live targets "
                     f"posed) | {u3['median_ms']:.1f} | {u3['p90_ms']:.1f} | {r['update_3d_cpu']['median_ms']:.1f} | | "
                     f"{'yes' if r['keeps_up_30hz_3d'] else 'no'} | |")
    return "\n".join(lines) + "\n"
