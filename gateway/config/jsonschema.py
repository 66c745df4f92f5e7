"""JSON Schema of the configuration, derived from the same dataclasses that validate it.

Editors (VS Code's YAML extension, JetBrains) complete and lint ``gateway.yaml`` against it;
``gateway schema`` prints it. Installed connector kinds contribute their options.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal, get_args, get_origin

from gateway.config._convert import _is_optional, config_fields, hints
from gateway.config.model import ConnectorSpec, GatewayConfig
from gateway.plugins.registry import PluginError, Registry

SCHEMA_ID = "https://broker-gateway.invalid/schema/gateway-config-v1.json"


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def object_schema(self, cls: type) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # placeholder breaks recursion
            props: dict[str, Any] = {}
            required: list[str] = []
            th = hints(cls)
            for key, f in config_fields(cls).items():
                sub = self.type_schema(th[f.name])
                doc = f.metadata.get("doc")
                if doc:
                    sub = {**sub, "description": doc}
                if f.default is not dataclasses.MISSING and _plain(f.default):
                    sub = {**sub, "default": f.default}
                props[key] = sub
                no_default = (
                    f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                )
                if no_default:
                    required.append(key)
            schema: dict[str, Any] = {
                "type": "object",
                "properties": props,
                "additionalProperties": False,
            }
            if cls.__doc__:
                schema["description"] = cls.__doc__.strip().splitlines()[0]
            if required:
                schema["required"] = required
            self.defs[name] = schema
        return {"$ref": f"#/$defs/{name}"}

    def type_schema(self, hint: Any) -> dict[str, Any]:
        optional, hint = _is_optional(hint)
        schema = self._inner(hint)
        return {"anyOf": [schema, {"type": "null"}]} if optional else schema

    def _inner(self, hint: Any) -> dict[str, Any]:
        if hint is ConnectorSpec:  # refined per installed kind in config_json_schema
            return {"$ref": "#/$defs/ConnectorSpec"}
        if hasattr(hint, "json_schema"):
            result: dict[str, Any] = hint.json_schema()
            return result
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            return self.object_schema(hint)
        origin = get_origin(hint)
        if origin is Literal:
            return {"enum": list(get_args(hint))}
        if origin is tuple:
            return {"type": "array", "items": self.type_schema(get_args(hint)[0])}
        if origin in (dict, typing.Mapping) or str(origin).endswith("Mapping'>"):
            return {"type": "object", "additionalProperties": self.type_schema(get_args(hint)[1])}
        simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
        return {"type": simple[hint]}


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def config_json_schema(registry: Registry | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a configuration file."""
    builder = _Builder()
    root = builder.object_schema(GatewayConfig)
    variants: list[dict[str, Any]] = []
    for kind in registry.kinds() if registry else []:
        try:
            cls = registry.get(kind) if registry else None
        except PluginError:
            continue  # a kind that cannot load contributes nothing; `gateway check` says why
        options = builder.object_schema(cls.Options)  # type: ignore[union-attr]
        opt_def = builder.defs[options["$ref"].rsplit("/", 1)[1]]
        variants.append(
            {
                "type": "object",
                "properties": {"type": {"const": kind}, **opt_def.get("properties", {})},
                "required": ["type", *opt_def.get("required", [])],
                "additionalProperties": False,
            }
        )
    connector = ConnectorSpec.json_schema()
    connector["properties"] = {"type": {"enum": registry.kinds() if registry else []}}
    if variants:
        connector["oneOf"] = variants
    builder.defs["ConnectorSpec"] = connector
    whole = builder.defs[root["$ref"].rsplit("/", 1)[1]]
    # A file that `extends` another holds only what it changes: its keys are those of a whole
    # configuration, none required but version. The loader checks the merged result.
    overlay = {
        "type": "object",
        "properties": {
            **whole["properties"],
            "extends": {"type": "string", "description": "A configuration this one changes."},
            # A connector's changes merge into the base file's entry: a part of one (its
            # execution statements, say) has no type of its own.
            "connectors": {
                "type": "object",
                "description": "Changes to the base file's connectors, by name.",
                "additionalProperties": {"type": "object"},
            },
        },
        "required": ["version", "extends"],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Broker gateway configuration",
        "if": {"type": "object", "required": ["extends"]},
        "then": overlay,
        "else": root,
        "$defs": builder.defs,
    }
