"""One configuration schema for the CLI, the ROS node's parameters and the data engine: assembled here, owned by the
stages.

Each stage declares its backends' settings beside them (segment/settings.py, describe/settings.py,
reason/settings.py, track/settings.py; geometry/target.py's GeometryOptions); this module puts those sections
together with the agent's own (cache, limits, targets) into `AgentConfig`, checks the backend names against the
stages' registries, and loads files. The YAML layout nests by stage (`segmenter.backend`,
`reasoner.llama_cpp.model_path`, ...). The ROS node declares the same keys as dotted parameter names, so `flatten()`
/ `from_flat()` convert between the two. A key a section renamed still loads, with a message naming the new key
(`RENAMED_KEYS`).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from gear_seg_ros.describe.settings import DescriberConfig
from gear_seg_ros.errors import ConfigError
from gear_seg_ros.geometry.target import GeometryOptions
from gear_seg_ros.reason.settings import ReasonerConfig
from gear_seg_ros.segment.settings import NmsConfig, SegmenterConfig
from gear_seg_ros.track.settings import TrackerConfig
from gear_seg_ros.utils.settings_model import Section, dotted_errors

log = logging.getLogger("gear_seg.config")


class CacheConfig(Section):
    max_entries: int = Field(8, ge=1, le=100000, description="frames whose perception is kept for later queries")
    max_bytes: int = Field(512 * 1024 * 1024, ge=1024, le=2**50, description="memory bound of that cache, bytes")


class LimitsConfig(Section):
    max_instruction_chars: int = Field(2000, ge=1, le=10**6, description="refuse longer instructions")
    max_image_side: int = Field(8192, ge=16, le=65536, description="refuse images with a longer side, pixels")


class TargetsConfig(Section):
    """How the reasoner's selected masks become targets, one per object (gear_seg_ros/targets.py)."""

    join: bool = Field(True, description="join the selected masks that belong to one object into one target (false: "
                                         "one target per selected mask)")
    containment: float = Field(0.9, gt=0.0, le=1.0,
                               description="one object when at least this fraction of the smaller selected mask "
                                           "lies inside the other (a part inside its whole)")
    overlap_iou: float = Field(0.5, gt=0.0, le=1.0, description="one object when two selected masks overlap with "
                                                                "at least this IoU")


class AgentConfig(Section):
    segmenter: SegmenterConfig = Field(default_factory=SegmenterConfig)
    nms: NmsConfig = Field(default_factory=NmsConfig)
    describer: DescriberConfig = Field(default_factory=DescriberConfig)
    reasoner: ReasonerConfig = Field(default_factory=ReasonerConfig)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    geometry: GeometryOptions = Field(default_factory=GeometryOptions)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    base_dir: str = Field("", description="relative model paths resolve against this (the config file's folder)")

    @field_validator("segmenter")
    @classmethod
    def _known_segmenter(cls, v: SegmenterConfig) -> SegmenterConfig:
        from gear_seg_ros.segment import SEGMENTERS

        _check_backend("segmenter.backend", v.backend, SEGMENTERS)
        return v

    @field_validator("describer")
    @classmethod
    def _known_describer(cls, v: DescriberConfig) -> DescriberConfig:
        from gear_seg_ros.describe import DESCRIBERS

        _check_backend("describer.backend", v.backend, DESCRIBERS)
        return v

    @field_validator("reasoner")
    @classmethod
    def _known_reasoner(cls, v: ReasonerConfig) -> ReasonerConfig:
        from gear_seg_ros.reason import REASONERS

        _check_backend("reasoner.backend", v.backend, REASONERS)
        return v

    @field_validator("tracker")
    @classmethod
    def _known_tracker(cls, v: TrackerConfig) -> TrackerConfig:
        from gear_seg_ros.track import TRACKERS

        _check_backend("tracker.backend", v.backend, TRACKERS)
        return v

    # ---- conversions -------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> AgentConfig:
        """Validated config from a nested mapping; renamed keys are read under their new name (with a message)."""
        try:
            return cls.model_validate(upgrade_keys(data or {}, source))
        except ValidationError as exc:
            raise ConfigError(f"invalid {source}:\n{dotted_errors(exc)}") from None
        except (TypeError, ValueError) as exc:  # unflatten: a key both a value and a section
            raise ConfigError(f"invalid {source}: {exc}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> AgentConfig:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (pass an existing YAML file, e.g. config/cpu.yaml)")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
        if is_ros_parameters_file(data):  # accepted too: the parameters of its one node
            if len(data) != 1:
                raise ConfigError(f"config file {path} holds the parameters of {len(data)} nodes "
                                  f"({', '.join(map(str, data))}); give a file with one, or a plain config")
            data = next(iter(data.values()))["ros__parameters"] or {}
        try:
            data = unflatten(data)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        data.setdefault("base_dir", str(path.resolve().parent))
        return cls.from_dict(data, source=f"config file {path}")

    def flatten(self) -> dict[str, Any]:
        return flatten(self.model_dump())

    @classmethod
    def from_flat(cls, flat: dict[str, Any], source: str = "parameters") -> AgentConfig:
        return cls.from_dict(unflatten(flat), source=source)


