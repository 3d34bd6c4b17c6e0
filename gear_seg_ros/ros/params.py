"""ROS parameters of the node: every AgentConfig key (dotted, e.g. `segmenter.backend`) plus the node's own.

Every parameter is declared with its type, a description and its range (from the pydantic schema for agent keys),
so `ros2 param describe` explains it. An int given for a float (`-p request_timeout_s:=5`) is turned into a float,
at start-up and on `ros2 param set`. A value rclpy would refuse at declaration (wrong type, out of range) is kept
with dynamic typing instead, so that `configure` fails with a message naming the key (validated here for node
keys, by AgentConfig.from_flat for agent keys) rather than the process dying at start-up. Keys whose default is
None or an empty list keep dynamic typing.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gear_seg_ros.config import RENAMED_KEYS, AgentConfig, renamed_key_note
from gear_seg_ros.errors import ConfigError
from gear_seg_ros.reason.base import MODES
from gear_seg_ros.ros.param_docs import ParamDoc, agent_docs, model_docs
from gear_seg_ros.utils.settings_model import friendly_errors

POLICIES = ("on_request", "continuous")
QOS_RELIABILITY = ("auto", "best_effort", "reliable")
# Parameters every rclpy node has, and prefixes rclpy handles itself: never "unknown" (check_unknown).
ROS_OWN = ("use_sim_time", "start_type_description_service", "qos_overrides.")
_Metres = Annotated[float, Field(ge=-1000.0, le=1000.0, allow_inf_nan=False)]
_QuaternionPart = Annotated[float, Field(ge=-1000.0, le=1000.0, allow_inf_nan=False)]


class NodeParams(BaseModel):
    """The node's own parameters (not part of AgentConfig); descriptions and bounds are what `ros2 param describe`
    shows."""

    model_config = ConfigDict(extra="forbid")

    policy: Literal[POLICIES] = Field(
        "on_request", description="on_request: perceive the newest frame when an instruction arrives; continuous: "
                                  "perceive whenever idle")
    default_mode: Literal[("auto", *MODES)] = Field(
        "auto", description="selection mode for requests that leave it empty: auto (a noun phrase naming the target "
                            "is referring, a sentence or a purpose is reasoning; as gear-seg segment) | reasoning | "
                            "referring")
    image_qos: Literal[QOS_RELIABILITY] = Field(
        "auto", description="QoS of the image/depth/camera_info subscriptions: auto (match the publishers' "
                            "reliability and durability at activation, as ros2 bag does; best_effort when none is "
                            "up yet) | best_effort (sensor data) | reliable")
    image_qos_depth: int = Field(5, ge=1, le=1000, description="history depth of those subscriptions")
    use_compressed: bool = Field(False, description="subscribe image/compressed (jpeg/png) instead of image")
    use_depth: bool = Field(False, description="subscribe depth (16UC1 mm / 32FC1 m, registered to the colour "
                                               "image) + camera_info")
    sync_tolerance_s: float = Field(0.05, ge=0.0, le=60.0,
                                    description="max |stamp(depth) - stamp(image)| for a depth frame to be used")
    frame_buffer: int = Field(4, ge=1, le=1000, description="recent frames kept for requests that name a "
                                                            "frame_stamp")
    auto_start: bool = Field(True, description="configure + activate at start-up; false = wait for a lifecycle "
                                               "manager")
    enable: bool = Field(True, description="false: ignore frames and answer requests with success=false (toggle "
                                           "with ~/enable)")
    publish_debug_image: bool = Field(True, description="publish ~/debug_image (overlay of the selected masks)")
    request_timeout_s: float = Field(60.0, gt=0.0, le=86400.0, description="default wait for service / action "
                                     "answers, seconds (a request's timeout_s overrides it)")
    # cameras (docs/ros-node.md "Cameras"): compressed / unregistered depth, 16-bit colour scaling
    use_compressed_depth: bool = Field(
        False, description="subscribe depth/compressedDepth (image_transport compressedDepth, png or rvl) instead "
                           "of the raw depth image")
    depth_registered: bool = Field(
        True, description="true: depth is registered to the colour image; false: reproject it with "
                          "depth_camera_info and depth_to_color_* into the colour camera")
    depth_to_color_translation: list[_Metres] = Field(
        default_factory=lambda: [0.0, 0.0, 0.0],
        description="[x, y, z] metres: depth optical frame -> colour optical frame (p_c = R p_d + t)")
    depth_to_color_rotation: list[_QuaternionPart] = Field(
        default_factory=lambda: [0.0, 0.0, 0.0, 1.0], description="[x, y, z, w] quaternion of the same transform "
                                                                  "(normalised when used)")
    color_16bit_max: float = Field(65535.0, ge=0.0, le=4294967295.0,
                                   description="full-scale value of 16-bit colour/IR images (mono16, 16UC1, "
                                               "bayer_*16, rgb16); 0 = each frame's maximum")
    max_pending_requests: int = Field(8, ge=1, le=1000, description="requests queued beyond this are answered at "
                                                                    "once with success=false (busy)")

    @field_validator("depth_to_color_translation", "depth_to_color_rotation")
    @classmethod
    def _finite_vector(cls, value: list[float], info: Any) -> list[float]:
        n = 3 if info.field_name == "depth_to_color_translation" else 4
        if len(value) != n or not all(math.isfinite(v) for v in value):
            raise ValueError(f"must be {n} finite numbers")
        if n == 4 and sum(v * v for v in value) < 1e-12:
            raise ValueError("is all zeros: the identity is [0.0, 0.0, 0.0, 1.0] (x, y, z, w)")
        return value

    @classmethod
    def parse(cls, values: dict[str, Any]) -> NodeParams:
        """Validated parameters; raises ConfigError naming every bad key, its value and the accepted range."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError("invalid node parameters:\n" + friendly_errors(exc, cls)) from None


