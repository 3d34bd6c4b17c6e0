"""Input QoS of the node: `image_qos` (best_effort | reliable | auto) and what goes wrong on the inputs.

`auto` matches the publishers' reliability and durability at activation, as `ros2 bag record` does: reliable only
when every publisher offers reliable, transient_local only when every one offers it; with no publisher yet,
best_effort + volatile, which matches any publisher. Incompatible-QoS events (a subscription that gets nothing
because the publisher offers less than it requests) are logged once per topic with what the publisher offers and
which parameter fixes it, and kept for /diagnostics; message-lost events are counted per input.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSPolicyKind, QoSProfile, ReliabilityPolicy


def _name(policy: Any) -> str:
    return policy.name.lower()


def offered(node: Any, topic: str) -> list[str]:
    """`<node>: <reliability>/<durability>` of each publisher of `topic` (resolved name)."""
    return [f"{i.node_namespace.rstrip('/')}/{i.node_name}: {_name(i.qos_profile.reliability)}/"
            f"{_name(i.qos_profile.durability)}" for i in node.get_publishers_info_by_topic(topic)]


def input_qos(node: Any, topic: str, setting: str, depth: int, discovery_s: float = 1.0) -> tuple[QoSProfile, str]:
    """The subscription QoS for `setting` and a line for the start-up log. `auto` waits up to `discovery_s` for a
    publisher to be discovered."""
    reliability, durability, why = ReliabilityPolicy.BEST_EFFORT, DurabilityPolicy.VOLATILE, ""
    if setting == "reliable":
        reliability = ReliabilityPolicy.RELIABLE
    elif setting == "auto":
        deadline = time.monotonic() + discovery_s
        infos = node.get_publishers_info_by_topic(topic)
        while not infos and time.monotonic() < deadline:
            time.sleep(0.05)
            infos = node.get_publishers_info_by_topic(topic)
        if not infos:
            why = " (auto: no publisher yet; best_effort matches any)"
        else:
            if all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE for i in infos):
                reliability = ReliabilityPolicy.RELIABLE
            if all(i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos):
                durability = DurabilityPolicy.TRANSIENT_LOCAL
            why = f" (auto: matches {len(infos)} publisher(s))"
    profile = QoSProfile(depth=depth, history=HistoryPolicy.KEEP_LAST, reliability=reliability,
                         durability=durability)
    return profile, f"{topic} {_name(reliability)}/{_name(durability)}{why}"


class InputWatch:
    """Event callbacks for the node's input subscriptions; `problems` and `lost` feed /diagnostics."""

    def __init__(self, node: Any) -> None:
        self._node = node
        self._lock = threading.Lock()
        self.problems: dict[str, dict[str, str]] = {}  # resolved topic -> message, offered, requested, fix
        self.lost: dict[str, int] = {}  # input name -> messages lost in transport (rmw message_lost)

    def callbacks(self, name: str, topic: str, requested: QoSProfile, fix: str) -> SubscriptionEventCallbacks:
        """name: the input ("image", "depth", ...); topic: its resolved name; fix: the parameter / launch argument
        that makes it match."""
        def incompatible(info: Any) -> None:
            try:
                policy = QoSPolicyKind(info.last_policy_kind).name.lower()
            except ValueError:
                policy = str(info.last_policy_kind)
            pubs = offered(self._node, topic)
            want = f"{_name(requested.reliability)}/{_name(requested.durability)}"
            message = (f"QoS mismatch on {topic}: the publisher offers {', '.join(pubs) or 'an incompatible QoS'}, "
                       f"this node requests {want} ({policy} incompatible), so nothing is received; fix: {fix}")
            with self._lock:
                first = topic not in self.problems
                self.problems[topic] = {"message": message, "offered": "; ".join(pubs), "requested": want,
                                        "incompatible_policy": policy, "fix": fix}
            if first:
                self._node.get_logger().error(message)

        def message_lost(info: Any) -> None:
            with self._lock:
                self.lost[name] = int(info.total_count)

        return SubscriptionEventCallbacks(incompatible_qos=incompatible, message_lost=message_lost)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"qos": dict(self.problems), "lost": dict(self.lost)}
