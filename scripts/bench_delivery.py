"""How many of a bag's messages a subscriber gets over DDS, per topic, for a reliability setting.

  python scripts/bench_delivery.py BAG [--qos best_effort|reliable] [--seconds 10]

Plays BAG in a loop (gear_seg_ros.bag.play, the bag's recorded QoS: reliable) to a plain rclpy subscriber in
another participant of this process and prints published vs received per topic. Use the same Fast DDS profile as the
node (FASTRTPS_DEFAULT_PROFILES_FILE=config/fastdds_loopback.xml: loopback only). This is how the demo bag's lost
depth was traced to best-effort delivery of fragmented large messages (docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def subscribe(bag: str, qos_name: str, depth: int, seconds: float) -> dict[str, int]:
    """Counts what arrives per topic of `bag` for `seconds` (run in its own process: see main)."""
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rosbags.rosbag2 import Reader

    from gear_seg_ros.bag.play import msg_class

    with Reader(bag) as reader:
        topics = {c.topic: c.msgtype for c in reader.connections}
    rclpy.init()
    node = rclpy.create_node("delivery_bench")
    qos = QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE if qos_name == "reliable" else ReliabilityPolicy.BEST_EFFORT)
    received = dict.fromkeys(topics, 0)
    for topic, msgtype in topics.items():
        node.create_subscription(msg_class(msgtype), topic,
                                 lambda _m, t=topic: received.__setitem__(t, received[t] + 1), qos)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    node.destroy_node()
    rclpy.try_shutdown()
    return received


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bag")
    ap.add_argument("--qos", choices=("best_effort", "reliable"), default="best_effort")
    ap.add_argument("--depth", type=int, default=5, help="subscriber history depth (the node's image_qos_depth)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--subscriber", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = ap.parse_args(argv)
    if args.subscriber:
        print(json.dumps(subscribe(args.bag, args.qos, args.depth, args.seconds + 15.0)), flush=True)
        return 0

    from gear_seg_ros.bag.play import play_bag

    # The subscriber in its own process: participants of one process would talk intra-process, not over the transport.
    child = subprocess.Popen([sys.executable, __file__, args.bag, "--qos", args.qos,
                              "--depth", str(args.depth), "--seconds", str(args.seconds), "--subscriber"],
                             stdout=subprocess.PIPE, text=True)
    t0 = [0.0]

    def stop() -> bool:
        t0[0] = t0[0] or time.monotonic()
        return time.monotonic() - t0[0] > args.seconds

    published = play_bag(args.bag, loop=True, wait_for_subscribers_s=15.0, should_stop=stop)
    received = json.loads(child.communicate(timeout=120)[0].strip().splitlines()[-1])
    print(f"subscriber {args.qos} depth {args.depth} in another process, {args.seconds:g} s of {args.bag} in a loop:")
    for topic, n in received.items():
        print(f"  {topic}: published {published.get(topic, 0)}, received {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