NODE_DEFAULTS: dict[str, Any] = NodeParams().model_dump()
AGENT_DEFAULTS: dict[str, Any] = AgentConfig().flatten()


def node_docs() -> dict[str, ParamDoc]:
    """The node's own parameters (NodeParams) -> ParamDoc."""
    return model_docs(NodeParams, NODE_DEFAULTS)


def declare(node: Any) -> None:
    """Declares every node and agent parameter on an rclpy node (overrides from YAML / -p apply)."""
    for note in rename_overrides(node):
        node.get_logger().warning(note)
    _coerce_overrides(node)
    docs = node_docs()
    for name, default in NODE_DEFAULTS.items():
        _declare(node, name, default, docs[name])
    docs = agent_docs()
    for name, default in AGENT_DEFAULTS.items():
        _declare(node, name, default, docs[name])
    node.add_pre_set_parameters_callback(_coerce_sets(node))


def _descriptor(doc: Any, default: Any, dynamic: bool) -> Any:
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    desc = ParameterDescriptor(description=doc.description, dynamic_typing=dynamic)
    if doc.choices:
        desc.additional_constraints = "one of: " + ", ".join(doc.choices)
    if dynamic or doc.low is None and doc.high is None or isinstance(default, bool):
        return desc  # rclpy checks a range whenever the type fits, so a value kept for configure to report has none
    if isinstance(default, float):
        desc.floating_point_range = [FloatingPointRange(
            from_value=float(doc.low) if doc.low is not None else -float("inf"),
            to_value=float(doc.high) if doc.high is not None else float("inf"), step=0.0)]
    elif isinstance(default, int):
        desc.integer_range = [IntegerRange(from_value=int(doc.low) if doc.low is not None else -2**63,
                                           to_value=int(doc.high) if doc.high is not None else 2**63 - 1, step=0)]
    return desc


def _declare(node: Any, name: str, default: Any, doc: Any) -> None:
    from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException

    if default is None or default == []:
        node.declare_parameter(name, default, _descriptor(doc, default, dynamic=True))
        return
    try:
        node.declare_parameter(name, default, _descriptor(doc, default, dynamic=False))
    except (InvalidParameterTypeException, InvalidParameterValueException) as exc:
        node.get_logger().warning(f"parameter {name}: {exc}; configure will report it")
        node.declare_parameter(name, default, _descriptor(doc, default, dynamic=True))


def _float_keys() -> set[str]:
    return {n for n, d in {**NODE_DEFAULTS, **AGENT_DEFAULTS}.items()
            if isinstance(d, float) or (isinstance(d, list) and d and all(isinstance(v, float) for v in d))}


