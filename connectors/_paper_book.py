"""The paper venue's book: the working orders, the final ones, and the reports to deliver.

Not thread-safe by itself: :class:`connectors.paper.Paper` calls every method while holding its
lock, so each change of the book and the reports it produces are one atomic step.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from connectors._paper_fills import (
    DurationKind,
    FillRules,
    WorkingOrder,
    apply_fill,
    check_prices,
    check_qty,
    complete,
    fill_price,
    fill_qty,
    report,
)
from gateway.plugins.records import ExecutionReport, OrderRequest, Quote, Rejected

FINAL_MEMORY = 10_000
"""Final orders remembered, so that cancelling one says "already filled", not "unknown"."""

EXPIRED: Mapping[DurationKind, str] = MappingProxyType(
    {"day": "expired: the session closed", "gtt": "expired: the order's time ran out"}
)


class Book:
    """Working orders by id and by instrument, and each order's undelivered reports."""

    def __init__(self, rules: FillRules) -> None:
        self.rules = rules
        self.orders: dict[str, WorkingOrder] = {}
        self._by_instrument: dict[str, dict[str, WorkingOrder]] = {}
        self._final: OrderedDict[str, str] = OrderedDict()
        self._ids = itertools.count(1)
        self._outbox: dict[str, deque[ExecutionReport]] = {}
        self._delivering: set[str] = set()

    # -- orders --------------------------------------------------------------------------

    def known(self, client_order_id: str) -> bool:
        """Whether the id is working or recently final."""
        return client_order_id in self.orders or client_order_id in self._final

    def working(self, client_order_id: str) -> WorkingOrder:
        """The working order, or ``Rejected`` saying why there is none."""
        order = self.orders.get(client_order_id)
        if order is None:
            status = self._final.get(client_order_id)
            if status is not None:
                raise Rejected(f"order {client_order_id} is already {status}")
            raise Rejected(f"unknown order {client_order_id}")
        return order

    def has_orders(self, instrument: str) -> bool:
        """Whether any order of the instrument is working."""
        return bool(self._by_instrument.get(instrument))

    def add(
        self, request: OrderRequest, duration: DurationKind, expires_at: float | None
    ) -> WorkingOrder:
        """Put a new order on the book (its fills so far: ``request.filled_qty``)."""
        kind = request.type
        order = WorkingOrder(
            request=request,
            venue_id=f"P{next(self._ids)}",
            qty=request.qty,
            # Prices the type does not use are ignored, so they can never trigger anything.
            limit_price=request.limit_price if kind in ("limit", "stoplimit") else None,
            stop_price=request.stop_price if kind in ("stop", "stoplimit") else None,
            duration=duration,
            expires_at=expires_at,
            filled_qty=request.filled_qty,
            commission_due=request.filled_qty <= 0,
        )
        self.orders[order.id] = order
        self._by_instrument.setdefault(request.instrument, {})[order.id] = order
        return order

    def end(
        self,
        order: WorkingOrder,
        status: Literal["filled", "cancelled"],
        now: float,
        text: str | None = None,
    ) -> ExecutionReport:
        """Take the order off the book; returns its final report."""
        del self.orders[order.id]
        same = self._by_instrument[order.request.instrument]
        del same[order.id]
        if not same:
            del self._by_instrument[order.request.instrument]
        self._final[order.id] = status
        if len(self._final) > FINAL_MEMORY:
            self._final.popitem(last=False)
        return report(order, status, now, text=text)

    # -- fills and expiry ----------------------------------------------------------------

    def try_fill(
        self, order: WorkingOrder, quote: Quote, tick: float, now: float
    ) -> list[ExecutionReport]:
        """Fill the order on ``quote`` if it is marketable."""
        if quote == order.last_quote:
            return []  # this order already took that quote's liquidity
        price = fill_price(order, quote, self.rules, tick)
        if price is None:
            return []
        fill = apply_fill(order, quote, fill_qty(order, self.rules), price, self.rules, now)
        if fill.status == "filled":
            self.end(order, "filled", now)  # its report is the fill itself
        return [fill]

    def fill_on(
        self, instrument: str, quote: Quote, tick: float, now: float
    ) -> list[ExecutionReport]:
        """Fill the instrument's orders that ``quote`` makes marketable, oldest first."""
        reports: list[ExecutionReport] = []
        for order in list(self._by_instrument.get(instrument, {}).values()):
            reports += self.try_fill(order, quote, tick, now)
        return reports

    def at_once(
        self, order: WorkingOrder, quote: Quote | None, tick: float, now: float, is_open: bool
    ) -> list[ExecutionReport]:
        """Fill what the current quote allows; ioc and fok orders end here."""
        reports: list[ExecutionReport] = []
        whole = order.duration != "fok" or fill_qty(order, self.rules) >= order.remaining
        if quote is not None and whole:
            reports += self.try_fill(order, quote, tick, now)
        if order.duration in ("ioc", "fok") and order.id in self.orders:
            what = "the rest" if order.filled_qty > 0 else "the order"
            why = "the market is closed" if not is_open else "no matching price or quantity"
            if order.duration == "ioc":
                text = f"immediate or cancel: {what} could not be filled at once ({why})"
            else:
                text = f"fill or kill: the order could not be filled entirely at once ({why})"
            reports.append(self.end(order, "cancelled", now, text))
        return reports

    def expire(self, now: float) -> list[ExecutionReport]:
        """End the orders whose day or time has run out."""
        expired = [
            o for o in self.orders.values() if o.expires_at is not None and o.expires_at <= now
        ]
        return [self.end(o, "cancelled", now, EXPIRED[o.duration]) for o in expired]

    def unworkable(self, order: WorkingOrder, now: float) -> str | None:
        """Why a recovered order cannot be worked again ("filled": it already is), or None."""
        if complete(order.filled_qty, order.qty):
            return "filled"
        problem = check_qty(order.qty) or check_prices(
            order.request.type, order.limit_price, order.stop_price
        )
        if problem:
            return problem
        if order.duration in ("ioc", "fok"):
            return "an immediate order cannot be worked again after a restart"
        if order.expires_at is not None and order.expires_at <= now:
            return EXPIRED[order.duration]
        return None

    # -- the outbox ----------------------------------------------------------------------

    def post(self, reports: list[ExecutionReport]) -> list[str]:
        """Queue reports; returns the orders whose delivery the calling thread now owns.

        An order already owned by another thread (or by an outer frame of this one) is
        delivered by that owner, after the reports queued before: one order's reports are
        never delivered out of order.
        """
        claimed = []
        for r in reports:
            cid = r.client_order_id
            self._outbox.setdefault(cid, deque()).append(r)
            if cid not in self._delivering:
                self._delivering.add(cid)
                claimed.append(cid)
        return claimed

    def next_report(self, client_order_id: str) -> ExecutionReport | None:
        """The owned order's next report to deliver; None releases ownership."""
        queue = self._outbox.get(client_order_id)
        if queue:
            return queue.popleft()
        self._outbox.pop(client_order_id, None)
        self._delivering.discard(client_order_id)
        return None
