"""What the ROS shell adds on top of the agent for one 1280x720 frame.

  python scripts/bench_overhead.py [--runs 50] [--targets 3]

Measures (median / p90 over --runs): Image msg -> numpy (rgb8, bgr8), SegmentationResult building (union + one
mono8 mask per target), publish() calls, and publish -> callback latency to a subscriber in this process and in
a second process, over the loopback Fast DDS profile (config/fastdds_loopback.xml) unless one is already set.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

H, W = 720, 1280
PROFILE = Path(__file__).resolve().parents[1] / "config" / "fastdds_loopback.xml"


def _env() -> None:
    if PROFILE.is_file():
        os.environ.setdefault("FASTRTPS_DEFAULT_PROFILES_FILE", str(PROFILE))
        os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(PROFILE))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 80))
    os.environ.setdefault("ROS_HOME", os.path.join(tempfile.gettempdir(), "gear_seg_bench_ros"))


def _stats(samples: list[float]) -> tuple[float, float]:
    a = np.asarray(samples) * 1000.0
    return float(np.median(a)), float(np.percentile(a, 90))


def _timeit(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _fake_result(targets: int):
    from gear_seg_ros.types import QueryResult, Target, mask_box

    rng = np.random.default_rng(0)
    masks = []
    for _ in range(targets):
        m = np.zeros((H, W), bool)
        y, x = rng.integers(0, H - 200), rng.integers(0, W - 200)
        m[y:y + 180, x:x + 160] = True
        masks.append(m)
    return QueryResult(frame_id="cam@1.0", instruction="the ripe strawberry", mode="reasoning",
                       ids=list(range(targets)), union_mask=np.logical_or.reduce(masks),
                       targets=[Target(i, [i], m, mask_box(m), 0.9, "a red strawberry") for i, m in enumerate(masks)],
                       explanation="bench",
                       confidence=0.9, descriptions={i: "a red strawberry" for i in range(targets)},
                       timings={}, from_cache=False)


def _listen(runs: int) -> None:
    """Child process: receive `runs` results, print publish -> callback latencies as JSON."""
    import rclpy
    from gear_seg_msgs.msg import SegmentationResult
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    rclpy.init()
    node = rclpy.create_node("gear_seg_bench_listener")
    lat: list[float] = []

    def cb(msg):
        lat.append(time.time() - (msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9))

    node.create_subscription(SegmentationResult, "/bench/result", cb,
                             QoSProfile(depth=runs + 10, reliability=ReliabilityPolicy.RELIABLE))
    deadline = time.monotonic() + 120
    while len(lat) < runs and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    print(json.dumps(lat), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def _publish_latency(pub, make_msg, received: list, runs: int, period: float = 0.05) -> list[float]:
    for _ in range(runs):
        msg = make_msg()
        now = time.time()
        msg.header.stamp.sec, msg.header.stamp.nanosec = int(now), int((now % 1) * 1e9)
        pub.publish(msg)
        time.sleep(period)
    return received


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--targets", type=int, default=3, help="selected masks per result")
    ap.add_argument("--listen", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    _env()
    if args.listen:
        _listen(args.listen)
        return 0

    import rclpy
    from gear_seg_msgs.msg import SegmentationResult
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Header

    from gear_seg_ros.raw_image import image_to_rgb
    from gear_seg_ros.ros.conversions import numpy_to_image
    from gear_seg_ros.ros.messages import result_msg

    runs, rows = args.runs, []
    rgb = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8)
    header = Header(frame_id="camera")
    for enc in ("rgb8", "bgr8"):
        msg = numpy_to_image(rgb, enc, header)
        rows.append((f"Image {enc} -> numpy RGB", _timeit(lambda m=msg: image_to_rgb(m), runs)))
    rows.append(("numpy RGB -> Image rgb8 (debug image)", _timeit(lambda: numpy_to_image(rgb, "rgb8", header), runs)))
    r = _fake_result(args.targets)
    rows.append((f"SegmentationResult build ({args.targets} masks + union)",
                 _timeit(lambda: result_msg(header, r, None, {}), runs)))

    rclpy.init()
    node = rclpy.create_node("gear_seg_bench")
    qos = QoSProfile(depth=runs + 10, reliability=ReliabilityPolicy.RELIABLE)
    pub = node.create_publisher(SegmentationResult, "/bench/result", qos)
    result = result_msg(header, r, None, {})
    rows.append(("publish() SegmentationResult, no subscriber", _timeit(lambda: pub.publish(result), runs)))

    received: list[float] = []
    sub_node = rclpy.create_node("gear_seg_bench_sub")
    sub_node.create_subscription(SegmentationResult, "/bench/result", lambda m: received.append(
        time.time() - (m.header.stamp.sec + m.header.stamp.nanosec * 1e-9)), qos)
    executor = SingleThreadedExecutor()
    executor.add_node(sub_node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    _wait(lambda: pub.get_subscription_count() > 0, 10)
    time.sleep(0.5)
    rows.append(("publish -> callback, same process",
                 _publish_latency(pub, lambda: result_msg(header, r, None, {}), received, runs)[:runs]))
    executor.remove_node(sub_node)
    sub_node.destroy_node()
    _wait(lambda: pub.get_subscription_count() == 0, 10)

    env = dict(os.environ)
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    child = subprocess.Popen([sys.executable, __file__, "--listen", str(runs)],
                             env=env, stdout=subprocess.PIPE, text=True)
    _wait(lambda: pub.get_subscription_count() > 0, 30)
    time.sleep(1.0)
    _publish_latency(pub, lambda: result_msg(header, r, None, {}), [], runs)
    out, _ = child.communicate(timeout=60)
    rows.append(("publish -> callback, second process (loopback)", json.loads(out.strip().splitlines()[-1])))
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown()
    _print(rows, runs, args.targets)
    return 0


def _wait(pred, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.05)


def _machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.node()} ({cpu}, {os.cpu_count()} cores, Python {platform.python_version()})"


def _print(rows: list, runs: int, targets: int) -> None:
    profile = os.environ.get("FASTRTPS_DEFAULT_PROFILES_FILE", "default")
    print(f"gear_seg_agent overhead, {W}x{H} frame, {targets} target masks, {runs} runs")
    print(f"machine: {_machine()}; DDS profile: {profile}")
    print(f"{'step':<52} {'median ms':>10} {'p90 ms':>10} {'n':>5}")
    for name, samples in rows:
        med, p90 = _stats(samples) if samples else (float("nan"), float("nan"))
        print(f"{name:<52} {med:>10.2f} {p90:>10.2f} {len(samples):>5}")


if __name__ == "__main__":
    sys.exit(main())
