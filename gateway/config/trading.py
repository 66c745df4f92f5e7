"""The ``trading`` section (managed trading) and the leverage range of an instrument.

With ``trading.venue`` set, the gateway runs the order lifecycle itself: it prices orders from
market data, keeps positions and balances, and sends single orders to the venue connector.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.config._convert import Check, option
from gateway.config.types import Duration

ACCOUNT_METRICS: tuple[str, ...] = (
    "balance",
    "equity",
    "unrealizedPl",
    "realizedPl",
    "marginUsed",
    "marginAvailable",
    "marginLevel",
    "openOrders",
    "openPositions",
)
"""Account figures managed trading computes, by id.

Managed mode fills them into ``/state``'s ``accountSummaryRowData`` and ``amData`` cells, matched
by the id of the ``accountSummaryRow`` item or ``accountManager`` column that shows them.
"""

# Tolerance of the step test: binary floats cannot represent most decimal steps exactly.
_STEP_EPSILON = 1e-9


def _between(low: float, high: float, shown: str) -> Check:
    def check(value: Duration) -> str | None:
        return None if low <= value.seconds <= high else f"must be between {shown}"

    return check


@dataclass(frozen=True)
class Trading:
    """Managed trading: which venue works the orders, and the trading streams' timing."""

    venue: str | None = option(
        None,
        doc="Connector with the execution role that works the orders; unset: no trading "
        "(trading endpoints answer that trading is not configured).",
    )
    mapped: str | None = option(
        None,
        doc="Mapped mode: connector with the account_data role whose database owns orders, "
        "positions and balances (the gateway reads them; exclusive with venue).",
    )
    stream_interval: Duration = option(
        Duration(0.5),
        doc="How often trading streams re-evaluate quote-dependent values (unrealized P&L).",
        check=_between(0.1, 5, "100ms and 5s"),
    )
    stream_ping: Duration = option(
        Duration(5),
        doc="Ping after this much silence on trading streams (the spec says 5s).",
        check=_between(1, 60, "1s and 1m (the spec pings every 5s)"),
    )
    preview_ttl: Duration = option(
        Duration(60),
        doc="How long a previewOrder's confirmId stays valid.",
        check=_between(5, 3600, "5s and 1h"),
    )


def _on_grid(value: float, origin: float, step: float) -> bool:
    steps = (value - origin) / step
    return abs(steps - round(steps)) <= _STEP_EPSILON


@dataclass(frozen=True, kw_only=True)
class LeverageRange:
    """Leverage the user may choose for an instrument (previewLeverage's min, max and step)."""

    # kw_only: the required max sits between defaulted keys so that they read min, max, step.
    __key_style__ = "camel"
    min: float = option(1.0, doc="Lowest leverage.")
    max: float = option(doc="Highest leverage.")
    step: float = option(1.0, doc="Leverage step from min.")
    default: float | None = option(None, doc="Leverage until the user sets one (default: max).")

    @property
    def initial(self) -> float:
        """The leverage in force before the user chooses one."""
        return self.max if self.default is None else self.default

    def validate(self) -> Iterator[tuple[str, str]]:
        """A non-empty range of positive leverages on a grid of ``step`` from ``min``."""
        values = (("min", self.min), ("max", self.max), ("step", self.step))
        for key, value in values:
            if not math.isfinite(value):
                yield key, "must be a finite number"
        if self.default is not None and not math.isfinite(self.default):
            yield "default", "must be a finite number"
        if not all(math.isfinite(v) for _, v in values):
            return
        if self.min <= 0:
            yield "min", "must be greater than 0"
        if self.step <= 0:
            yield "step", "must be greater than 0"
        if self.min > self.max:
            yield "min", "must not exceed max"
        elif self.step > 0 and not _on_grid(self.max, self.min, self.step):
            yield "max", f"must be min plus a whole number of steps ({self.step:g})"
        if self.default is not None and math.isfinite(self.default):
            if not self.min <= self.default <= self.max:
                yield "default", f"must be between min ({self.min:g}) and max ({self.max:g})"
            elif self.step > 0 and not _on_grid(self.default, self.min, self.step):
                yield "default", f"must be min plus a whole number of steps ({self.step:g})"
