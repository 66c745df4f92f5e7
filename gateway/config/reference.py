"""The configuration reference in Markdown, generated from the same dataclasses that validate.

``docs/configuration.md`` embeds this text; a test keeps the two identical, so the reference
cannot drift from what the loader accepts.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

from gateway.config._convert import _is_optional, config_fields, hints
from gateway.config.model import ConnectorSpec, GatewayConfig
from gateway.config.types import Duration, OriginPattern, Secret, Text

_NAMES: dict[Any, str] = {
    str: "string", int: "integer", float: "number", bool: "boolean", Text: "text",
    Duration: "duration", Secret: "secret", OriginPattern: "origin",
    ConnectorSpec: "connector",
}  # fmt: skip


def _anchor(cls: type) -> str:
    return cls.__name__.lower()


def _type_name(hint: Any, queue: list[type]) -> str:
    _, hint = _is_optional(hint)
    if hint in _NAMES:
        return _NAMES[hint]
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        queue.append(hint)
        return f"[{hint.__name__}](#{_anchor(hint)})"
    origin = get_origin(hint)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(hint))
    if origin is tuple:
        return f"list of {_type_name(get_args(hint)[0], queue)}"
    if origin in (dict, typing.Mapping) or str(origin).endswith("Mapping'>"):
        return f"map of name → {_type_name(get_args(hint)[1], queue)}"
    if isinstance(hint, type) and issubclass(hint, Mapping):
        return "map of message code → text"
    if isinstance(hint, types.UnionType):
        return " or ".join(_type_name(a, queue) for a in get_args(hint))
    return getattr(hint, "__name__", str(hint))


def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is dataclasses.MISSING:
        if f.default_factory is dataclasses.MISSING:
            return "**required**"
        value = f.default_factory()
        if dataclasses.is_dataclass(value):
            return "(defaults)"
        if isinstance(value, tuple):
            shown = ", ".join(getattr(v, "pattern", str(v)) for v in value)
            return f"`[{shown}]`" if shown else "`[]`"
        return "`{}`" if not value else f"`{value}`"
    value = f.default
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Secret):
        return f"`{value.reveal()}`"
    if isinstance(value, tuple):
        return f"`[{', '.join(map(str, value))}]`"
    if value == "":
        return '`""`'
    return f"`{value}`"


def config_reference() -> str:
    """Markdown: one section per configuration object, one row per key."""
    queue: list[type] = [GatewayConfig]
    done: set[type] = set()
    out: list[str] = []
    while queue:
        cls = queue.pop(0)
        if cls in done:
            continue
        done.add(cls)
        title = "The file" if cls is GatewayConfig else cls.__name__
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        out += [
            f"### {title}",
            "",
            f'<a id="{_anchor(cls)}"></a>{summary}',
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        th = hints(cls)
        for key, f in config_fields(cls).items():
            doc = str(f.metadata.get("doc", "")).replace("|", "\\|")
            out.append(f"| `{key}` | {_type_name(th[f.name], queue)} | {_default(f)} | {doc} |")
        out.append("")
    return "\n".join(out)
