"""Small builders of the JSON Schemas in ``schemas.py`` and ``schemas_trading.py`` beside it.

Each returns a fresh dict, so a schema may be extended (``{**number(), "const": 0}``) without
touching another. ``strict_object`` is an object the spec declares ``additionalProperties:
false``; ``open_object`` one it leaves open.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def string(*enum: str) -> Schema:
    """A string, optionally restricted to ``enum``."""
    schema: Schema = {"type": "string"}
    if enum:
        schema["enum"] = list(enum)
    return schema


def number(*, maximum: float | None = None, default: float | None = None) -> Schema:
    """A JSON number (integers and floats), optionally bounded above."""
    schema: Schema = {"type": "number"}
    if maximum is not None:
        schema["maximum"] = maximum
    if default is not None:
        schema["default"] = default
    return schema


def boolean(default: bool | None = None, *, deprecated: bool = False) -> Schema:
    """A boolean; ``default`` is the value TradingView assumes when the field is absent."""
    schema: Schema = {"type": "boolean"}
    if default is not None:
        schema["default"] = default
    if deprecated:
        schema["deprecated"] = True
    return schema


def array(items: Schema, *, min_items: int | None = None, max_items: int | None = None) -> Schema:
    """An array of ``items``."""
    schema: Schema = {"type": "array", "items": items}
    if min_items is not None:
        schema["minItems"] = min_items
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


def strict_object(properties: Schema, *required: str) -> Schema:
    """An object the spec declares ``additionalProperties: false``: no other keys allowed."""
    schema = open_object(properties, *required)
    schema["additionalProperties"] = False
    return schema


def open_object(properties: Schema, *required: str) -> Schema:
    """An object the spec leaves open: unknown keys are accepted."""
    unknown = set(required) - set(properties)
    if unknown:
        raise ValueError(f"required fields without a property: {sorted(unknown)}")
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def ok_envelope(payload: Schema) -> Schema:
    """The spec's usual success shape: ``{"s": "ok", "d": payload}``, both required, strict."""
    return strict_object({"s": string("ok"), "d": payload}, "s", "d")
