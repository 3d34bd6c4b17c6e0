"""Check rows and the runner shared by `gear-seg doctor` and the node's configure (same checks, same messages)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from gear_seg_ros.config import AgentConfig

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
STATUSES = (OK, WARN, FAIL, SKIP)


@dataclass
class Check:
    """One row: `fail` = the config cannot start; `warn` = it starts, but look at it; `skip` = not needed here."""

    family: str
    name: str
    status: str
    detail: str
    fix: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return f"[{self.status}] {self.name}: {self.detail}" + (f" -- fix: {self.fix}" if self.fix else "")


@dataclass
class Context:
    cfg: AgentConfig
    progress: Callable[[str], None]
    manifest: Path

    @property
    def base_dir(self) -> str:
        return self.cfg.base_dir


def run_checks(cfg: AgentConfig, *, ros: bool = True, progress: Callable[[str], None] | None = None,
               manifest: Path | None = None) -> list[Check]:
    """Every check for this config, in a fixed order. `ros=False` inside the node (it is running ROS already)."""
    from gear_seg_ros.doctor import backends, exports, gpu, llama, models, ros_check

    ctx = Context(cfg, progress or (lambda _msg: None), Path(manifest) if manifest else models.MANIFEST)
    families = [backends.checks, gpu.checks, models.checks, exports.checks, llama.checks]
    if ros:
        families.append(ros_check.checks)
    rows: list[Check] = []
    for family in families:
        rows += family(ctx)
    return rows


def failures(rows: list[Check]) -> list[Check]:
    return [r for r in rows if r.status == FAIL]


def report(rows: list[Check], config: str) -> dict:
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    return {"config": config, "can_start": counts[FAIL] == 0, "counts": counts,
            "checks": [r.as_dict() for r in rows]}
