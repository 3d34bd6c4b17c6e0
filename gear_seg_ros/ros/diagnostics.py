"""`/diagnostics` (diagnostic_msgs/DiagnosticArray) of the agent node, once a second.

`sections()` reads the node's state into plain (name, level, message, values) tuples; `diagnostic_array()` turns
them into the message. The tracker section comes from a dict any tracker fills (`node.tracker_status`: optional
"level" ("ok" | "warn" | "error" | "stale") and "message", every other key is shown as a value).
"""
from __future__ import annotations

from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

LEVELS = {"ok": DiagnosticStatus.OK, "warn": DiagnosticStatus.WARN, "error": DiagnosticStatus.ERROR,
          "stale": DiagnosticStatus.STALE}
Section = tuple[str, str, str, dict[str, Any]]


def sections(state: str, load: dict[str, Any], pipeline: Any, agent: Any, tracker: dict[str, Any],
             params: Any, inputs: dict[str, Any] | None = None) -> list[Section]:
    """state: lifecycle state label; load: {"state": "not loaded" | "loaded" | "failed", "message", "load_s"};
    inputs: {"lost": {input: messages lost in transport}, "qos": {topic: incompatible-QoS problem and its fix}}."""
    inputs = inputs or {}
    out: list[Section] = []
    level = {"loaded": "ok", "failed": "error"}.get(load.get("state", ""), "warn")
    out.append(("models", level, f"{load.get('state', 'not loaded')}: {load.get('message', '')}".rstrip(": "),
                {"lifecycle_state": state, **{k: v for k, v in load.items() if k not in ("state", "message")}}))
    if pipeline is None:
        out.append(("pipeline", "stale", f"not active (lifecycle state {state})", {}))
    else:
        frames, answers = pipeline.frames, pipeline.answers
        values = {"frames_received": frames.received, "frames_perceived": pipeline.perceived,
                  "answers_ok": answers["ok"], "answers_failed": answers["failed"], "policy": params.policy,
                  "enabled": pipeline.enabled}
        if params.policy == "continuous":  # on_request perceives only the frames asked about: nothing is dropped
            values["frames_dropped_while_busy"] = frames.skipped
        values.update({f"messages_lost_{k}": v for k, v in sorted(inputs.get("lost", {}).items())})
        values.update({f"last_{k}": f"{v:.3f}" for k, v in pipeline.timings.items()})
        level, message = "ok", (f"{frames.received} frames received, {pipeline.perceived} perceived, "
                                f"{answers['ok']} answers ({answers['failed']} failed)")
        if not frames.received:
            level, message = "warn", f"no image received yet on {pipeline.topics['image']}"
        out.append(("pipeline", level, message, values))
        pairer = pipeline.pairer
        if pairer is not None:
            values = {"frames_with_depth": pairer.paired, "frames_received": pairer.received["image"],
                      "depth_received": pairer.received["depth"],
                      "camera_info_received": pairer.received["camera_info"],
                      "answers_with_3d": answers["with_3d"], "answers_without_3d": answers["without_3d"],
                      "sync_tolerance_s": params.sync_tolerance_s, "depth_wait_s": f"{pairer.wait_s:.2f}"}
            seen = pairer.received["image"]
            level = "warn" if (seen and not pairer.paired) or (seen >= 10 and pairer.paired < 0.9 * seen) else "ok"
            message = (f"{pairer.paired} of {seen} colour frames paired with depth; {answers['with_3d']} answers "
                       f"with 3-D, {answers['without_3d']} without")
            out.append(("depth pairing", level, message, values))
    for topic, problem in sorted(inputs.get("qos", {}).items()):  # {"message", "offered", "requested", "fix"}
        out.append((f"qos {topic}", "error", problem["message"],
                    {"topic": topic, **{k: v for k, v in problem.items() if k != "message"}}))
    if agent is not None:
        cache = agent.cache_stats()
        out.append(("cache", "ok", f"{cache['entries']} of {cache['max_entries']} frames cached", cache))
    tracker = dict(tracker)
    level, message = tracker.pop("level", "ok"), tracker.pop("message", "no tracker running" if not tracker else "")
    out.append(("tracker", level, message, tracker))
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
