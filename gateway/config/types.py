"""Value types of the configuration: durations, secrets, localized texts, origins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gateway.config._convert import (
    INVALID,
    Context,
    describe,
    report_duplicates,
    scalar_str,
    suggest,
)
from gateway.config._yaml import YMap, YNode, YScalar
from gateway.locale import DEFAULT_LOCALE, LOCALES

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


@dataclass(frozen=True, order=True)
class Duration:
    """A span of time, written ``90s``, ``15m``, ``1h30m``, ``2d`` or a number of seconds."""

    seconds: float

    @classmethod
    def parse(cls, text: str) -> Duration | None:
        """Parse the textual form; None when malformed."""
        text = text.strip().replace(" ", "")
        if not _DURATION.match(text):
            return None
        return cls(sum(float(n) * _UNITS[u] for n, u in _PART.findall(text)))

    @classmethod
    def parse_config(cls, node: YNode, path: str, ctx: Context) -> Any:
        """Accept a non-negative number of seconds or a duration string."""
        if isinstance(node, YScalar):
            v = node.value
            if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0:
                return cls(float(v))
            if isinstance(v, str):
                parsed = cls.parse(v)
                if parsed is not None:
                    return parsed
        ctx.report(
            node.mark, path, f"expected a duration such as 30s, 15m or 1h, got {describe(node)}"
        )
        return INVALID

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """Seconds, or a string of number+unit parts."""
        return {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": _DURATION.pattern},
            ]
        }

    def __str__(self) -> str:
        s = self.seconds
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if s >= size and s % size == 0:
                return f"{int(s // size)}{unit}"
        return f"{s:g}s"


class Secret:
    """A secret value: given inline or by reference (``$env: NAME``, ``$file: path``).

    It never shows itself: ``repr``/``str`` print a mask, and config dumps print the reference,
    not the value. Call :meth:`reveal` where the value is really needed.
    """

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str = "inline") -> None:
        self._value = value
        self._source = source

    def reveal(self) -> str:
        """The secret itself."""
        return self._value

    @property
    def source(self) -> str:
        """Where it came from, e.g. ``$env:DB_URL`` — safe to show."""
        return self._source

    def __repr__(self) -> str:
        return f"Secret({self._source}, '***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    @classmethod
    def parse_config(cls, node: YNode, path: str, ctx: Context) -> Any:
        """Accept a string or one of the reference forms."""
        if isinstance(node, YScalar) and isinstance(node.value, str):
            return cls(node.value)
        default: str | None = None
        if isinstance(node, YMap) and len(node.items) == 2 and node.get("$env") is not None:
            # {$env: NAME, default: VALUE}: a development default, e.g. a local SQLite URL.
            extra = next((k, v) for k, v in node.items if k.value != "$env")
            if extra[0].value != "default":
                ctx.report(extra[0].mark, path, "unknown key next to $env (only default)")
                return INVALID
            default = scalar_str(extra[1], path, ctx, "a default value")
            if default is None:
                return INVALID
            node = YMap(tuple(item for item in node.items if item[0].value == "$env"), node.mark)
        if isinstance(node, YMap) and len(node.items) == 1:
            ((key, ref),) = node.items
            kind = str(key.value)
            if kind not in ("$env", "$file"):
                ctx.report(
                    key.mark,
                    path,
                    f"unknown secret reference {kind!r}"
                    f"{suggest(kind, ['$env', '$file'])} (use $env or $file)",
                )
                return INVALID
            name = scalar_str(ref, path, ctx, "a name")
            if name is None:
                return INVALID
            if kind == "$env":
                if name not in ctx.environ and default is not None:
                    return cls(default, f"$env:{name}")
                if name not in ctx.environ:
                    ctx.report(ref.mark, path, f"environment variable {name} is not set")
                    return INVALID
                return cls(ctx.environ[name], f"$env:{name}")
            file = (ctx.base_dir / name) if not Path(name).is_absolute() else Path(name)
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                ctx.report(ref.mark, path, f"cannot read secret file {name}: {exc.strerror}")
                return INVALID
            return cls(text.rstrip("\r\n"), f"$file:{name}")
        ctx.report(
            node.mark,
            path,
            f"expected a string or {{$env: NAME}} / {{$file: PATH}}, got {describe(node)}",
        )
        return INVALID

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """A string or a single-key reference mapping."""
        return {
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {"$env": {"type": "string"}, "default": {"type": "string"}},
                    "required": ["$env"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {"$file": {"type": "string"}},
                    "required": ["$file"],
                    "additionalProperties": False,
                },
            ]
        }


class Text:
    """A user-visible string, localizable: ``Balance`` or ``{en: Balance, de_DE: Saldo}``.

    English is required in the mapping form because every locale falls back to it.
    """

    __slots__ = ("_by_locale",)

    def __init__(self, by_locale: dict[str, str]) -> None:
        self._by_locale = MappingProxyType(dict(by_locale))

    @classmethod
    def plain(cls, text: str) -> Text:
        """The same text in every locale."""
        return cls({DEFAULT_LOCALE: text})

    def get(self, locale: str) -> str:
        """The text in ``locale``, falling back to English."""
        return self._by_locale.get(locale) or self._by_locale[DEFAULT_LOCALE]

    @property
    def translations(self) -> MappingProxyType[str, str]:
        """All given translations by locale."""
        return self._by_locale

    def __repr__(self) -> str:
        return f"Text({dict(self._by_locale)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and other._by_locale == self._by_locale

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._by_locale.items())))

    @classmethod
    def parse_config(cls, node: YNode, path: str, ctx: Context) -> Any:
        """Accept a string or a locale → string mapping that includes ``en``."""
        if isinstance(node, YScalar) and isinstance(node.value, str):
            return cls.plain(node.value)
        if isinstance(node, YMap):
            out: dict[str, str] = {}
            bad = bool(node.duplicates)
            report_duplicates(node, path, ctx)
            for key, val in node.items:
                loc = str(key.value)
                if loc not in LOCALES:
                    ctx.report(
                        key.mark,
                        f"{path}.{loc}",
                        f"unknown locale{suggest(loc, LOCALES)} (one of the spec's 28)",
                    )
                    bad = True
                    continue
                ctx.marks[f"{path}.{loc}"] = val.mark
                text = scalar_str(val, f"{path}.{loc}", ctx, "a string")
                if text is None:
                    bad = True
                    continue
                out[loc] = text
            if not bad and DEFAULT_LOCALE not in out:
                ctx.report(
                    node.mark, path, "missing the English text (en), the fallback of every locale"
                )
                bad = True
            return INVALID if bad else cls(out)
        ctx.report(
            node.mark,
            path,
            f"expected a string or a mapping of locale to string, got {describe(node)}",
        )
        return INVALID

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """A string or a mapping from the spec's locales to strings."""
        return {
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {loc: {"type": "string"} for loc in LOCALES},
                    "required": [DEFAULT_LOCALE],
                    "additionalProperties": False,
                },
            ]
        }


