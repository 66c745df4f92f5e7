"""Symbols and instruments listed by connectors: a broker's own tables next to the YAML.

A connector may list chart symbols (``listed("symbols")``) and tradable instruments
(``listed("instruments")``): a :class:`~gateway.plugins.records.Listing` of records keyed
like the YAML's ``symbols:`` and ``instruments:`` entries. Each record goes through exactly
the conversion and checks a YAML entry does, so a listed symbol is served like a configured
one; a YAML entry of the same name wins (the broker's overrides). A record with a mistake is
left out and reported with its declaration, row number and name: by ``gateway check
--connect`` and ``gateway serve`` as errors, at run time in the log.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gateway.config._convert import INVALID, Context, convert_object
from gateway.config._yaml import Mark, YMap, YNode, YScalar, YSeq
from gateway.config.checks import check_references
from gateway.config.instruments import Instrument
from gateway.config.model import GatewayConfig
from gateway.config.symbols import Symbol
from gateway.plugins.registry import Registry
from gateway.plugins.roles import ConnectorContext

log = logging.getLogger("gateway.config")

# What can be listed: (the listing's kind and config section, its class, its name field).
KINDS: tuple[tuple[str, type, str], ...] = (
    ("symbols", Symbol, "symbol"),
    ("instruments", Instrument, "name"),
)

MAX_LISTED = 50_000
"""The most records one listing may add (a runaway query must not exhaust a worker)."""


def add_listed(config: GatewayConfig, registry: Registry) -> tuple[GatewayConfig, list[str]]:
    """The configuration with every connector's listed symbols and instruments added.

    Returns it with the problems found (records left out, listings that failed). Connectors
    are built for the listing only and stopped afterwards: nothing stays open (this runs before
    the workers' own connectors start).
    """
    problems: list[str] = []
    # Per kind: (where with the row number, record).
    added: dict[str, list[tuple[str, Any]]] = {kind: [] for kind, _, _ in KINDS}
    for name, spec in config.connectors.items():
        cls = registry.get(spec.type)
        if not callable(getattr(cls, "listed", None)):
            continue
        connector = cls(spec.options, ConnectorContext(name, config.base_dir, {}, None))
        try:
            for kind, _, _ in KINDS:
                try:
                    listing = connector.listed(kind)
                except Exception as exc:  # any connector failure: serve the YAML's entries
                    problems.append(f"connectors.{name}: listing {kind} failed: {_line(exc)}")
                    continue
                if listing is not None:
                    problems += listing.problems
                    added[kind] += [
                        (f"{listing.where}: row {row}", record)
                        for row, record in listing.records[:MAX_LISTED]
                    ]
        finally:
            connector.stop()
    if not any(added.values()):
        return config, problems
    merged, found = _merge(config, added, registry)
    return merged, problems + found


def _merge(
    config: GatewayConfig, added: Mapping[str, list[tuple[str, Any]]], registry: Registry
) -> tuple[GatewayConfig, list[str]]:
    problems: list[str] = []
    changes: dict[str, tuple[Any, ...]] = {}
    origins: dict[str, list[str]] = {}  # per kind: where each listed entry came from
    for kind, cls, key in KINDS:
        configured = list(getattr(config, kind))
        names = {getattr(entry, key) for entry in configured}
        origins[kind] = []
        for label, row in added[kind]:
            ctx = Context(file=label, base_dir=config.base_dir, environ={})
            entry: Any = convert_object(_node(row, Mark(label, 1, 1)), cls, "", ctx)
            if ctx.problems or entry is INVALID:
                problems += [_describe(label, row, key, p.path, p.message) for p in ctx.problems]
                continue
            value = getattr(entry, key)
            if value in names:
                continue  # the YAML's entry (or an earlier row) of this name wins
            names.add(value)
            configured.append(entry)
            origins[kind].append(f"{label} ({value})")
        changes[kind] = tuple(configured)
    merged = _replaced(config, changes)
    # The checks that span entries (groups, tickers, instruments priced by symbols…), run on
    # the merged configuration; what they find in a listed entry is reported at its row.
    ctx = Context(file="listed", base_dir=config.base_dir, environ={})
    check_references(merged, ctx, registry)
    bad: dict[str, set[int]] = {kind: set() for kind, _, _ in KINDS}
    for problem in ctx.problems:
        match = re.match(r"^(symbols|instruments)\[(\d+)\]\.?(.*)$", problem.path)
        if match is None:
            continue  # about the YAML alone: load_config reported it already
        kind, index = match[1], int(match[2]) - len(getattr(config, match[1]))
        if index < 0:
            continue
        bad[kind].add(index)
        problems.append(f"{origins[kind][index]}: {match[3] or kind}: {problem.message}")
    if any(bad.values()):
        keep = {
            kind: tuple(getattr(config, kind))
            + tuple(
                entry
                for j, entry in enumerate(getattr(merged, kind)[len(getattr(config, kind)) :])
                if j not in bad[kind]
            )
            for kind, _, _ in KINDS
        }
        merged = _replaced(config, keep)
    return merged, problems


def _replaced(config: GatewayConfig, entries: Mapping[str, tuple[Any, ...]]) -> GatewayConfig:
    return dataclasses.replace(
        config, symbols=entries["symbols"], instruments=entries["instruments"]
    )


def _describe(label: str, row: Any, key: str, path: str, message: str) -> str:
    name = row.get(key) if isinstance(row, Mapping) else None
    named = f" ({str(name)[:64]})" if name is not None else ""
    return f"{label}{named}: {path or 'record'}: {message}"


def _node(value: Any, mark: Mark) -> YNode:
    """A record as the YAML tree the configuration's converters read."""
    if isinstance(value, Mapping):
        items = tuple(
            (YScalar(str(k), mark), _node(v, mark)) for k, v in value.items() if v is not None
        )
        return YMap(items, mark)
    if isinstance(value, list | tuple):
        return YSeq(tuple(_node(v, mark) for v in value), mark)
    return YScalar(_scalar(value), mark)


def _scalar(value: Any) -> Any:
    # Database types to the ones YAML gives: numbers from DECIMAL columns, text from dates.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return value  # a float stays a float: an int field takes only ints, as in YAML
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def log_problems(problems: list[str]) -> None:
    """Log what the listing left out (``gateway serve`` refuses to start on them before)."""
    for problem in problems:
        log.error("%s", problem)
