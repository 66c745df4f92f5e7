"""``GET /symbol_info``: the configured symbols as the spec's SymbolInfoArrays.

The answer is ``{"s": "ok", <field>: [one value per symbol], ...}`` with no ``d``: every field
is an array aligned with ``symbol``. The spec also allows a single scalar for all symbols; the
gateway always sends arrays, which every TradingView version reads.

Fields the configuration leaves out:

* absent for **every** symbol of the answer: the field is left out (TradingView applies its
  default), except the fields the spec requires, which are always sent;
* absent for **some** symbols only: the array still needs a value at their index. It is null
  where the spec allows null (``FILL_NULL``: currencies, futures fields, the extra sessions,
  and — as the spec's own examples do — ``typespecs``, ``volume-type``, ``isin``, ``wkn``),
  otherwise the value TradingView assumes when the field is missing (``FILL_DEFAULT``), and for
  ``ticker`` the symbol's own name (what TradingView uses when a symbol has no ticker).

The configuration is frozen, so every answer (all symbols, and each group's) is built once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import falcon

from gateway.config._convert import yaml_key
from gateway.config.symbols import Symbol
from gateway.errors import ApiError
from gateway.services import Services

REQUIRED: frozenset[str] = frozenset({
    "symbol", "description", "currency", "exchange-listed", "exchange-traded", "minmovement",
    "pricescale", "timezone", "type", "session-regular",
})  # fmt: skip
"""Fields SymbolInfoArrays requires: sent even when the answer has no symbol (as [])."""

FILL_NULL: frozenset[str] = frozenset({
    "currency", "base-currency", "root", "root-description", "typespecs", "volume-type",
    "session-extended", "session-premarket", "session-postmarket", "expiration", "isin", "wkn",
})  # fmt: skip
"""Fields whose gaps are sent as null."""

FILL_DEFAULT: Mapping[str, Any] = MappingProxyType({
    "minmovement2": 0,
    "fractional": False,
    "has-intraday": True,
    "has-no-volume": False,
    "has-daily": True,
    "has-weekly-and-monthly": False,
    "pointvalue": 1.0,
    "bar-source": "trade",
    "bar-transform": "none",
    "bar-fillgaps": False,
})  # fmt: skip
"""Fields whose gaps are sent as the value TradingView assumes when the field is missing."""

_WIRE_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (f.name, yaml_key(Symbol, f))
    for f in dataclasses.fields(Symbol)
    if f.metadata.get("wire", True)
)


def _gap(symbol: Symbol, key: str) -> Any:
    if key == "ticker":
        return symbol.symbol
    if key in FILL_NULL:
        return None
    return FILL_DEFAULT[key]


def symbol_info(symbols: Iterable[Symbol]) -> dict[str, Any]:
    """The spec's SymbolInfoResponse for ``symbols``, in their configured order."""
    chosen = list(symbols)
    body: dict[str, Any] = {"s": "ok"}
    for name, key in _WIRE_FIELDS:
        values = [getattr(s, name) for s in chosen]
        if key not in REQUIRED and all(v is None for v in values):
            continue
        body[key] = [_gap(s, key) if v is None else v for s, v in zip(chosen, values, strict=True)]
    return body


class SymbolInfoResource:
    """Every symbol, or one group's, for TradingView's data servers."""

    auth: ClassVar[str | None] = "data"

    def __init__(self, services: Services) -> None:
        config = services.config
        self._all = symbol_info(config.symbols)
        # Without groups, the spec says to ignore `group` and always answer everything.
        self._by_group: dict[str, dict[str, Any]] | None = (
            {g.id: symbol_info(s for s in config.symbols if s.group == g.id) for g in config.groups}
            if config.groups
            else None
        )

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Symbol info (spec operation ``getSymbolInfo``)."""
        group = req.get_param("group")
        if group is None or self._by_group is None:
            resp.media = self._all
            return
        try:
            resp.media = self._by_group[group]
        except KeyError:
            raise ApiError("unknown_group", group=group) from None
