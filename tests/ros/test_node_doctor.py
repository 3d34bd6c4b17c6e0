"""The node's configure runs the checks of `gear-seg doctor` and fails with the same messages (real node process)."""
import time

import pytest
from node_client import NodeProcess
from ros_env import REPO, require_ros

from gear_seg_ros.config import AgentConfig
from gear_seg_ros.doctor import failures, run_checks


@pytest.mark.slow
@pytest.mark.ros
def test_configure_fails_with_the_doctors_messages(tmp_path, monkeypatch):
    require_ros()
    params = {"describer.backend": "dam", "describer.dam.model_path": str(tmp_path / "no-DAM-3B")}
    monkeypatch.chdir(REPO)  # the node runs in the repo root: relative paths resolve alike
    expected = failures(run_checks(AgentConfig.from_dict({"describer": {"backend": "dam", "dam": {
        "model_path": params["describer.dam.model_path"]}}}), ros=False))
    assert any(r.name == "describer.dam.model_path" for r in expected)  # the weights are missing here
    node = NodeProcess(tmp_path, params)
    try:
        deadline = time.monotonic() + 120
        while "configure failed" not in node.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = node.log()
        assert f"configure failed: {len(expected)} doctor check(s) failed" in log, log
        for row in expected:
            assert f"doctor: {row.line()}" in log
        assert node.proc.poll() is None  # stays up, unconfigured, for a lifecycle manager to retry
    finally:
        node.stop()
