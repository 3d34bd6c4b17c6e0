"""JSON schemas for constrained LLM decoding, derived from the pydantic model that validates the answer.

One contract per answer: the schema sent to the LLM is `model.model_json_schema()`, so what the decoder is held to
and what the parser accepts cannot drift apart. Post-processing is limited to what the decoders need:
`$defs` inlined (llama-cpp-python's grammar converter and some OpenAI-compatible servers resolve `$ref` poorly),
titles dropped (noise in every request), and a one-value `const` written as a one-item `enum` (the form every
decoder takes). `additionalProperties: false` and the `required` lists come from the model itself (extra="forbid",
no defaults), as the OpenAI strict `response_format` needs them.

Answers that always close: every free string is `text(...)` (printable ASCII, at most N characters, explanations
ending in . ! or ?) and every list has maxItems, so the longest JSON text the schema admits has a known length
(`max_json_bytes`). A constrained decoder emits at least one byte per token (llama.cpp's grammar sampler rejects
empty pieces), so an answer budget of that many tokens always reaches the closing brace.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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


# Printable ASCII without the two characters JSON must escape (" and \\): one byte each, never an escape sequence.
TEXT_CLASS = r"[ !#-\[\]-~]"
SENTENCE_END = "[.!?]"


def text(min_chars: int, max_chars: int, sentence: bool = False) -> Any:
    """A string field for an LLM: printable ASCII, min_chars..max_chars long; `sentence`: ends with . ! or ?."""
    if not 0 <= min_chars <= max_chars or (sentence and max_chars < 1):
        raise ValueError(f"bad text bounds {min_chars}..{max_chars}")
    if sentence:
        pattern = f"^{TEXT_CLASS}{{{max(0, min_chars - 1)},{max_chars - 1}}}{SENTENCE_END}$"
    else:
        pattern = f"^{TEXT_CLASS}{{{min_chars},{max_chars}}}$"
    return Annotated[str, Field(min_length=max(min_chars, int(sentence)), max_length=max_chars, pattern=pattern)]


def max_json_bytes(schema: dict) -> int:
    """An upper bound on the length in bytes of any JSON text `schema` admits under a grammar that allows at most
    one space after each token (llama-cpp-python's converter: `space ::= " "?`). Raises ValueError for a schema
    with an unbounded part (a string without maxLength, a list without maxItems, a number without an enum)."""

    def longest(node: dict) -> tuple[int, int]:  # (compact bytes, tokens that may be followed by a space)
        if "enum" in node:
            return max(len(json.dumps(v)) for v in node["enum"]), 1
        kind = node.get("type")
        if kind == "object":
            props = node.get("properties", {})
            size, slots = 2, 2  # { }
            for name, sub in props.items():
                n, k = longest(sub)
                size += len(json.dumps(name)) + 1 + n  # "name": value
                slots += 2 + k  # after the name, after the colon
            if len(props) > 1:
                size, slots = size + len(props) - 1, slots + len(props) - 1  # commas
            return size, slots
        if kind == "array":
            if "maxItems" not in node:
                raise ValueError(f"a list without maxItems: {node}")
            items = node["maxItems"]
            n, k = longest(node.get("items", {}))
            return 2 + items * n + max(0, items - 1), 2 + items * k + max(0, items - 1)
        if kind == "string":
            if "maxLength" not in node:
                raise ValueError(f"a string without maxLength: {node}")
            if node.get("pattern", "").find(TEXT_CLASS) < 0:
                raise ValueError(f"a string that may hold multi-byte characters or escapes: {node}")
            return 2 + node["maxLength"], 1
        raise ValueError(f"an unbounded part (give it an enum): {node}")

    size, slots = longest(schema)
    return size + slots


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
