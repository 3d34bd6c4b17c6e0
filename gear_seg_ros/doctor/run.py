"""The runner shared by `gear-seg doctor` and the node's configure (same checks, same messages)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gear_seg_ros.config import AgentConfig
from gear_seg_ros.doctor.core import Check, Context


def run_checks(cfg: AgentConfig, *, ros: bool = True, progress: Callable[[str], None] | None = None,
               manifest: Path | None = None) -> list[Check]:
    """Every check for this config, in a fixed order. `ros=False` inside the node (it is running ROS already)."""
    from gear_seg_ros.doctor import backends, exports, gpu, llama, model_files, ros_check

    ctx = Context(cfg, progress or (lambda _msg: None), Path(manifest) if manifest else model_files.MANIFEST)
    families = [backends.checks, gpu.checks, model_files.checks, exports.checks, llama.checks]
    if ros:
        families.append(ros_check.checks)
    rows: list[Check] = []
    for family in families:
        rows += family(ctx)
    return rows

