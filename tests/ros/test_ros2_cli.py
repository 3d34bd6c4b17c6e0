"""README's ROS 2 commands, run verbatim as real processes: `ros2 launch` with the CPU config while the demo bag
plays, then `ros2 service call`, `ros2 action send_goal --feedback`, `ros2 topic pub/echo`, `ros2 param`,
`ros2 lifecycle`, `ros2 node info`, two namespaced nodes with camera presets, and respawn after SIGKILL.

The commands come from the block of README.md marked `ros2-commands` (the only change: the bag goes to a temporary
folder instead of /tmp/arc_bag); a README command that no check here knows fails the test, so README and test
cannot drift apart. Loopback DDS profile, ROS_HOME in the test's folder, the ros2 daemon stopped at the end, every
process started here ended here. One launched node serves the single-node commands.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ros_env import REPO, require_ros, ros_env

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.prefix) / "bin"
MARKER = "<!-- ros2-commands:"
HUNG = -1  # returncode of a command that run_until stopped after attempt_s


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text[text.index(MARKER):]
    block = block[block.index("```bash\n") + 8:]
    block = block[:block.index("```")]
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _strip(line: str) -> tuple[str, bool]:
    """(command without its trailing comment and '&', whether it runs in the background)."""
    line = re.sub(r"\s+#\s.*$", "", line).rstrip()
    return (line[:-1].rstrip(), True) if line.endswith("&") else (line, False)


KINDS = [  # (start of the command, kind); every README command must match one
    (".venv/bin/gear-seg bag make", "setup"), (".venv/bin/gear-seg bag play", "player"),
    ("ros2 launch gear_seg_ros agent.launch.py config:=", "launch"), ("ros2 topic echo --once /gear_seg_agent/", "watch"),
    ("ros2 service call /gear_seg_agent/segment", "service"), ("ros2 action send_goal --feedback", "action"),
    ("ros2 topic pub --once /instruction", "instruction"), ("ros2 lifecycle get", "lifecycle_get"),
    ("ros2 param describe", "param_describe"), ("ros2 param set", "param_set"),
    ("ros2 lifecycle set", "lifecycle_set"), ("ros2 node info", "node_info"),
    ("ros2 topic echo --once /diagnostics", "diagnostics"),
]


def kind_of(command: str) -> str:
    for start, kind in KINDS:
        if command.startswith(start):
            return kind
    raise AssertionError(f"README shows a ROS command that tests/ros/test_ros2_cli.py does not run: {command!r}")


def test_every_readme_command_is_known_here():
    commands = [_strip(c)[0] for c in readme_commands()]
    kinds = [kind_of(c) for c in commands]
    assert kinds.count("launch") == 3 and "service" in kinds and "action" in kinds


class Shell:
    """Runs README lines with bash in the repo root, .venv/bin first on PATH; background ones are kept to end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = ros_env(tmp)
        self.env["PATH"] = f"{VENV_BIN}{os.pathsep}{self.env.get('PATH', '')}"
        self.background: list[tuple[subprocess.Popen, Path]] = []

    def line(self, command: str) -> str:
        return command.replace("/tmp/arc_bag", str(self.tmp / "arc_bag"))

    def run(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", self.line(command)], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def run_until(self, command: str, done, timeout: float = 90, attempt_s: float = 40) -> subprocess.CompletedProcess:
        """Re-runs while the graph has not caught up, up to `timeout`: discovery says 'Node not found', or the verb
        hangs (returncode HUNG). The `ros2` verbs wait for a service response with no timeout of their own, and
        Fast DDS drops a response when the node has not yet matched the reader of the CLI's brand-new participant
        (rmw_fastrtps waits 100 ms for it; rclpy then warns "failed to send response (timeout)", cf.
        ros2/rmw_fastrtps#706): seen in CI runs on a loaded machine, for answers the node gives at once (lifecycle,
        parameters; a goal's acceptance is as quick)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                proc = self.run(command, timeout=attempt_s)
            except subprocess.TimeoutExpired as exc:
                out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
                proc = subprocess.CompletedProcess(exc.cmd, HUNG, out, f"timed out after {attempt_s} s")
            if done(proc) or time.monotonic() > deadline:
                return proc
            time.sleep(1.0)

    def lifecycle_set(self, command: str, state: str, launch_log: Path) -> subprocess.CompletedProcess:
        """`ros2 lifecycle set`, which must not simply be re-run: deactivate waits for the request in progress (up to
        5 s + request_timeout_s = 65 s on a loaded CPU), and a second deactivate of an inactive node is refused. After
        a hang the node's own state decides: reached (the response was lost, see run_until) or not (set again)."""
        node = command.split()[3]
        for _attempt in range(2):
            proc = self.run_until(command, lambda p: "Node not found" not in p.stdout + p.stderr, timeout=150,
                                  attempt_s=110)
            if proc.returncode != HUNG:
                assert "Transitioning successful" in proc.stdout, proc.stdout + proc.stderr
                return proc
            get = self.run_until(f"ros2 lifecycle get {node}", lambda p: re.search(r"\[\d\]", p.stdout))
            if state in get.stdout:
                return proc
        raise AssertionError(f"{command!r} hung twice and the node is not {state}: {get.stdout}{get.stderr}\n"
                             f"node log:\n{launch_log.read_text(errors='replace')[-3000:]}")

    def start(self, command: str, name: str) -> tuple[subprocess.Popen, Path]:
        log = self.tmp / f"{name}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(["bash", "-c", "exec " + self.line(command)], cwd=REPO, env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.background.append((proc, log))
        return proc, log

    def wait_for(self, log: Path, pattern: str, proc: subprocess.Popen, timeout: float = 180, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if len(re.findall(pattern, text)) >= count:
                return text
            assert proc.poll() is None or pattern in text, f"exited early:\n{text[-3000:]}"
            time.sleep(0.3)
        raise AssertionError(f"no {pattern!r} within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")

    def close(self) -> None:
        for proc, _ in reversed(self.background):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # ros2 launch passes it on to its nodes, as Ctrl-C does
        for proc, _ in reversed(self.background):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        subprocess.run([str(VENV_BIN / "ros2"), "daemon", "stop"], env=self.env, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    require_ros()
    if not (VENV_BIN / "ros2").exists():
        pytest.skip("the ros2 CLI is not installed in this venv: make setup installs it from "
                    "../shared/vendor/ros2-jazzy (scripts/setup_ros_tools.sh)")
    sh = Shell(tmp_path_factory.mktemp("ros2_cli"))
    # One daemon, started before the commands: README's three background `ros2 topic echo` would otherwise each
    # try to spawn it at the same moment.
    subprocess.run([str(VENV_BIN / "ros2"), "daemon", "start"], env=sh.env, capture_output=True, timeout=60)
    yield sh
    sh.close()


def test_readme_commands_against_one_launched_node(shell):
    commands = [_strip(c) for c in readme_commands()]
    launches = [c for c, _bg in commands if kind_of(c) == "launch"]
    single = commands[:commands.index((launches[1], True))]
    watches = []
    t_first_call = None
    for command, background in single:
        kind = kind_of(command)
        if kind == "setup":
            proc = shell.run(command)
            assert proc.returncode == 0 and "wrote 30 frames" in proc.stdout, proc.stderr
        elif kind == "player":
            shell.start(command, "player")
        elif kind == "launch":
            launch, launch_log = shell.start(command, "launch")
            text = shell.wait_for(launch_log, r"\]: active: ", launch)
            # resolved names in the start-up log; auto QoS matched the bag player's reliable publishers
            assert "services /gear_seg_agent/segment, /gear_seg_agent/enable" in text
            # image_qos auto: the player was discovered while the node started (seconds), so reliable like its
            # publishers
            assert "/camera/depth reliable/volatile (auto: matches 1 publisher(s))" in text, text[-2000:]
        elif kind == "watch":
            watches.append((command, *shell.start(command, f"watch{len(watches)}")))
        elif kind == "service":
            t_first_call = time.monotonic()
            proc = shell.run_until(command, lambda p: p.returncode != HUNG, timeout=240, attempt_s=110)
            out = proc.stdout
            assert proc.returncode == 0 and "success=True" in out, out[-3000:] + proc.stderr
            # the first call after launch: 3-D on the targets with depth, no "not filled" note
            assert "centroid_3d not filled" not in out, out[-3000:]
            assert out.count("centroid_3d_valid=True") >= 1 and out.count("pose_valid=True") >= 1, out[-3000:]
        elif kind == "action":
            proc = shell.run_until(command, lambda p: p.returncode != HUNG, timeout=240, attempt_s=110)
            out = proc.stdout
            assert proc.returncode == 0 and "Goal finished with status: SUCCEEDED" in out, out[-3000:] + proc.stderr
            assert "stage: reasoning" in out, out[-3000:]
            if "from_cache=False" in out:  # a frame perceived for this goal: all stages appear
                assert "stage: segmenting" in out and "stage: describing" in out, out[-3000:]
        elif kind == "instruction":
            proc = shell.run(command)
            assert proc.returncode == 0 and "publishing #1" in proc.stdout, proc.stdout + proc.stderr
        elif kind == "lifecycle_get":
            proc = shell.run_until(command, lambda p: "active [3]" in p.stdout)
            assert "active [3]" in proc.stdout, proc.stdout + proc.stderr
        elif kind == "param_describe":
            proc = shell.run_until(command, lambda p: "Min value" in p.stdout)
            assert "Type: double" in proc.stdout and "Min value: 0.0" in proc.stdout, proc.stdout + proc.stderr
            assert "Max value: 1.0" in proc.stdout and "IoU" in proc.stdout, proc.stdout
        elif kind == "param_set":
            # a set is idempotent: re-run after a hang as well as while discovery says "Node not found"
            proc = shell.run_until(command, lambda p: p.returncode != HUNG and "Node not found" not in p.stdout + p.stderr)
            if command.endswith(" 1.5"):
                assert "Setting parameter failed" in proc.stderr, proc.stdout + proc.stderr
                assert "out of range" in proc.stderr.lower() or "not within" in proc.stderr.lower(), proc.stderr
            else:
                assert "Set parameter successful" in proc.stdout, proc.stdout + proc.stderr
        elif kind == "lifecycle_set":
            state = "inactive [2]" if command.endswith("deactivate") else "active [3]"
            shell.lifecycle_set(command, state, launch_log)
            get = shell.run_until("ros2 lifecycle get /gear_seg_agent", lambda p, s=state: s in p.stdout)
            assert state in get.stdout, get.stdout
            if command.endswith("deactivate"):  # the node says what deactivate did, in the launch output
                shell.wait_for(launch_log, r"\]: deactivated: inputs, services and action removed", launch, timeout=10)
        elif kind == "node_info":
            # Right after `activate` the node re-creates its subscriptions and services (deactivate removed them),
            # and the daemon's graph can still show the deactivated node (seen in CI: no subscribers, no publishers
            # but transition_event): ask again until the graph has caught up, within run_until's bound.
            topics = ("/camera/image: sensor_msgs/msg/Image", "/camera/depth: sensor_msgs/msg/Image",
                      "/gear_seg_agent/detections_3d: vision_msgs/msg/Detection3DArray",
                      "/gear_seg_agent/segment: gear_seg_msgs/srv/Segment")
            proc = shell.run_until(command, lambda p, ts=topics: all(t in p.stdout for t in ts))
            out = proc.stdout
            for topic in topics:
                assert topic in out, out
        elif kind == "diagnostics":
            proc = shell.run_until(command, lambda p: "depth pairing" in p.stdout)
            out = proc.stdout
            assert "depth pairing" in out and "answers_ok" in out, out[-3000:]
            paired = re.search(r"(\d+) of (\d+) colour frames paired with depth", out)
            assert paired and int(paired.group(2)) - int(paired.group(1)) <= 2, out[-3000:]  # the newest may be on its way
    assert t_first_call is not None and watches
    for command, proc, log in watches:  # each echo got the first answer's message and exited
        proc.wait(60)
        out = log.read_text()
        assert proc.returncode == 0, out[-2000:]
        if "detections_2d" in command:
            assert "class_id: gear_seg_target" in out and "size_x:" in out, out[-2000:]
        elif "detections_3d" in command:
            assert "detections:" in out and "size:" in out and re.search(r"z: 0\.[1-9]", out), out[-2000:]
        else:
            assert "centroid_3d_valid: true" in out, out[-2000:]


def test_two_namespaced_nodes_with_camera_presets_and_respawn(shell):
    commands = [_strip(c) for c in readme_commands()]
    second_launch = [i for i, (c, _bg) in enumerate(commands) if kind_of(c) == "launch"][1]
    tail = commands[second_launch:]
    launches = [c for c, _bg in tail if kind_of(c) == "launch"]
    logs = []
    for i, command in enumerate(launches):
        logs.append(shell.start(command, f"ns_launch{i}"))
    for proc, log in logs:
        shell.wait_for(log, r"\]: active: ", proc)
    expect = {"/left_arm/gear_seg_agent": "/zed/zed_node/rgb/image_rect_color: sensor_msgs/msg/Image",
              "/right_arm/gear_seg_agent": "/camera/camera/color/image_raw: sensor_msgs/msg/Image"}
    proc, log = logs[0]
    text = log.read_text()
    assert "services /left_arm/gear_seg_agent/segment" in text, text[-2000:]
    pid = int(re.search(r"gear_seg_agent-1\]: process started with pid \[(\d+)\]", text).group(1))
    os.kill(pid, signal.SIGKILL)  # a native crash in a model backend, as far as launch can tell
    shell.wait_for(log, r"process started with pid", proc, count=2)
    shell.wait_for(log, r"\]: active: ", proc, count=2)
    for command, _bg in tail:
        kind = kind_of(command)
        if kind == "node_info":
            name = command.split()[-1]
            out = shell.run_until(command, lambda p, n=name: expect[n] in p.stdout).stdout
            assert expect[name] in out, out
        elif kind == "lifecycle_get":
            out = shell.run_until(command, lambda p: "active [3]" in p.stdout).stdout
            assert "active [3]" in out, out
        else:
            assert kind == "launch", command
