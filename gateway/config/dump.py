"""The effective configuration as YAML, defaults filled in and every secret masked."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import yaml

from gateway.config._convert import config_fields
from gateway.config.model import ConnectorSpec, GatewayConfig
from gateway.config.types import Duration, OriginPattern, Secret, Text

MASK = "***"


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        # References are shown (they are not secret); inline values never are.
        if value.source.startswith("$"):
            kind, _, name = value.source.partition(":")
            return {kind: name}
        return MASK
    if isinstance(value, Text):
        tr = dict(value.translations)
        return tr["en"] if list(tr) == ["en"] else tr
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, OriginPattern):
        return value.pattern
    if isinstance(value, ConnectorSpec):
        return {"type": value.type, **_plain(value.options)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            key: _plain(getattr(value, f.name))
            for key, f in config_fields(type(value)).items()
            if getattr(value, f.name) is not None
        }
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def dump_config(config: GatewayConfig) -> str:
    """YAML text of the effective configuration; safe to paste into a ticket."""
    return yaml.safe_dump(_plain(config), sort_keys=False, allow_unicode=True, width=100)
