"""``paper``: a simulated execution venue that fills orders against the gateway's own quotes.

The venue works the single orders the core hands it (the core owns brackets, OCO, positions and
P&L) and reports fills, cancels and expiries through :class:`~gateway.plugins.roles.
ExecutionSink`. Prices, sessions and time come from the gateway's :class:`~gateway.plugins.roles.
MarketView`. Orders marketable when placed or modified fill at once, on the caller's thread;
resting orders fill on a worker thread that the market-data feed hands its quotes to.

Locking: ``_lock`` guards the book and the outbox. Nothing is called out while holding it —
neither the sink (whose handler calls back into ``place``/``modify``/``cancel``) nor the market
view (whose own locks may be held by a thread that waits for ours). Reports are queued per order
under the lock and delivered after it by the one thread that claimed that order's queue, so an
order's reports arrive in the order they happened. Rules and guarantees: docs/paper.md.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal

from connectors._paper_book import Book
from connectors._paper_fills import DurationKind, FillRules, check_prices, check_qty, complete
from gateway.config._convert import option
from gateway.plugins.records import OrderChange, OrderRequest, Quote, Rejected
from gateway.plugins.roles import ConnectorContext, ExecutionSink, MarketView, Role

__all__ = ["DEFAULT_DURATIONS", "Paper", "PaperOptions"]

log = logging.getLogger("gateway.connectors.paper")

WAKE_INTERVAL = 0.5
"""Seconds the worker waits for a quote before it checks expiries anyway (so at least once a
second, whatever the feed does)."""

DEFAULT_DURATIONS: Mapping[str, DurationKind] = MappingProxyType(
    {"DAY": "day", "GTC": "gtc", "GTT": "gtt", "IOC": "ioc", "FOK": "fok"}
)


def _non_negative(value: float) -> str | None:
    return None if math.isfinite(value) and value >= 0 else "must be a number of at least 0"


def _positive_or_none(value: float | None) -> str | None:
    if value is None or (math.isfinite(value) and value > 0):
        return None
    return "must be a number greater than 0 (or left out: fill completely)"


def _duration_ids(value: Mapping[str, DurationKind]) -> str | None:
    return "duration ids must not be empty" if any(not k for k in value) else None


@dataclass(frozen=True)
class PaperOptions:
    """Options of the paper venue."""

    outside_session: Literal["queue", "reject"] = option(
        "queue",
        doc="Orders placed while the market is closed: queue them until it opens, or reject them.",
    )
    slippage_ticks: float = option(
        0.0,
        doc="Market and stop fills are this many minimum ticks worse than the quote.",
        check=_non_negative,
    )
    commission_per_unit: float = option(
        0.0, doc="Commission per unit filled, in the quote currency.", check=_non_negative
    )
    commission_percent: float = option(
        0.0, doc="Commission in percent of each fill's notional value.", check=_non_negative
    )
    commission_min: float = option(
        0.0, doc="Minimum commission of an order, charged on its first fill.", check=_non_negative
    )
    max_fill_qty: float | None = option(
        None,
        doc="The most one quote fills of an order (partial fills); default: all of it.",
        check=_positive_or_none,
    )
    durations: Mapping[str, DurationKind] = option(
        doc="Duration ids (an order's durationType) and how they behave: "
        "day, gtc, gtt, ioc or fok; other ids behave as gtc.",
        factory=lambda: DEFAULT_DURATIONS,
        check=_duration_ids,
    )

    @property
    def rules(self) -> FillRules:
        """The options that decide fill prices, sizes and costs."""
        return FillRules(
            slippage_ticks=self.slippage_ticks,
            commission_per_unit=self.commission_per_unit,
            commission_percent=self.commission_percent,
            commission_min=self.commission_min,
            max_fill_qty=self.max_fill_qty,
        )


class Paper:
    """A simulated venue: fills orders against live quotes, with sessions and durations."""

    kind: ClassVar[str] = "paper"
    roles: ClassVar[frozenset[Role]] = frozenset({Role.EXECUTION})
    Options: ClassVar[type] = PaperOptions

    def __init__(self, options: PaperOptions, context: ConnectorContext) -> None:
        """Remember the options; the worker starts in :meth:`start`."""
        self.options = options
        self.name = context.name
        self._market_view = context.market
        self._rules = options.rules
        self._lock = threading.Lock()  # the book and the outbox
        self._life = threading.Lock()  # start and stop
        self._handoff = threading.Lock()  # quotes from the feed thread to the worker
        self._latest: dict[str, Quote] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()  # one per run: a late old thread never revives
        self._thread: threading.Thread | None = None
        self._subscribed = False
        self._sinks: tuple[ExecutionSink, ...] = ()
        self._book = Book(options.rules)
        self._busy = False

    @property
    def market(self) -> MarketView:
        """The gateway's quotes, sessions and clock."""
        if self._market_view is None:
            raise RuntimeError(
                f"the paper venue {self.name!r} needs market data: "
                "configure a market-data connector in market.feeds"
            )
        return self._market_view

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe to quotes (once) and start the worker (no-op if running)."""
        market = self.market
        with self._life:
            if self._thread is not None and self._thread.is_alive():
                return
            if not self._subscribed:
                market.on_quote(self._on_quote)
                self._subscribed = True
            self._stopping = stopping = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(stopping,), name=f"paper:{self.name}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the worker and wait for it; working orders are kept for a later start."""
        with self._life:
            self._stopping.set()
            self._wake.set()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        """Whether the worker thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def health(self) -> tuple[bool, str]:
        """For ``/readyz``: the venue works orders while its thread runs."""
        return (True, "working orders") if self.running else (False, "stopped")

    def subscribe(self, sink: ExecutionSink) -> None:
        """Send every execution report from now on to ``sink`` too."""
        with self._lock:
            self._sinks = (*self._sinks, sink)

    def working(self) -> list[str]:
        """The client order ids being worked, in placement order."""
        with self._lock:
            return list(self._book.orders)

    # -- the trading API -----------------------------------------------------------------

    def place(self, order: OrderRequest) -> str:
        """Accept an order and return its venue id; a marketable one fills before returning."""
        market, instrument = self.market, order.instrument
        now = market.now()
        is_open = market.is_open(instrument, now)
        if not is_open and self.options.outside_session == "reject":
            raise Rejected(f"the market for {instrument} is closed")
        problem = check_qty(order.qty) or check_prices(
            order.type, order.limit_price, order.stop_price
        )
        if problem:
            raise Rejected(problem)
        if complete(order.filled_qty, order.qty):
            raise Rejected(f"quantity {order.qty:g} is already filled")
        duration = self._duration(order.duration_type)
        expires_at = self._expiry(duration, instrument, order.duration_datetime, now)
        if expires_at is not None and expires_at <= now:
            raise Rejected("the order's expiration time has already passed")
        quote = market.quote(instrument) if is_open else None
        tick = self._tick(instrument)
        with self._lock:
            if self._book.known(order.client_order_id):
                raise Rejected(f"order {order.client_order_id} already exists")
            working = self._book.add(order, duration, expires_at)
            claimed = self._book.post(self._book.at_once(working, quote, tick, now, is_open))
            resting = working.id in self._book.orders
        self._deliver(claimed)
        if resting and is_open:
            self._nudge(instrument)
        return working.venue_id

    def modify(self, client_order_id: str, change: OrderChange) -> None:
        """Change quantity, prices or duration of a working order; may fill it at once."""
        if change.qty is not None and (problem := check_qty(change.qty)):
            raise Rejected(problem)
        with self._lock:
            instrument = self._book.working(client_order_id).request.instrument
        market = self.market  # asked outside the lock (see the module docstring)
        now = market.now()
        is_open = market.is_open(instrument, now)
        quote = market.quote(instrument) if is_open else None
        tick = self._tick(instrument)
        durations_change = change.duration_type is not None or change.duration_datetime is not None
        day_close = market.session_close(instrument, now) if durations_change else None
        with self._lock:
            order = self._book.working(client_order_id)  # it may have ended meanwhile
            qty = order.qty if change.qty is None else change.qty
            if qty <= order.filled_qty or complete(order.filled_qty, qty):
                raise Rejected(
                    f"the new quantity {qty:g} must be more than the {order.filled_qty:g} "
                    "already filled"
                )
            limit = order.limit_price if change.limit_price is None else change.limit_price
            stop = order.stop_price if change.stop_price is None else change.stop_price
            if problem := check_prices(order.request.type, limit, stop):
                raise Rejected(problem)
            request, duration, expires_at = order.request, order.duration, order.expires_at
            if durations_change:
                if change.duration_type is not None:
                    request = dataclasses.replace(request, duration_type=change.duration_type)
                if change.duration_datetime is not None:
                    request = dataclasses.replace(
                        request, duration_datetime=change.duration_datetime
                    )
                duration = self._duration(request.duration_type)
                if duration in ("ioc", "fok"):
                    raise Rejected(f"a working order cannot become {duration.upper()}")
                expires_at = None
                if duration == "day":
                    expires_at = day_close
                elif duration == "gtt" and request.duration_datetime is not None:
                    expires_at = float(request.duration_datetime)
                if expires_at is not None and expires_at <= now:
                    raise Rejected("the order's new expiration time has already passed")
            order.request, order.qty = request, qty
            order.duration, order.expires_at = duration, expires_at
            if order.request.type in ("limit", "stoplimit"):
                order.limit_price = limit
            if order.request.type in ("stop", "stoplimit"):
                order.stop_price = stop
            claimed = self._book.post(self._book.at_once(order, quote, tick, now, is_open))
            resting = order.id in self._book.orders
        self._deliver(claimed)
        if resting and is_open:
            self._nudge(instrument)

    def cancel(self, client_order_id: str) -> None:
        """Cancel a working order, reported as ``cancelled`` before returning."""
        now = self.market.now()
        with self._lock:
            order = self._book.working(client_order_id)
            ended = self._book.end(order, "cancelled", now, "cancelled on request")
            claimed = self._book.post([ended])
        self._deliver(claimed)

    def recover(self, orders: Sequence[OrderRequest]) -> None:
        """Work orders again after a restart; those marketable now fill on the worker thread."""
        market = self.market
        now = market.now()
        prepared: list[tuple[OrderRequest, DurationKind, float | None]] = []
        for request in orders:
            duration = self._duration(request.duration_type)
            when = request.duration_datetime
            prepared.append(
                (request, duration, self._expiry(duration, request.instrument, when, now))
            )
        claimed: list[str] = []
        instruments: set[str] = set()
        with self._lock:
            for request, duration, expires_at in prepared:
                if request.client_order_id in self._book.orders:
                    log.warning(
                        "paper %r: order %s is already working", self.name, request.client_order_id
                    )
                    continue
                working = self._book.add(request, duration, expires_at)
                reason = self._book.unworkable(working, now)
                if reason == "filled":
                    working.filled_qty = working.qty
                    claimed += self._book.post([self._book.end(working, "filled", now)])
                elif reason is not None:
                    claimed += self._book.post([self._book.end(working, "cancelled", now, reason)])
                else:
                    instruments.add(request.instrument)
        self._deliver(claimed)
        for instrument in instruments:
            if market.is_open(instrument, now):
                self._nudge(instrument)

    def check_expiry(self) -> int:
        """Cancel the orders whose day or time has run out (the worker calls it too)."""
        now = self.market.now()
        with self._lock:
            expired = self._book.expire(now)
            claimed = self._book.post(expired)
        self._deliver(claimed)
        return len(expired)

    # -- the worker ----------------------------------------------------------------------

    def _on_quote(self, instrument: str, quote: Quote) -> None:
        # The feed thread's call: keep only the newest quote per instrument and return.
        with self._handoff:
            self._latest[instrument] = quote
        self._wake.set()

    def _nudge(self, instrument: str) -> None:
        """Have the worker look at the current quote of a resting order's instrument.

        A quote that arrived between reading the quote and adding the order to the book was
        seen by the worker without the order; reading again now closes that gap.
        """
        quote = self.market.quote(instrument)
        if quote is not None:
            with self._handoff:
                self._latest.setdefault(instrument, quote)  # never replace a newer one
            self._wake.set()

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            self._wake.wait(WAKE_INTERVAL)
            if stopping.is_set():
                return
            self._busy = True  # before clearing the wake-up: idle() never sees a gap
            self._wake.clear()
            try:
                self.check_expiry()  # before fills: an expired order must not fill late
                with self._handoff:
                    latest, self._latest = self._latest, {}
                for instrument, quote in latest.items():
                    self._fill_on(instrument, quote)
            except Exception:  # a bug here must not end the venue silently
                log.exception("paper %r: the worker failed; it goes on", self.name)
            finally:
                self._busy = False

    def idle(self) -> bool:
        """Whether every quote handed over so far has been worked (for tests and benches)."""
        with self._handoff:
            pending = bool(self._latest)
        return not (pending or self._wake.is_set() or self._busy)

    def _fill_on(self, instrument: str, quote: Quote) -> None:
        with self._lock:
            if not self._book.has_orders(instrument):
                return
        tick, now = self._tick(instrument), self.market.now()
        with self._lock:
            claimed = self._book.post(self._book.fill_on(instrument, quote, tick, now))
        self._deliver(claimed)

    # -- outside the lock ----------------------------------------------------------------

    def _deliver(self, claimed: list[str]) -> None:
        """Hand the claimed orders' reports to the sinks, in order, without holding the lock.

        Reports another thread queues for a claimed order meanwhile (a sink's re-entrant
        ``cancel``, a worker fill) are delivered here too, after the ones before them.
        """
        for cid in claimed:
            while True:
                with self._lock:
                    r = self._book.next_report(cid)
                if r is None:
                    break
                for sink in self._sinks:
                    try:
                        sink.report(r)
                    except Exception:  # one failing sink must not starve the others
                        log.exception("paper %r: sink %r failed on %s", self.name, sink, r)

    def _duration(self, duration_type: str | None) -> DurationKind:
        if duration_type is None:
            return "gtc"
        return self.options.durations.get(duration_type, "gtc")

    def _expiry(
        self, duration: DurationKind, instrument: str, when: int | None, now: float
    ) -> float | None:
        if duration == "day":
            return self.market.session_close(instrument, now)
        if duration == "gtt" and when is not None:
            return float(when)
        return None

    def _tick(self, instrument: str) -> float:
        return self.market.min_tick(instrument) if self._rules.slippage_ticks else 0.0
