"""Connector kinds, found through the ``broker_gateway.connectors`` entry-point group.

Built-in connectors are registered in this project's own ``pyproject.toml`` in that group, the
same way a third-party package registers its own, so the public extension point is exercised by
every run. Entry points are only listed when the registry is built and only imported when a
configuration names their kind: a broken plugin that nobody uses breaks nothing.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
from collections.abc import Iterable

from gateway.plugins.roles import Role, role_methods

ENTRY_POINT_GROUP = "broker_gateway.connectors"
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class PluginError(Exception):
    """A connector kind cannot be used; the message names the kind and what to do."""


def _origin(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def check_connector_class(cls: object, expected_kind: str | None = None) -> type:
    """Check a connector class against the contract; the error blames the class's author."""
    if not isinstance(cls, type):
        raise PluginError(f"connector entry {expected_kind!r} is {cls!r}, not a class")
    where = _origin(cls)
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise PluginError(f"{where}: 'kind' must be a lower-case identifier, got {kind!r}")
    if expected_kind is not None and kind != expected_kind:
        raise PluginError(f"{where}: registered as {expected_kind!r} but declares kind {kind!r}")
    roles = getattr(cls, "roles", None)
    if not isinstance(roles, frozenset) or not roles or not all(isinstance(r, Role) for r in roles):
        raise PluginError(f"{where}: 'roles' must be a non-empty frozenset of gateway Role values")
    options = getattr(cls, "Options", None)
    if not (isinstance(options, type) and dataclasses.is_dataclass(options)):
        raise PluginError(f"{where}: 'Options' must be a dataclass describing its YAML options")
    for method in ("start", "stop"):
        if not callable(getattr(cls, method, None)):
            raise PluginError(f"{where}: missing method {method}()")
    for role in sorted(roles):
        missing = [m for m in role_methods(role) if not callable(getattr(cls, m, None))]
        if missing:
            raise PluginError(
                f"{where}: declares role {role.value} but has no method "
                + ", ".join(f"{m}()" for m in missing)
            )
    return cls


class Registry:
    """The connector kinds available to configurations."""

    def __init__(self, entry_points: Iterable[importlib.metadata.EntryPoint] = ()) -> None:
        self._entries: dict[str, list[importlib.metadata.EntryPoint]] = {}
        self._classes: dict[str, type] = {}
        for ep in entry_points:
            self._entries.setdefault(ep.name, []).append(ep)

    @classmethod
    def discover(cls) -> Registry:
        """A registry of every connector installed in this Python environment."""
        return cls(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))

    def register(self, connector: type) -> None:
        """Add a class directly (embedding, tests); a kind may be registered only once."""
        check_connector_class(connector)
        kind = connector.kind  # type: ignore[attr-defined]
        if kind in self._classes or kind in self._entries:
            raise PluginError(f"connector kind {kind!r} is already registered")
        self._classes[kind] = connector

    def kinds(self) -> list[str]:
        """Every known kind, loaded or not."""
        return sorted(set(self._classes) | set(self._entries))

    def get(self, kind: str) -> type:
        """The class of ``kind``, loading its entry point on first use."""
        if kind in self._classes:
            return self._classes[kind]
        entries = self._entries.get(kind)
        if not entries:
            known = ", ".join(self.kinds()) or "none installed"
            raise PluginError(f"unknown connector type {kind!r} (known: {known})")
        if len(entries) > 1:
            sources = ", ".join(sorted(_dist_name(ep) for ep in entries))
            raise PluginError(f"connector type {kind!r} is registered more than once ({sources})")
        ep = entries[0]
        try:
            loaded = ep.load()
        except ImportError as exc:
            hint = ""
            if ep.extras:
                hint = f"; install it with: pip install 'broker-gateway[{','.join(ep.extras)}]'"
            raise PluginError(f"connector type {kind!r} cannot be loaded: {exc}{hint}") from None
        except Exception as exc:  # a plugin's import-time bug must not crash the CLI
            raise PluginError(
                f"connector type {kind!r} ({ep.value}) failed to import: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        self._classes[kind] = check_connector_class(loaded, expected_kind=kind)
        return self._classes[kind]


def _dist_name(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name if dist else '?'}: {ep.value}"
