"""Turns positioned YAML nodes into frozen, typed configuration objects.

The target types are ordinary frozen dataclasses; their type hints drive the conversion and the
JSON Schema export, so one declaration serves validation, typing and editor completion.
Every problem is collected (never raised) so that a broker sees all mistakes in one run.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, get_args, get_origin

from gateway.config._yaml import Mark, YMap, YNode, YScalar, YSeq


@dataclass(frozen=True)
class Problem:
    """One configuration mistake, printed as ``file:line:col: path: message``."""

    mark: Mark
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.mark}: {where}{self.message}"


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()
"""Returned by converters for a value that produced a problem."""


@dataclass
class Context:
    """State shared by one conversion run."""

    file: str
    base_dir: Path
    environ: Mapping[str, str]
    problems: list[Problem] = field(default_factory=list)
    marks: dict[str, Mark] = field(default_factory=dict)
    services: dict[str, Any] = field(default_factory=dict)

    def report(self, mark: Mark, path: str, message: str) -> None:
        """Record a problem."""
        self.problems.append(Problem(mark, path, message))

    def mark_of(self, path: str) -> Mark:
        """The mark recorded for ``path``, or of its nearest recorded parent."""
        probe = path
        while True:
            if probe in self.marks:
                return self.marks[probe]
            parent = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe)
            if parent == probe:
                return self.marks.get("", Mark(self.file, 1, 1))
            probe = parent

    def report_at(self, path: str, message: str) -> None:
        """Record a problem at the position of an already converted path."""
        self.report(self.mark_of(path), path, message)


class ConfigType(Protocol):
    """A type that converts itself from a YAML node (durations, secrets, texts...)."""

    @classmethod
    def parse_config(cls, node: YNode, path: str, ctx: Context) -> Any:
        """Convert ``node`` or report problems and return INVALID."""

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema fragment describing accepted YAML."""


Check = Callable[[Any], "str | None"]


def option(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    key: str | None = None,
    check: Check | None = None,
    factory: Callable[[], Any] | None = None,
    wire: bool = True,
) -> Any:
    """Declare a configuration field: its documentation, YAML key and extra check.

    ``wire=False`` marks a gateway-only field that is left out when the object is rendered in
    a TradingView response.
    """
    meta = {"doc": doc, "key": key, "check": check, "wire": wire}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def camel(name: str) -> str:
    """snake_case → camelCase (the spelling of TradingView's own fields)."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def kebab(name: str) -> str:
    """snake_case → kebab-case (the spelling of /symbol_info fields)."""
    return name.replace("_", "-")


def yaml_key(cls: type, f: dataclasses.Field[Any]) -> str:
    """The YAML key of a dataclass field: explicit, or by the class's key style."""
    explicit = f.metadata.get("key")
    if explicit:
        return str(explicit)
    style = getattr(cls, "__key_style__", "snake")
    if style == "camel":
        return camel(f.name)
    if style == "kebab":
        return kebab(f.name)
    return f.name


KEY_CUTOFF = 0.75
"""How alike a misspelt key must be to a known one to be suggested. Keys are short words, where
0.6 pairs unrelated ones (listener and cluster); values (time zones, symbols) keep 0.6."""


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate ``word`` was most likely meant to be, if any is close."""
    cands = list(candidates)
    lowered = {c.lower(): c for c in cands}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word, cands, n=1, cutoff=cutoff)
    if close:
        return close[0]
    # "de" → "de_DE": a language code is a prefix of the spec's locale id.
    prefixed = [c for c in cands if c.lower().startswith(word.lower() + "_")]
    return prefixed[0] if len(prefixed) == 1 else None


def suggest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """A ' (did you mean X?)' hint, or ''."""
    match = closest(word, candidates, cutoff)
    return f" (did you mean {match}?)" if match else ""


def describe(node: YNode) -> str:
    """A short description of what a node is, for 'expected X, got Y' messages."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    v = node.value
    if v is None:
        return "nothing (null)"
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, int | float):
        return f"a number ({v})"
    if isinstance(v, str):
        return f"a string ({v!r})" if len(v) < 40 else "a string"
    return f"a {type(v).__name__}"


def join(path: str, key: str | int) -> str:
    """Extend a dotted path with a key or an index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


_HINTS: dict[type, dict[str, Any]] = {}


def hints(cls: type) -> dict[str, Any]:
    """Resolved type hints of a dataclass, cached."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _is_optional(hint: Any) -> tuple[bool, Any]:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) < len(get_args(hint)):
            inner = args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
            return True, inner
    return False, hint


def convert(node: YNode, hint: Any, path: str, ctx: Context) -> Any:
    """Convert ``node`` to ``hint``; problems are reported, INVALID returned."""
    ctx.marks.setdefault(path, node.mark)
    optional, hint = _is_optional(hint)
    if isinstance(node, YScalar) and node.value is None:
        if optional:
            return None
        ctx.report(node.mark, path, "must not be empty")
        return INVALID
    if hasattr(hint, "parse_config"):
        return hint.parse_config(node, path, ctx)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return convert_object(node, hint, path, ctx)
    origin = get_origin(hint)
    if origin is Literal:
        return _convert_literal(node, get_args(hint), path, ctx)
    if origin is tuple:
        return _convert_list(node, get_args(hint)[0], path, ctx)
    if origin in (Mapping, dict, typing.Mapping):
        return _convert_mapping(node, get_args(hint)[1], path, ctx)
    if hint in (str, int, float, bool):
        return _convert_scalar(node, hint, path, ctx)
    raise TypeError(f"unsupported configuration type {hint!r} at {path}")


_SCALAR_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}


