"""A native crash of the reasoner costs one request, not the node (reasoner.isolation: process, real SmolLM2).

The test freezes the reasoner's child process (SIGSTOP), sends a goal, waits until the node reports the
'reasoning' stage (the request is then in the child's pipe), then delivers SIGSEGV: the goal ends with
success=false naming the signal, and the next request is answered by a restarted child.
"""
import importlib.util
import os
import signal
import time
from pathlib import Path

import pytest
from node_client import running_node

pytestmark = [pytest.mark.ros, pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                                 reason="llama-cpp-python is installed by scripts/setup.sh")]
PARAMS = {"policy": "on_request", "image_qos": "reliable", "reasoner.backend": "llama_cpp",
          "reasoner.retries": 0, "reasoner.llama_cpp.n_ctx": 2048, "reasoner.llama_cpp.max_tokens": 128,
          "nms.max_masks": 8, "segmenter.classical.work_side": 256, "request_timeout_s": 600.0}


def reasoner_children(parent_pid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent_pid and "gear_seg_ros.reason.isolated" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_node_survives_a_reasoner_segfault_mid_request(tmp_path, arc2017):
    with running_node(tmp_path, PARAMS) as (node, client):
        client.publish_frame(arc2017["rgb"], 100.0)
        first = client.call("the green box", "referring", wait=300)
        assert first.success, first.message  # perceived and answered once: the child is loaded
        children = reasoner_children(node.proc.pid)
        assert len(children) == 1, children
        child = children[0]
        stages: list[str] = []
        os.kill(child, signal.SIGSTOP)
        try:
            goal = client.action.send_goal_async(client.SegmentAction.Goal(instruction="the green box",
                                                                           mode="referring"),
                                                 feedback_callback=lambda fb: stages.append(fb.feedback.stage))
            client.wait_until(goal.done, 30, "goal acceptance")
            client.wait_until(lambda: "reasoning" in stages, 120, "the reasoning stage")
            time.sleep(0.5)  # the node has written the request to the child's pipe
        finally:
            os.kill(child, signal.SIGSEGV)
            os.kill(child, signal.SIGCONT)
        get = goal.result().get_result_async()
        client.wait_until(get.done, 120, "the crashed goal's result")
        crashed = get.result().result
        assert not crashed.success and "killed by SIGSEGV" in crashed.message, crashed.message
        assert node.proc.poll() is None, node.log()[-3000:]
        after = client.call("the green box", "referring", wait=300)
        assert after.success, after.message
        new_children = reasoner_children(node.proc.pid)
        assert len(new_children) == 1 and new_children != [child]
