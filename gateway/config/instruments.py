"""Tradable instruments as ``GET /accounts/{id}/instruments`` and ``GET /mapping`` serve them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from gateway.config._convert import option
from gateway.config.trading import LeverageRange
from gateway.config.types import Text
from gateway.config.ui import OrderDialogCustomFields, non_empty

SymbolType = Literal[
    "stock", "dr", "right", "bond", "warrant", "structured", "index", "forex", "futures",
    "spot", "swap", "commodity", "crypto", "cfd",
]  # fmt: skip

_TYPESPECS = ("cfd", "spreadbet", "crypto")
_VARIABLE_TICK = re.compile(r"^\d+(\.\d+)?( \d+(\.\d+)? \d+(\.\d+)?)*$")
_TV_SYMBOL = re.compile(r"^[A-Z0-9_]+:[^\s:,]+$")


def positive(value: float) -> str | None:
    """Sizes and ticks must be above zero."""
    return "must be greater than 0" if value <= 0 else None


@dataclass(frozen=True)
class RuleOptions:
    """Bounds of a validation rule, in percent."""

    __key_style__ = "camel"
    min: float = option(doc="Lower bound, percent.")
    max: float = option(doc="Upper bound, percent.")


@dataclass(frozen=True)
class ValidationRule:
    """A price check the order ticket applies before sending."""

    __key_style__ = "camel"
    id: Literal["stopPercent", "limitPercent", "slPercent", "tpPercent", "gsPercent"] = option(
        doc="Which price the rule bounds."
    )
    options: RuleOptions = option(doc="min and max, percent.")

    def validate(self) -> Iterator[tuple[str, str]]:
        """The lower bound must not exceed the upper one."""
        if self.options.min > self.options.max:
            yield "options", "min must not exceed max"


@dataclass(frozen=True)
class InstrumentUi:
    """Per-instrument dialog controls and validation rules (win over account ones)."""

    __key_style__ = "camel"
    order_dialog_custom_fields: OrderDialogCustomFields | None = option(
        None, doc="Order dialog controls for this instrument."
    )
    validation_rules: tuple[ValidationRule, ...] | None = option(
        None, doc="Price checks of the ticket.", check=non_empty
    )

    def validate(self) -> Iterator[tuple[str, str]]:
        """One rule per id."""
        seen: set[str] = set()
        for i, rule in enumerate(self.validation_rules or ()):
            if rule.id in seen:
                yield f"validationRules[{i}].id", f"duplicate rule {rule.id!r}"
            seen.add(rule.id)


@dataclass(frozen=True)
class Instrument:
    """A broker instrument (the spec's Instrument) plus its TradingView mapping."""

    __key_style__ = "camel"
    name: str = option(doc="Broker instrument name, used as `instrument` everywhere.")
    description: Text = option(doc="Description.")
    type: SymbolType = option(doc="Instrument type (spec SymbolType).")
    pip_size: float = option(doc="Pip size.", check=positive)
    pip_value: float = option(doc="Value of one pip in the account currency.", check=positive)
    min_tick: float = option(doc="Minimum price increment.", check=positive)
    min_qty: float | None = option(None, doc="Minimum quantity.", check=positive)
    max_qty: float | None = option(None, doc="Maximum quantity (default 1e9).", check=positive)
    qty_step: float | None = option(None, doc="Quantity step.", check=positive)
    lot_size: float | None = option(None, doc="Units per lot.", check=positive)
    base_currency: str | None = option(None, doc="Base currency (crypto).")
    quote_currency: str | None = option(None, doc="Quote currency (crypto).")
    margin_rate: float | None = option(None, doc="Margin rate, e.g. 0.05.", check=positive)
    has_quotes: bool | None = option(None, doc="Broker serves /quotes for it (default true).")
    units: Text | None = option(None, doc="Label replacing 'Units'.")
    variable_min_tick: str | None = option(
        None, doc="Price-dependent tick: '0.01 10 0.02 25 0.05'."
    )
    typespecs: str | None = option(None, doc="Comma-separated subset of cfd, spreadbet, crypto.")
    ui: InstrumentUi | None = option(None, doc="Dialog fields and validation rules.")
    tradingview_symbol: str | None = option(
        None,
        doc="TradingView full name for /mapping, e.g. NASDAQ:AAPL (not for forex).",
        wire=False,
    )
    symbol: str | None = option(
        None,
        doc="Market-data symbol pricing this instrument (default: the instrument's name).",
        wire=False,
    )
    leverage: LeverageRange | None = option(
        None, doc="Leverage the user may choose (default: 1 up to 1/marginRate).", wire=False
    )

    def validate(self) -> Iterator[tuple[str, str]]:
        """Cross-field rules of the spec."""
        if self.min_qty and self.max_qty and self.min_qty > self.max_qty:
            yield "minQty", "must not exceed maxQty"
        if self.min_qty and self.min_qty > 1e9 and self.max_qty is None:
            yield "maxQty", "required when minQty exceeds the default maximum 1000000000"
        if self.variable_min_tick is not None:
            if not _VARIABLE_TICK.match(self.variable_min_tick):
                yield "variableMinTick", "expected 'tick [limit tick]...', e.g. '0.01 10 0.02'"
            else:
                limits = [float(x) for x in self.variable_min_tick.split()[1::2]]
                if limits != sorted(limits):
                    yield "variableMinTick", "price limits must increase"
        if self.typespecs is not None:
            for part in self.typespecs.split(","):
                if part.strip() not in _TYPESPECS:
                    yield (
                        "typespecs",
                        f"unknown typespec {part.strip()!r} (allowed: cfd, spreadbet, crypto)",
                    )
        if self.tradingview_symbol is not None:
            if not _TV_SYMBOL.match(self.tradingview_symbol):
                yield "tradingviewSymbol", "expected PREFIX:SYMBOL, e.g. NASDAQ:AAPL"
            elif self.type == "forex":
                yield (
                    "tradingviewSymbol",
                    "forex cannot be mapped to TradingView data; integrate its feed instead",
                )
