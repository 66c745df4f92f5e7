"""Configuration objects rendered as the spec's JSON, in the request's locale."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

from gateway.config._convert import yaml_key
from gateway.config.types import Text


def to_wire(value: Any, locale: str) -> Any:
    """Render a configuration value as the spec's JSON.

    Dataclasses become objects keyed as the spec spells them, texts are localized, and absent
    optional values are left out rather than sent as null.
    """
    if isinstance(value, Text):
        return value.get(locale)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            if not f.metadata.get("wire", True) or f.metadata.get("internal"):
                continue
            item = getattr(value, f.name)
            if item is not None:
                out[yaml_key(type(value), f)] = to_wire(item, locale)
        return out
    if isinstance(value, tuple | list):
        return [to_wire(v, locale) for v in value]
    if isinstance(value, Mapping):
        return {k: to_wire(v, locale) for k, v in value.items()}
    return value


K = TypeVar("K", bound=Hashable)


class PerLocale(Generic[K]):
    """Renders each (key, locale) once: the configuration is frozen, so its JSON is too.

    Bounded by the configured objects times the spec's 28 locales. The cached values are
    shared between requests and must not be mutated.
    """

    def __init__(self, render: Callable[[K, str], Any]) -> None:
        self._render = render
        self._cache: dict[tuple[K, str], Any] = {}

    def get(self, key: K, locale: str) -> Any:
        """The rendering of ``key`` in ``locale``."""
        try:
            return self._cache[(key, locale)]
        except KeyError:
            value = self._cache[(key, locale)] = self._render(key, locale)
            return value
