"""Replay a rosbag2 through rclpy at its recorded timing (a stand-in for `ros2 bag play`, which pip cannot install).

The stored CDR bytes are published as they are (`publisher.publish(raw_bytes)`): no deserialisation.
"""
from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path

from gear_seg_ros.errors import BackendUnavailableError, ConfigError


def play_bag(bag_dir: str | Path, rate: float = 1.0, topic_remap: dict[str, str] | None = None, qos=None,
             loop: bool = False, node_name: str = "gear_seg_bag_player", wait_for_subscribers_s: float = 0.0,
             should_stop: Callable[[], bool] | None = None) -> dict[str, int]:
    """Publishes every message of `bag_dir` at `rate` x the recorded speed; returns {published topic: count}.

    qos: an rclpy QoSProfile for every topic, or None for each topic's recorded (offered) QoS.
    wait_for_subscribers_s: before starting, wait up to this long until every topic has a subscriber.
    loop: replay until interrupted (Ctrl-C) or until `should_stop()` returns True.
    """
    from rosbags.rosbag2 import Reader, ReaderError

    try:
        import rclpy
    except ImportError as exc:
        raise BackendUnavailableError(f"rclpy is not importable ({exc}); run scripts/setup_ros.sh .venv") from None
    if rate <= 0:
        raise ConfigError(f"rate must be > 0, got {rate}")
    remap = topic_remap or {}
    try:
        reader = Reader(Path(bag_dir))
        reader.open()
    except (ReaderError, OSError) as exc:
        raise ConfigError(f"cannot open bag {bag_dir}: {exc}") from None

    context = rclpy.Context()
    rclpy.init(context=context)
    counts: dict[str, int] = {}
    node = None
    try:
        node = rclpy.create_node(node_name, context=context)
        publishers = {}
        for conn in reader.connections:
            name = remap.get(conn.topic, conn.topic)
            publishers[conn.id] = (name, node.create_publisher(msg_class(conn.msgtype), name,
                                                               qos or _recorded_qos(conn)))
            counts.setdefault(name, 0)
        deadline = time.monotonic() + wait_for_subscribers_s
        while time.monotonic() < deadline and any(p.get_subscription_count() == 0 for _, p in publishers.values()):
            time.sleep(0.05)
        while True:
            wall0, bag0 = time.monotonic(), reader.start_time
            for conn, stamp, raw in reader.messages():
                if should_stop is not None and should_stop():
                    return counts
                delay = wall0 + (stamp - bag0) / 1e9 / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                name, publisher = publishers[conn.id]
                publisher.publish(bytes(raw))
                counts[name] += 1
            if not loop or (should_stop is not None and should_stop()):
                return counts
    finally:
        reader.close()
        if node is not None:
            _wait_for_delivery(node)
            node.destroy_node()
        context.try_shutdown()


def _wait_for_delivery(node, timeout_s: float = 5.0) -> None:
    """Reliable samples still in flight are lost if the process exits first (the last frames of a bag)."""
    from rclpy.duration import Duration

    for publisher in node.publishers:
        publisher.wait_for_all_acked(Duration(seconds=timeout_s))


def msg_class(msgtype: str):
    """'sensor_msgs/msg/Image' -> the rclpy message class."""
    package, kind, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError):
        raise ConfigError(f"message type {msgtype} is not installed; install its Python package "
                          f"(e.g. pip install ros-jazzy-{package.replace('_', '-')})") from None


def _recorded_qos(conn):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    offered = getattr(conn.ext, "offered_qos_profiles", None)
    if not offered:
        return QoSProfile(depth=10)
    first = offered[0]
    reliability = (ReliabilityPolicy.BEST_EFFORT if first.reliability.name == "BEST_EFFORT"
                   else ReliabilityPolicy.RELIABLE)
    durability = (DurabilityPolicy.TRANSIENT_LOCAL if first.durability.name == "TRANSIENT_LOCAL"
                  else DurabilityPolicy.VOLATILE)
    return QoSProfile(depth=max(1, first.depth), reliability=reliability, durability=durability)
