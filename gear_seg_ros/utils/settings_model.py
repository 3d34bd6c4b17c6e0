"""The base of every settings section, and the messages of a failed validation.

Each backend declares its settings beside its stage (`segment/settings.py`, `describe/settings.py`, ...) as a
`Section`: unknown keys are refused (a misspelled key is an error, never a silent default) and assignments are
validated. A key a section renamed stays loadable: the section lists it in `renamed_keys` (old name -> new name, both
relative to the section), and config.py maps it with a message naming the new key.
"""
from __future__ import annotations

import typing
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # old key -> new key inside this section (dotted for a nested one): read under the new name, with a message
    renamed_keys: ClassVar[dict[str, str]] = {}


def dotted_errors(exc: ValidationError) -> str:
    """`  dotted.key: what is wrong` per problem, for nested models (AgentConfig)."""
    return "\n".join(f"  {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())


_BOUND_ERRORS = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"), "less_than_equal": ("<=", "le"),
                 "less_than": ("<", "lt")}


def friendly_errors(exc: ValidationError, model: type[BaseModel]) -> str:
    """`  key=value: what to change` per problem, for flat models (NodeParams, EngineOptions): a bound names the
    accepted range and the field's description, a choice lists the accepted values."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        field = model.model_fields.get(str(err["loc"][0])) if err["loc"] else None
        kind, ctx = err["type"], err.get("ctx", {})
        if kind in _BOUND_ERRORS:
            symbol, key = _BOUND_ERRORS[kind]
            why = f" ({field.description})" if field is not None and field.description and len(err["loc"]) == 1 else ""
            bound = ctx[key]
            msg = f"must be {symbol} {bound:g}{why}" if isinstance(bound, (int, float)) else f"must be {symbol} {bound}{why}"
        elif kind == "literal_error":
            choices = typing.get_args(field.annotation) if field is not None and len(err["loc"]) == 1 else ()
            msg = f"use one of {list(choices)}" if choices else f"use one of {ctx.get('expected')}"
        elif kind == "value_error":
            msg = str(ctx.get("error", err["msg"]))
        elif kind == "extra_forbidden":
            msg = f"unknown name; known: {sorted(model.model_fields)}"
        else:
            msg = err["msg"]
        lines.append(f"  {loc}={err['input']!r}: {msg}" if "input" in err and kind != "missing" else f"  {loc}: {msg}")
    return "\n".join(lines)
