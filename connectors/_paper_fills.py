"""The paper venue's fill rules: a working order, when and at what price it fills, its cost.

Pure bookkeeping, no threads and no locks: :mod:`connectors.paper` calls these functions while
holding its own lock, so every change of an order here is atomic from the outside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from gateway.plugins.records import ExecutionReport, OrderRequest, Quote, ReportStatus

DurationKind = Literal["day", "gtc", "gtt", "ioc", "fok"]

QTY_EPSILON = 1e-9
"""Relative tolerance when comparing quantities: sliced fills add up in binary floating point
(0.1 + 0.2 != 0.3), and an order must still end exactly filled."""


@dataclass(frozen=True)
class FillRules:
    """The options that decide fill prices, sizes and costs."""

    slippage_ticks: float = 0.0
    commission_per_unit: float = 0.0
    commission_percent: float = 0.0
    commission_min: float = 0.0
    max_fill_qty: float | None = None


@dataclass
class WorkingOrder:
    """An order the venue is working, with what has happened to it so far."""

    request: OrderRequest
    venue_id: str
    qty: float
    limit_price: float | None
    stop_price: float | None
    duration: DurationKind
    expires_at: float | None
    filled_qty: float
    triggered: bool = False
    """A stop (or stop-limit) whose trigger was reached; it stays triggered."""
    last_quote: Quote | None = None
    """The quote of the latest fill: one quote fills an order once (``max_fill_qty``)."""
    venue_qty: float = 0.0
    """Quantity filled by this venue (since placement or recovery), for ``avg_price``."""
    venue_notional: float = 0.0
    commission_due: bool = True
    """Whether the per-order minimum commission still applies (to the order's first fill)."""

    @property
    def id(self) -> str:
        """The client order id."""
        return self.request.client_order_id

    @property
    def remaining(self) -> float:
        """Quantity still to fill."""
        return max(0.0, self.qty - self.filled_qty)


def complete(filled: float, qty: float) -> bool:
    """Whether ``filled`` is all of ``qty`` (up to floating-point noise)."""
    return filled >= qty - QTY_EPSILON * max(1.0, abs(qty))


def _clean(price: float) -> float:
    # ask + 2 × 0.0001 is 1.1002000000000001 in binary; a venue prints prices, not noise.
    return round(price, 10)


def fill_price(order: WorkingOrder, quote: Quote, rules: FillRules, tick: float) -> float | None:
    """The price the order fills at on ``quote``, or None; reaching a stop marks it triggered."""
    buy = order.request.side == "buy"
    touch = quote.ask if buy else quote.bid  # what a trader crossing the spread gets
    if not math.isfinite(touch):
        return None  # a one-sided quote: nothing to trade against on this side
    kind = order.request.type
    if kind in ("stop", "stoplimit") and not order.triggered:
        stop = order.stop_price
        assert stop is not None  # checked when the order was accepted
        if not (touch >= stop if buy else touch <= stop):
            return None
        order.triggered = True
    if kind in ("limit", "stoplimit"):
        limit = order.limit_price
        assert limit is not None
        # The quote is at or better than the limit, so filling at it never fills worse.
        return touch if (touch <= limit if buy else touch >= limit) else None
    if kind == "stop" and order.request.guaranteed:
        return order.stop_price
    slip = rules.slippage_ticks * tick
    return _clean(touch + slip if buy else touch - slip)


def fill_qty(order: WorkingOrder, rules: FillRules) -> float:
    """How much of the order one quote fills."""
    if rules.max_fill_qty is None:
        return order.remaining
    return min(order.remaining, rules.max_fill_qty)


def commission(order: WorkingOrder, qty: float, price: float, rules: FillRules) -> float:
    """The commission of one fill; the order's first fill pays at least ``commission_min``."""
    cost = qty * rules.commission_per_unit + qty * price * rules.commission_percent / 100
    if order.commission_due:
        cost = max(cost, rules.commission_min)
    return cost


def apply_fill(
    order: WorkingOrder, quote: Quote | None, qty: float, price: float, rules: FillRules, now: float
) -> ExecutionReport:
    """Record a fill of ``qty`` at ``price`` and return its report."""
    cost = commission(order, qty, price, rules)
    order.commission_due = False
    order.last_quote = quote
    order.filled_qty += qty
    order.venue_qty += qty
    order.venue_notional += qty * price
    done = complete(order.filled_qty, order.qty)
    if done:
        order.filled_qty = order.qty  # no 0.30000000000000004 in the final report
    return report(
        order,
        "filled" if done else "partially_filled",
        now,
        last_qty=qty,
        last_price=price,
        commission=cost,
    )


def report(
    order: WorkingOrder,
    status: ReportStatus,
    now: float,
    *,
    text: str | None = None,
    last_qty: float | None = None,
    last_price: float | None = None,
    commission: float | None = None,
) -> ExecutionReport:
    """A report of the order's current state."""
    avg = order.venue_notional / order.venue_qty if order.venue_qty > 0 else None
    return ExecutionReport(
        client_order_id=order.id,
        status=status,
        time=now,
        filled_qty=order.filled_qty,
        avg_price=avg,
        last_qty=last_qty,
        last_price=last_price,
        text=text,
        venue_order_id=order.venue_id,
        commission=commission,
    )


def check_prices(order_type: str, limit: float | None, stop: float | None) -> str | None:
    """Why the prices cannot work an order of this type, or None (unused prices are ignored)."""
    needed = (
        ("limit", limit, order_type in ("limit", "stoplimit")),
        ("stop", stop, order_type in ("stop", "stoplimit")),
    )
    for name, value, used in needed:
        if used and (value is None or not math.isfinite(value) or value <= 0):
            return f"a {order_type} order needs a positive {name} price"
    return None


def check_qty(qty: float) -> str | None:
    """Why ``qty`` cannot be an order quantity, or None."""
    return None if math.isfinite(qty) and qty > 0 else f"quantity {qty:g} must be more than 0"