def _as_float(p: Any) -> Any:
    from rclpy.parameter import Parameter

    if p.type_ == Parameter.Type.INTEGER:
        return Parameter(p.name, Parameter.Type.DOUBLE, float(p.value))
    if p.type_ == Parameter.Type.INTEGER_ARRAY:
        return Parameter(p.name, Parameter.Type.DOUBLE_ARRAY, [float(v) for v in p.value])
    return p


def _overrides(node: Any) -> dict[str, Any]:
    """-p / --params-file values by name: rclpy keeps them in its Node's override table until they are declared
    (undeclared ones stay there), with no public getter or setter. The one place this module reads it."""
    overrides = getattr(node, "_parameter_overrides", None)
    return overrides if isinstance(overrides, dict) else {}


def _coerce_overrides(node: Any) -> None:
    overrides = _overrides(node)
    for name in _float_keys() & set(overrides):
        overrides[name] = _as_float(overrides[name])


def rename_overrides(node: Any) -> list[str]:
    """A renamed key (config.RENAMED_KEYS) given in a parameters file or with -p is read under its new name, before
    the parameters are declared; one note per key, naming the new one. A key given under both names is left for
    check_unknown to refuse."""
    from rclpy.parameter import Parameter

    overrides = _overrides(node)
    notes = []
    for old in [k for k in overrides if k in RENAMED_KEYS and RENAMED_KEYS[k] not in overrides]:
        p = overrides.pop(old)
        overrides[RENAMED_KEYS[old]] = Parameter(RENAMED_KEYS[old], p.type_, p.value)
        notes.append(renamed_key_note(old, "ROS parameters"))
    return notes


def _coerce_sets(node: Any) -> Any:
    floats = _float_keys()

    def coerce(changed: list) -> list:
        return [_as_float(p) if p.name in floats else p for p in changed]
    return coerce


def check_unknown(node: Any) -> None:
    """Raises ConfigError for every parameter given to the node (parameters file, -p, launch) that it does not
    declare, with the closest declared name: rclpy would silently ignore `reasonr.backend: llama_cpp` and the node
    would run another reasoner than the file asks for."""
    import difflib

    overrides = _overrides(node)  # undeclared ones stay there
    declared = sorted({*NODE_DEFAULTS, *AGENT_DEFAULTS})
    unknown = sorted(n for n in overrides if n not in declared and not n.startswith(ROS_OWN))
    if not unknown:
        return
    lines = []
    for name in unknown:
        close = difflib.get_close_matches(name, declared, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see ros2 param list <node> for the accepted names"
        if name in RENAMED_KEYS:
            hint = f"the old name of {RENAMED_KEYS[name]}, which is given too: keep only {RENAMED_KEYS[name]}"
        lines.append(f"  {name}: not a parameter of this node; {hint}")
    raise ConfigError("unknown parameter(s) (from a parameters file, -p or the launch file):\n" + "\n".join(lines))


def require_message_filters() -> None:
    """use_depth pairs colour and depth with message_filters (ros/sync.py): a clear error when it is missing."""
    try:
        import message_filters  # noqa: F401
    except ImportError:
        raise ConfigError("use_depth:=true needs the ROS 2 package message_filters, which is not installed: on a "
                          "robot apt install ros-jazzy-message-filters; here run make setup (it installs it from "
                          "../shared/vendor/ros2-jazzy)") from None


def read(node: Any) -> tuple[NodeParams, AgentConfig]:
    """Current values, validated; raises ConfigError with every problem and the key to fix."""
    values = {n: node.get_parameter(n).value for n in NODE_DEFAULTS}
    values = {n: [float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x for x in v]
              if isinstance(NODE_DEFAULTS[n], list) and isinstance(v, (list, tuple)) or type(v).__name__ == "array"
              else v for n, v in values.items()}
    bad = [f"{n}={v!r}: expected {type(NODE_DEFAULTS[n]).__name__}" for n, v in values.items() if not _fits(v, n)]
    if bad:
        raise ConfigError("invalid node parameters:\n  " + "\n  ".join(bad))
    node_params = NodeParams.parse({n: float(v) if isinstance(NODE_DEFAULTS[n], float) else v
                                    for n, v in values.items()})
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

