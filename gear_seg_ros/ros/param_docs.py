"""What `ros2 param describe` says about each parameter: description, choices and numeric range, read from the
pydantic schema (Field(description=..., ge/gt/le/lt), Literal choices) for agent keys. No ROS imports.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel

from gear_seg_ros.config import AgentConfig


@dataclass(frozen=True)
class ParamDoc:
    description: str
    low: float | None = None  # inclusive bound given to ROS (an exclusive one is named in the description)
    high: float | None = None
    choices: tuple[str, ...] = ()


def bounds_text(low: float | None, high: float | None, low_open: bool = False, high_open: bool = False) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def describe(text: str, default: Any, low: float | None = None, high: float | None = None,
             low_open: bool = False, high_open: bool = False, choices: tuple[str, ...] = ()) -> ParamDoc:
    extra = []
    if choices:
        extra.append("choices: " + " | ".join(choices))
    if low is not None or high is not None:
        extra.append("range: " + bounds_text(low, high, low_open, high_open))
    extra.append(f"default: {default!r}")
    return ParamDoc(f"{text} ({'; '.join(extra)})", low, high, choices)


def agent_docs() -> dict[str, ParamDoc]:
    """Dotted AgentConfig key -> ParamDoc, for every leaf of the schema."""
    out: dict[str, ParamDoc] = {}
    defaults = AgentConfig().flatten()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")
                continue
            low = high = None
            low_open = high_open = False
            for m in field.metadata:
                if isinstance(m, annotated_types.Ge):
                    low = m.ge
                elif isinstance(m, annotated_types.Gt):
                    low, low_open = m.gt, True
                elif isinstance(m, annotated_types.Le):
                    high = m.le
                elif isinstance(m, annotated_types.Lt):
                    high, high_open = m.lt, True
            choices = tuple(str(c) for c in typing.get_args(ann)) if typing.get_origin(ann) is typing.Literal else ()
            text = field.description or f"AgentConfig {key}"
            out[key] = describe(f"{text}; applied at configure", defaults.get(key), low, high, low_open,
                                high_open, choices)

    walk(AgentConfig, "")
    return out