def _convert_scalar(node: YNode, hint: type, path: str, ctx: Context) -> Any:
    if isinstance(node, YScalar):
        v = node.value
        ok = (
            (hint is str and isinstance(v, str))
            or (hint is bool and isinstance(v, bool))
            or (hint is int and isinstance(v, int) and not isinstance(v, bool))
            or (hint is float and isinstance(v, int | float) and not isinstance(v, bool))
        )
        if ok:
            return float(v) if hint is float else v
        if hint is str and isinstance(v, int | float) and not isinstance(v, bool):
            ctx.report(node.mark, path, f"expected a string, got {describe(node)}; quote it")
            return INVALID
        if hint in (int, float) and isinstance(v, str) and _looks_numeric(v):
            ctx.report(
                node.mark,
                path,
                f"expected {_SCALAR_NAMES[hint]}, got {describe(node)}; "
                "YAML reads it as text: write 2.0e+9 rather than 2e9, and no quotes",
            )
            return INVALID
    ctx.report(node.mark, path, f"expected {_SCALAR_NAMES[hint]}, got {describe(node)}")
    return INVALID


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _convert_literal(node: YNode, allowed: tuple[Any, ...], path: str, ctx: Context) -> Any:
    if (
        isinstance(node, YScalar)
        and node.value in allowed
        and type(node.value) in {type(a) for a in allowed}
    ):
        return node.value
    shown = ", ".join(str(a) for a in allowed)
    if isinstance(node, YScalar) and any(
        not isinstance(a, str) and str(a) == str(node.value) for a in allowed
    ):
        ctx.report(
            node.mark,
            path,
            f"expected the number {node.value}, got {describe(node)}; remove the quotes",
        )
    elif isinstance(node, YScalar) and isinstance(node.value, str):
        hint = suggest(node.value, [str(a) for a in allowed])
        ctx.report(node.mark, path, f"unknown value {node.value!r}{hint} (allowed: {shown})")
    else:
        ctx.report(node.mark, path, f"expected one of {shown}, got {describe(node)}")
    return INVALID


def _convert_list(node: YNode, item: Any, path: str, ctx: Context) -> Any:
    if not isinstance(node, YSeq):
        ctx.report(node.mark, path, f"expected a list, got {describe(node)}")
        return INVALID
    out = [convert(n, item, join(path, i), ctx) for i, n in enumerate(node.items)]
    if any(v is INVALID for v in out):
        return INVALID
    return tuple(out)


def _convert_mapping(node: YNode, value_hint: Any, path: str, ctx: Context) -> Any:
    if not isinstance(node, YMap):
        ctx.report(node.mark, path, f"expected a mapping, got {describe(node)}")
        return INVALID
    report_duplicates(node, path, ctx)
    out: dict[str, Any] = {}
    bad = False
    for k, v in node.items:
        if not isinstance(k.value, str):
            ctx.report(k.mark, path, f"keys must be strings, got {describe(k)}")
            bad = True
            continue
        ctx.marks[join(path, k.value)] = k.mark
        val = convert(v, value_hint, join(path, k.value), ctx)
        bad = bad or val is INVALID
        out[k.value] = val
    return INVALID if bad else types.MappingProxyType(out)


def report_duplicates(node: YMap, path: str, ctx: Context) -> None:
    """Report the keys a mapping repeats (YAML keeps the last silently)."""
    for dup in node.duplicates:
        ctx.report(dup.mark, join(path, str(dup.value)), "duplicate key")


T = TypeVar("T")


def config_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """The YAML-visible fields of a dataclass, by YAML key."""
    return {yaml_key(cls, f): f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}


def convert_object(node: YNode, cls: type[T], path: str, ctx: Context) -> T:
    """Convert a mapping into dataclass ``cls``; unknown keys are errors with a suggestion."""
    if not isinstance(node, YMap):
        ctx.report(node.mark, path, f"expected a mapping, got {describe(node)}")
        return typing.cast(T, INVALID)
    report_duplicates(node, path, ctx)
    fields = config_fields(cls)
    th = hints(cls)
    values: dict[str, Any] = {}
    bad = False
    suggested: set[str] = set()
    for k, v in node.items:
        name = str(k.value)
        f = fields.get(name)
        if f is None:
            deprecated = getattr(cls, "__deprecated_keys__", {}).get(name)
            if deprecated:
                ctx.report(k.mark, join(path, name), deprecated)
            else:
                match = closest(name, fields)
                if match:
                    suggested.add(match)
                ctx.report(
                    k.mark, join(path, name), f"unknown key{suggest(name, fields, KEY_CUTOFF)}"
                )
            bad = True
            continue
        sub = join(path, name)
        ctx.marks[sub] = k.mark
        val = convert(v, th[f.name], sub, ctx)
        if val is not INVALID and f.metadata.get("check"):
            msg = f.metadata["check"](val)
            if msg:
                ctx.report(v.mark, sub, msg)
                val = INVALID
        bad = bad or val is INVALID
        values[f.name] = val
    for key, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        # A misspelt required key is already reported with its suggestion.
        if required and f.name not in values and key not in suggested:
            ctx.report(node.mark, join(path, key), "missing required key")
            bad = True
    if bad:
        return typing.cast(T, INVALID)
    obj = cls(**values)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        for rel, message in validate():
            where = join(path, rel) if rel else path
            ctx.report(ctx.mark_of(where), where, message)
    return obj


def scalar_str(node: YNode, path: str, ctx: Context, what: str) -> str | None:
    """A helper for custom types: the node's string value, or a reported problem."""
    if isinstance(node, YScalar) and isinstance(node.value, str):
        return node.value
    ctx.report(node.mark, path, f"expected {what}, got {describe(node)}")
    return None
