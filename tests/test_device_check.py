"""scripts/device_check.sh (the first check on a lent GPU) run end to end on the CPU with tiny sizes: the official
SAM 2 generator against ours on random SAM 2.1-tiny weights, masks matched, and the report files written. On the
GPU it runs SAM 2.1-L, 32x32 points, a 1024 image; it has not run on a GPU yet."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_device_check_smoke_on_cpu(tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, OUT=str(tmp_path / "report"))
    has_tiny_dam = importlib.util.find_spec("gear_seg_ros.bench.tiny_dam") is not None
    if has_tiny_dam:
        from gear_seg_ros.bench.tiny_dam import install_dam, vendored_dam_source

        source = vendored_dam_source(ROOT)
        if source is not None:
            env["PYTHONPATH"] = str(install_dam(source, tmp_path / "dam"))
    done = subprocess.run(["bash", str(ROOT / "scripts" / "device_check.sh"), "--device", "cpu", "--smoke"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "report" / "gpu-report.json").read_text())
    g = report["generators"]
    assert "failed" not in g, g
    assert g["official"]["masks"] > 0 and g["ours"]["masks"] > 0
    assert g["official_masks_matched_iou_min"] > 0.9
    assert g["ours"]["postprocess"] == "torch"
    if "PYTHONPATH" in env:
        assert set(report["dam"]["runs"]) == {"one by one", "batched"}, report["dam"]
    else:
        assert "skipped" in report["dam"], report["dam"]
    md = (tmp_path / "report" / "gpu-report.md").read_text()
    assert "Official masks matched by ours" in md
    # the robot rehearsal's end-to-end call is the GPU's: the CPU smoke says it skipped it, and why
    assert "rehearsal skipped (--device cpu" in (tmp_path / "report" / "rehearsal-skipped.txt").read_text()