_ORIGIN = re.compile(
    r"^(?P<scheme>https?)://(?P<host>(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*"
    r"[a-z0-9])?)*)(?P<port>:\d{1,5})?$"
)


@dataclass(frozen=True)
class OriginPattern:
    """An allowed CORS origin, exact or with a leading wildcard label.

    ``http://localhost:6285`` matches itself only; ``https://*.tradingview.com`` matches any
    depth of sub-domain but not the bare domain.
    """

    pattern: str

    def regex(self) -> re.Pattern[str]:
        """A compiled matcher for request ``Origin`` values (lower-cased by the caller)."""
        escaped = re.escape(self.pattern).replace(r"\*\.", r"(?:[a-z0-9-]+\.)+")
        return re.compile(f"^{escaped}$")

    @classmethod
    def parse_config(cls, node: YNode, path: str, ctx: Context) -> Any:
        """Accept ``scheme://host[:port]`` with an optional ``*.`` prefix on the host."""
        text = scalar_str(node, path, ctx, "an origin such as https://*.example.com")
        if text is None:
            return INVALID
        if text.strip() == "*":
            ctx.report(
                node.mark,
                path,
                "'*' would let any web site call the API with a user's "
                "token; list the allowed origins instead",
            )
            return INVALID
        if not _ORIGIN.match(text.lower()):
            ctx.report(
                node.mark,
                path,
                f"{text!r} is not an origin: write scheme://host[:port], "
                "no path, '*.' only as the first label",
            )
            return INVALID
        return cls(text.lower())

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """An origin string (the pattern without Python's named groups, for ECMA-262)."""
        pattern = re.sub(r"\(\?P<\w+>", "(", _ORIGIN.pattern)
        return {"type": "string", "pattern": pattern.replace("[a-z0-9", "[A-Za-z0-9")}
