"""Check rows and the context every check family gets; run.py runs the families (so they import only this)."""
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


def failures(rows: list[Check]) -> list[Check]:
    return [r for r in rows if r.status == FAIL]


def report(rows: list[Check], config: str) -> dict:
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    return {"config": config, "can_start": counts[FAIL] == 0, "counts": counts,
            "checks": [r.as_dict() for r in rows]}
