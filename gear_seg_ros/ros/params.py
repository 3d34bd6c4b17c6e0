"""ROS parameters of the node: every AgentConfig key (dotted, e.g. `segmenter.backend`) plus the node's own.

Every parameter is declared with dynamic typing and validated here (node keys) or by AgentConfig.from_flat
(pydantic), so `-p request_timeout_s:=5` (an int for a float) works and a wrong value fails `configure` with a
message naming the key, instead of an exception at start-up.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from gear_seg_ros.config import AgentConfig
from gear_seg_ros.errors import ConfigError
from gear_seg_ros.reason.base import MODES

POLICIES = ("on_request", "continuous")
QOS_RELIABILITY = ("best_effort", "reliable")


@dataclass
class NodeParams:
    policy: str = "on_request"
    default_mode: str = "reasoning"
    image_qos: str = "best_effort"
    image_qos_depth: int = 5
    use_compressed: bool = False
    use_depth: bool = False
    sync_tolerance_s: float = 0.05
    frame_buffer: int = 4
    auto_start: bool = True
    enable: bool = True
    publish_debug_image: bool = True
    request_timeout_s: float = 60.0
    max_pending_requests: int = 8

    def validate(self) -> NodeParams:
        problems = []
        if self.policy not in POLICIES:
            problems.append(f"policy={self.policy!r}: use one of {list(POLICIES)}")
        if self.default_mode not in MODES:
            problems.append(f"default_mode={self.default_mode!r}: use one of {list(MODES)}")
        if self.image_qos not in QOS_RELIABILITY:
            problems.append(f"image_qos={self.image_qos!r}: use one of {list(QOS_RELIABILITY)}")
        if self.image_qos_depth < 1:
            problems.append(f"image_qos_depth={self.image_qos_depth}: must be >= 1")
        if self.frame_buffer < 1:
            problems.append(f"frame_buffer={self.frame_buffer}: must be >= 1")
        if self.request_timeout_s <= 0:
            problems.append(f"request_timeout_s={self.request_timeout_s}: must be > 0 seconds")
        if self.max_pending_requests < 1:
            problems.append(f"max_pending_requests={self.max_pending_requests}: must be >= 1")
        if self.sync_tolerance_s < 0:
            problems.append(f"sync_tolerance_s={self.sync_tolerance_s}: must be >= 0 seconds")
        if problems:
            raise ConfigError("invalid node parameters:\n  " + "\n  ".join(problems))
        return self


NODE_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(NodeParams)}
AGENT_DEFAULTS: dict[str, Any] = AgentConfig().flatten()


def declare(node: Any) -> None:
    """Declares every node and agent parameter on an rclpy node (overrides from YAML / -p apply)."""
    from rcl_interfaces.msg import ParameterDescriptor

    for name, default in NODE_DEFAULTS.items():
        node.declare_parameter(name, default, ParameterDescriptor(dynamic_typing=True, description=_node_doc(name)))
    for name, default in AGENT_DEFAULTS.items():
        desc = ParameterDescriptor(dynamic_typing=True,
                                   description=f"AgentConfig {name} (default {default!r}); applied at configure")
        node.declare_parameter(name, default, desc)


def read(node: Any) -> tuple[NodeParams, AgentConfig]:
    """Current values, validated; raises ConfigError with every problem and the key to fix."""
    values = {n: node.get_parameter(n).value for n in NODE_DEFAULTS}
    bad = [f"{n}={v!r}: expected {type(NODE_DEFAULTS[n]).__name__}" for n, v in values.items() if not _fits(v, n)]
    if bad:
        raise ConfigError("invalid node parameters:\n  " + "\n  ".join(bad))
    node_params = NodeParams(**{n: float(v) if isinstance(NODE_DEFAULTS[n], float) else v
                                for n, v in values.items()}).validate()
    flat = {}
    for name in AGENT_DEFAULTS:
        value = node.get_parameter(name).value
        flat[name] = list(value) if isinstance(value, (tuple, list)) or type(value).__name__ == "array" else value
    return node_params, AgentConfig.from_flat(flat, source="ROS parameters")


def _fits(value: Any, name: str) -> bool:
    want = type(NODE_DEFAULTS[name])
    if want is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, want)


_DOCS = {
    "policy": "on_request: perceive the newest frame when an instruction arrives; continuous: perceive whenever idle",
    "default_mode": "selection mode for requests that leave it empty (reasoning | referring)",
    "image_qos": "reliability of the image/depth/camera_info subscriptions: best_effort (sensor data) | reliable",
    "image_qos_depth": "history depth of those subscriptions",
    "use_compressed": "subscribe image/compressed (jpeg/png) instead of image",
    "use_depth": "subscribe depth (16UC1 mm / 32FC1 m, registered to the colour image) + camera_info",
    "sync_tolerance_s": "max |stamp(depth) - stamp(image)| for a depth frame to be used",
    "frame_buffer": "recent frames kept for requests that name a frame_stamp",
    "auto_start": "configure + activate at start-up; false = wait for a lifecycle manager",
    "enable": "false: ignore frames and answer requests with success=false (toggle with ~/enable)",
    "publish_debug_image": "publish ~/debug_image (overlay of the selected masks)",
    "request_timeout_s": "default wait for service / action answers (a request's timeout_s overrides it)",
    "max_pending_requests": "requests queued beyond this are answered at once with success=false (busy)",
}


def _node_doc(name: str) -> str:
    return _DOCS.get(name, name)