def _check_backend(key: str, name: str, registry: dict) -> None:
    if name not in registry:
        raise ValueError(f"unknown backend {name!r} for {key}; choose one of {sorted(registry)}")


def is_ros_parameters_file(doc: Any) -> bool:
    """A ROS parameter file (`node: {ros__parameters: {...}}`), as opposed to a plain config (config/cpu.yaml): the
    one test of it, used by from_yaml, the node's --params-file rewrite and the launch file."""
    return isinstance(doc, dict) and any(isinstance(v, dict) and "ros__parameters" in v for v in doc.values())


def ros_parameters(doc: dict[str, Any], config_path: str | Path) -> dict[str, Any]:
    """The node's ROS parameters for a plain config mapping read from `config_path`: the schema's dotted keys, and
    base_dir = the file's folder. The one conversion the node's
    `--params-file` rewrite (ros/agent_node.py) and the launch file (launch/agent.launch.py) both use; values are
    validated by the node at configure, which names the key to fix."""
    if not isinstance(doc, dict):
        raise ConfigError(f"config file {config_path} must hold a mapping at the top level")
    flat = upgrade_flat_keys(flatten(doc), f"config file {config_path}")
    params = {k: v for k, v in flat.items() if k != "base_dir"}
    params["base_dir"] = os.path.dirname(os.path.abspath(config_path))
    return params


def _renamed_keys(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Old dotted key -> new dotted key, from every section's `renamed_keys` (utils/settings_model.py)."""
    out = {f"{prefix}{old}": f"{prefix}{new}" for old, new in getattr(model, "renamed_keys", {}).items()}
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            out.update(_renamed_keys(field.annotation, f"{prefix}{name}."))
    return out


# Every key a section renamed, dotted from the top: old -> new. Files and parameters that use the old name still
# load (the value is read under the new name) with a message naming the new one.
RENAMED_KEYS: dict[str, str] = _renamed_keys(AgentConfig)


def renamed_key_note(old: str, source: str = "config") -> str:
    """What the user reads when `old` (a key of RENAMED_KEYS) is used."""
    return f"{source}: {old} is now {RENAMED_KEYS[old]}; it is read as that for now, rename it"


def upgrade_flat_keys(flat: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """`flat` (dotted keys) with every renamed key under its new name, each one logged (renamed_key_note); a
    setting given under both names is refused."""
    if not any(k in RENAMED_KEYS for k in flat):
        return flat
    out = dict(flat)
    for old in [k for k in flat if k in RENAMED_KEYS]:
        new = RENAMED_KEYS[old]
        if new in out:
            raise ConfigError(f"{source}: {old} and {new} are one setting ({old} is its old name); keep only {new}")
        out[new] = out.pop(old)
        log.warning(renamed_key_note(old, source))
    return out


def upgrade_keys(data: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """The nested mapping `data` with every renamed key under its new name (upgrade_flat_keys)."""
    if not isinstance(data, dict):
        return data  # model_validate says what is wrong with it
    flat = flatten(data)
    return unflatten(upgrade_flat_keys(flat, source)) if any(k in RENAMED_KEYS for k in flat) else data


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """Nested dict from dotted keys; raises ValueError when a key is not a string or a key is both a value and a
    section (`segmenter: classical` next to `segmenter.backend: x`)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if not isinstance(key, str):
            raise ValueError(f"key {key!r} is not a name; keys are section or parameter names")
        if isinstance(value, dict):
            value = unflatten(value)
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"{key!r}: {part!r} is given both a value and sub-keys")
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = value
    return out
