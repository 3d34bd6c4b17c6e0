"""What `ros2 param describe` says about each parameter: description, choices and numeric range, read from the
pydantic schema (Field(description=..., ge/gt/le/lt), Literal choices) for agent keys. No ROS imports.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

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
    return model_docs(AgentConfig, AgentConfig().flatten(), "; applied at configure")


def field_bounds(field: FieldInfo) -> tuple[float | None, float | None, bool, bool]:
    """(low, high, low_open, high_open) of a pydantic field; for a list, those of its items."""
    metadata = list(field.metadata)
    for arg in typing.get_args(field.annotation):  # list[Annotated[float, Field(gt=0)]]
        metadata += [m for a in typing.get_args(arg)[1:] for m in getattr(a, "metadata", [a])]
    low = high = None
    low_open = high_open = False
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Gt):
            low, low_open = m.gt, True
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.Lt):
            high, high_open = m.lt, True
    return low, high, low_open, high_open


def model_docs(model: type[BaseModel], defaults: dict[str, Any], note: str = "") -> dict[str, ParamDoc]:
    """Dotted key -> ParamDoc for every leaf of a (nested) pydantic model: its description, bounds and choices."""
    out: dict[str, ParamDoc] = {}
    root = model.__name__

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")
                continue
            choices = tuple(str(c) for c in typing.get_args(ann)) if typing.get_origin(ann) is typing.Literal else ()
            text = field.description or f"{root} {key}"
            out[key] = describe(f"{text}{note}", defaults.get(key), *field_bounds(field), choices)

    walk(model, "")
    return out
