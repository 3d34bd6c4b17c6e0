"""`/diagnostics` (diagnostic_msgs/DiagnosticArray) of the agent node, once a second.

`sections()` turns the typed snapshots the node collects (Pipeline.stats(), the agent's cache_stats(),
Tracking.status(), the input watch) into plain (name, level, message, values) tuples; `diagnostic_array()` turns
them into the message.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

if TYPE_CHECKING:
    from gear_seg_ros.ros.pipeline import PipelineStats
    from gear_seg_ros.ros.tracking import TrackingStatus

LEVELS = {"ok": DiagnosticStatus.OK, "warn": DiagnosticStatus.WARN, "error": DiagnosticStatus.ERROR,
          "stale": DiagnosticStatus.STALE}
Section = tuple[str, str, str, dict[str, Any]]


def sections(state: str, load: dict[str, Any], pipeline: PipelineStats | None, cache: dict[str, int] | None,
             tracker: TrackingStatus | None, inputs: dict[str, Any] | None = None) -> list[Section]:
    """state: lifecycle state label; load: {"state": "not loaded" | "loaded" | "failed", "message", "load_s"};
    pipeline: None when not active; cache: the agent's cache_stats(), None without an agent; tracker: None when no
    tracker ran; inputs: {"lost": {input: messages lost in transport}, "qos": {topic: incompatible-QoS problem and
    its fix}}."""
    inputs = inputs or {}
    out: list[Section] = []
    level = {"loaded": "ok", "failed": "error"}.get(load.get("state", ""), "warn")
    out.append(("models", level, f"{load.get('state', 'not loaded')}: {load.get('message', '')}".rstrip(": "),
                {"lifecycle_state": state, **{k: v for k, v in load.items() if k not in ("state", "message")}}))
    if pipeline is None:
        out.append(("pipeline", "stale", f"not active (lifecycle state {state})", {}))
    else:
        p = pipeline
        values = {"frames_received": p.frames_received, "frames_perceived": p.frames_perceived,
                  "answers_ok": p.answers_ok, "answers_failed": p.answers_failed, "policy": p.policy,
                  "enabled": p.enabled}
        if p.policy == "continuous":  # on_request perceives only the frames asked about: nothing is dropped
            values["frames_dropped_while_busy"] = p.frames_skipped
        values.update({f"messages_lost_{k}": v for k, v in sorted(inputs.get("lost", {}).items())})
        values.update({f"last_{k}": f"{v:.3f}" for k, v in p.last_timings.items()})
        level, message = "ok", (f"{p.frames_received} frames received, {p.frames_perceived} perceived, "
                                f"{p.answers_ok} answers ({p.answers_failed} failed)")
        if not p.frames_received:
            level, message = "warn", f"no image received yet on {p.image_topic}"
        out.append(("pipeline", level, message, values))
        pairing = p.pairing
        if pairing is not None:
            values = {"frames_with_depth": pairing.paired, "frames_received": pairing.images,
                      "depth_received": pairing.depth, "camera_info_received": pairing.camera_info,
                      "answers_with_3d": p.answers_with_3d, "answers_without_3d": p.answers_without_3d,
                      "sync_tolerance_s": pairing.tolerance_s, "depth_wait_s": f"{pairing.wait_s:.2f}"}
            seen, paired = pairing.images, pairing.paired
            level = "warn" if (seen and not paired) or (seen >= 10 and paired < 0.9 * seen) else "ok"
            message = (f"{paired} of {seen} colour frames paired with depth; {p.answers_with_3d} answers "
                       f"with 3-D, {p.answers_without_3d} without")
            out.append(("depth pairing", level, message, values))
    for topic, problem in sorted(inputs.get("qos", {}).items()):  # {"message", "offered", "requested", "fix"}
        out.append((f"qos {topic}", "error", problem["message"],
                    {"topic": topic, **{k: v for k, v in problem.items() if k != "message"}}))
    if cache is not None:
        out.append(("cache", "ok", f"{cache['entries']} of {cache['max_entries']} frames cached", cache))
    if tracker is None:
        out.append(("tracker", "ok", "no tracker running", {}))
    else:
        t = tracker
        out.append(("tracker", "ok", t.message,
                    {"backend": t.backend, "frames_received": t.frames_received, "frames_dropped": t.frames_dropped,
                     "updates": t.updates, "live_targets": t.live_targets, "last_update_s": f"{t.last_update_s:.3f}"}))
    return out


def diagnostic_array(stamp: Any, node_name: str, items: list[Section]) -> DiagnosticArray:
    msg = DiagnosticArray()
    msg.header.stamp = stamp
    for name, level, message, values in items:
        status = DiagnosticStatus(level=LEVELS.get(level, DiagnosticStatus.WARN), name=f"{node_name}: {name}",
                                  message=message, hardware_id=node_name)
        status.values = [KeyValue(key=str(k), value=str(v)) for k, v in values.items()]
        msg.status.append(status)
    return msg
