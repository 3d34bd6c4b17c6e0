"""JSON schemas for constrained LLM decoding, derived from the pydantic model that validates the answer.

One contract per answer: the schema sent to the LLM is `model.model_json_schema()`, so what the decoder is held to
and what the parser accepts cannot drift apart. Post-processing is limited to what the decoders need:
`$defs` inlined (llama-cpp-python's grammar converter and some OpenAI-compatible servers resolve `$ref` poorly),
titles dropped (noise in every request), and a one-value `const` written as a one-item `enum` (the form every
decoder takes). `additionalProperties: false` and the `required` lists come from the model itself (extra="forbid",
no defaults), as the OpenAI strict `response_format` needs them.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

STRICT = ConfigDict(extra="forbid", strict=True)


def _not_bool(value: Any) -> Any:
    # JSON true is not the integer 1 (JSON Schema "integer" rejects it), but Literal[1] compares equal to True
    if isinstance(value, bool):
        raise ValueError("expected an integer, not a boolean")
    return value


def one_of(values: Iterable[int]) -> Any:
    """An integer field restricted to `values` (schema: an enum; llama.cpp's grammar ignores integer bounds)."""
    values = tuple(values)
    if not values:
        raise ValueError("one_of needs at least one value")
    return Annotated[Literal[values], BeforeValidator(_not_bool)]


def llm_schema(model: type[BaseModel]) -> dict:
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def clean(node: Any) -> Any:
        if isinstance(node, list):
            return [clean(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return clean(defs[node["$ref"].rsplit("/", 1)[-1]])
        out = {}
        for key, value in node.items():
            if key == "properties":  # field names, not keywords: a field may be called "title"
                out[key] = {name: clean(sub) for name, sub in value.items()}
            elif key != "title":
                out[key] = clean(value)
        if "const" in out and "enum" not in out:
            out["enum"] = [out.pop("const")]
        return out

    return clean(schema)
