"""The paper venue against its contract: fill rules, costs, durations, sessions, threads, YAML."""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from connectors.paper import DEFAULT_DURATIONS, Paper, PaperOptions
from gateway.config import ConfigError, load_config
from gateway.plugins.records import (
    ExecutionReport,
    OrderChange,
    OrderRequest,
    OrderType,
    Quote,
    Rejected,
    Side,
)
from gateway.plugins.registry import Registry, check_connector_class
from gateway.plugins.roles import ConnectorContext, Execution

T0 = 1_800_000_000.0
CLOSE = T0 + 3600
WAIT = 3.0  # seconds a test waits for the worker at most; normally milliseconds


class Market:
    """A MarketView the test drives: settable quotes, session, clock and tick."""

    def __init__(self) -> None:
        self.quotes: dict[str, Quote] = {}
        self.handlers: list[Callable[[str, Quote], None]] = []
        self.open = True
        self.clock = T0
        self.close: float | None = CLOSE
        self.tick = 0.25

    def on_quote(self, handler: Callable[[str, Quote], None]) -> None:
        self.handlers.append(handler)

    def quote(self, instrument: str) -> Quote | None:
        return self.quotes.get(instrument)

    def is_open(self, instrument: str, ts: float) -> bool:
        return self.open

    def session_close(self, instrument: str, ts: float) -> float | None:
        return self.close

    def min_tick(self, instrument: str) -> float:
        return self.tick

    def now(self) -> float:
        return self.clock

    def push(self, bid: float, ask: float, instrument: str = "EURUSD") -> None:
        """A new quote, as the feed thread would publish it."""
        quote = Quote(instrument, self.clock, bid, 1e6, ask, 1e6)
        self.quotes[instrument] = quote
        for handler in self.handlers:
            handler(instrument, quote)


class Sink:
    """Records reports; tests wait on it for the worker's."""

    def __init__(self) -> None:
        self.reports: list[ExecutionReport] = []
        self.cond = threading.Condition()

    def report(self, report: ExecutionReport) -> None:
        with self.cond:
            self.reports.append(report)
            self.cond.notify_all()

    def of(self, cid: str) -> list[ExecutionReport]:
        with self.cond:
            return [r for r in self.reports if r.client_order_id == cid]

    def wait_for(self, cid: str, count: int) -> list[ExecutionReport]:
        """The order's reports once there are ``count`` of them."""
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.of(cid)) >= count, WAIT)
        assert ok, f"{cid}: {self.of(cid)}"
        return self.of(cid)


@dataclass
class Rig:
    venue: Paper
    market: Market
    sink: Sink
    probes: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def settle(self) -> None:
        """Wait until the worker has handled every quote pushed so far.

        A probe order on its own instrument fills on the next probe quote; the worker takes
        quotes in the order they were pushed, so once the probe fills, all before it are done.
        """
        cid = f"probe{next(self.probes)}"
        self.market.quotes.pop("PROBE", None)
        self.venue.place(order(cid, qty=1, instrument="PROBE"))
        self.market.push(1.0, 1.0, "PROBE")
        self.sink.wait_for(cid, 1)


Make = Callable[..., Rig]


@pytest.fixture
def make() -> Iterator[Make]:
    rigs: list[Rig] = []

    def factory(*, start: bool = True, quote: bool = True, **options: Any) -> Rig:
        market = Market()
        if quote:
            market.push(100.0, 100.5)
        context = ConnectorContext("paper", Path("."), {}, market=market)
        venue = Paper(PaperOptions(**options), context)
        sink = Sink()
        venue.subscribe(sink)
        if start:
            venue.start()
        rigs.append(Rig(venue, market, sink))
        return rigs[-1]

    yield factory
    for rig in rigs:
        rig.venue.stop()


def order(
    cid: str = "o1",
    side: Side = "buy",
    type: OrderType = "market",  # OrderRequest's own field name
    qty: float = 10,
    **fields: Any,
) -> OrderRequest:
    fields.setdefault("instrument", "EURUSD")
    return OrderRequest(cid, "A1", side=side, type=type, qty=qty, **fields)


def refused(call: Callable[[], object]) -> str:
    """The message of the ``Rejected`` that ``call`` raises."""
    with pytest.raises(Rejected) as exc:
        call()
    return exc.value.message


def fill(
    cid: str,
    filled: float,
    avg: float,
    last_qty: float,
    last_price: float,
    *,
    status: str = "filled",
    venue_id: str = "P1",
    commission: float = 0.0,
    time: float = T0,
) -> ExecutionReport:
    return ExecutionReport(
        cid,
        status,  # type: ignore[arg-type]
        time,
        filled_qty=filled,
        avg_price=avg,
        last_qty=last_qty,
        last_price=last_price,
        venue_order_id=venue_id,
        commission=commission,
    )


def ended(
    cid: str,
    text: str,
    *,
    filled: float = 0.0,
    avg: float | None = None,
    venue_id: str = "P1",
    time: float = T0,
) -> ExecutionReport:
    return ExecutionReport(
        cid, "cancelled", time, filled_qty=filled, avg_price=avg, text=text, venue_order_id=venue_id
    )


# -- fill rules ---------------------------------------------------------------------------------


def test_a_market_buy_fills_at_the_ask_before_place_returns(make: Make) -> None:
    rig = make()
    assert rig.venue.place(order("o1")) == "P1"
    assert rig.sink.reports == [fill("o1", 10, 100.5, 10, 100.5)]
    assert rig.venue.working() == []


def test_a_market_sell_fills_at_the_bid(make: Make) -> None:
    rig = make(start=False)  # synchronous fills need no worker
    assert rig.venue.place(order("o1", "sell", qty=3)) == "P1"
    assert rig.venue.place(order("o2", "sell", qty=2)) == "P2"
    assert rig.sink.reports == [
        fill("o1", 3, 100.0, 3, 100.0),
        fill("o2", 2, 100.0, 2, 100.0, venue_id="P2"),
    ]


def test_without_a_quote_a_market_order_rests_until_the_first_one(make: Make) -> None:
    rig = make(quote=False)
    rig.venue.place(order("o1"))
    assert rig.sink.reports == []
    assert rig.venue.working() == ["o1"]
    rig.market.clock = T0 + 5
    rig.market.push(99.75, 100.25)
    assert rig.sink.wait_for("o1", 1) == [fill("o1", 10, 100.25, 10, 100.25, time=T0 + 5)]


@pytest.mark.parametrize(
    ("side", "limit", "quotes", "price"),
    [
        ("buy", 100.25, [(99.9, 100.5), (99.5, 100.0)], 100.0),  # fills at the better ask
        ("sell", 100.25, [(100.0, 100.5), (100.5, 101.0)], 100.5),  # ... and the better bid
    ],
)
def test_a_limit_order_fills_when_marketable_at_the_quote(
    make: Make, side: Side, limit: float, quotes: list[tuple[float, float]], price: float
) -> None:
    rig = make()
    rig.venue.place(order("o1", side, "limit", limit_price=limit))
    rig.market.push(*quotes[0])
    rig.settle()
    assert rig.sink.of("o1") == []
    rig.market.push(*quotes[1])
    assert rig.sink.wait_for("o1", 1) == [fill("o1", 10, price, 10, price)]


def test_a_limit_order_marketable_when_placed_fills_at_once(make: Make) -> None:
    rig = make(start=False)
    rig.venue.place(order("o1", "buy", "limit", limit_price=101.0))
    assert rig.sink.reports == [fill("o1", 10, 100.5, 10, 100.5)]


@pytest.mark.parametrize(
    ("side", "stop", "quotes", "price"),
    [
        ("buy", 101.0, [(100.25, 100.75), (100.75, 101.25)], 101.25),
        ("sell", 99.5, [(99.75, 100.25), (99.25, 99.75)], 99.25),
    ],
)
def test_a_stop_order_triggers_and_fills_at_the_quote(
    make: Make, side: Side, stop: float, quotes: list[tuple[float, float]], price: float
) -> None:
    rig = make()
    rig.venue.place(order("o1", side, "stop", stop_price=stop))
    rig.market.push(*quotes[0])
    rig.settle()
    assert rig.sink.of("o1") == []
    rig.market.push(*quotes[1])
    assert rig.sink.wait_for("o1", 1) == [fill("o1", 10, price, 10, price)]


def test_a_stop_limit_order_stays_triggered_and_then_works_as_a_limit(make: Make) -> None:
    rig = make()
    rig.venue.place(order("o1", "buy", "stoplimit", stop_price=101.0, limit_price=101.25))
    rig.market.push(101.0, 101.5)  # triggers, but the ask is above the limit
    rig.settle()
    assert rig.sink.of("o1") == []
    rig.market.push(100.25, 100.75)  # below the stop again: the triggered order still fills
    assert rig.sink.wait_for("o1", 1) == [fill("o1", 10, 100.75, 10, 100.75)]


def test_a_guaranteed_stop_fills_at_its_stop_price_through_a_gap(make: Make) -> None:
    rig = make(slippage_ticks=2)
    rig.venue.place(order("o1", "sell", "stop", stop_price=99.0, guaranteed=True))
    rig.market.push(97.5, 98.0)  # gapped far below the stop
    assert rig.sink.wait_for("o1", 1) == [fill("o1", 10, 99.0, 10, 99.0)]


def test_slippage_moves_market_and_stop_fills_against_the_trader_but_not_limits(
    make: Make,
) -> None:
    rig = make(slippage_ticks=2)  # 2 × 0.25
    rig.venue.place(order("b", "buy"))
    rig.venue.place(order("s", "sell"))
    rig.venue.place(order("l", "buy", "limit", limit_price=100.5))
    rig.venue.place(order("st", "buy", "stop", stop_price=100.25))
    assert rig.sink.reports == [
        fill("b", 10, 101.0, 10, 101.0),
        fill("s", 10, 99.5, 10, 99.5, venue_id="P2"),
        fill("l", 10, 100.5, 10, 100.5, venue_id="P3"),
        fill("st", 10, 101.0, 10, 101.0, venue_id="P4"),
    ]


def test_commission_per_unit_and_percent_of_notional(make: Make) -> None:
    rig = make(start=False, commission_per_unit=0.5, commission_percent=0.25)
    rig.venue.place(order("o1", "sell", qty=10))  # 10 × 0.5 + 10 × 100 × 0.25 %
    assert rig.sink.reports == [fill("o1", 10, 100.0, 10, 100.0, commission=7.5)]


def test_partial_fills_count_cumulatively_and_the_minimum_is_paid_once(make: Make) -> None:
    rig = make(max_fill_qty=4, commission_per_unit=0.125, commission_min=3)
    rig.venue.place(order("o1", qty=10))
    assert rig.sink.reports == [
        fill("o1", 4, 100.5, 4, 100.5, status="partially_filled", commission=3.0)
    ]
    rig.settle()  # the quote it filled on is not taken twice
    assert len(rig.sink.of("o1")) == 1
    rig.market.push(100.5, 101.0)
    rig.sink.wait_for("o1", 2)
    rig.market.push(101.0, 101.5)
    assert rig.sink.wait_for("o1", 3) == [
        fill("o1", 4, 100.5, 4, 100.5, status="partially_filled", commission=3.0),
        fill("o1", 8, 100.75, 4, 101.0, status="partially_filled", commission=0.5),
        fill("o1", 10, 100.9, 2, 101.5, commission=0.25),
    ]


# -- durations ----------------------------------------------------------------------------------


def test_a_day_order_expires_at_the_session_close(make: Make) -> None:
    rig = make(start=False)
    rig.venue.place(order("o1", "buy", "limit", limit_price=99.0, duration_type="DAY"))
    rig.market.clock = CLOSE - 1
    assert rig.venue.check_expiry() == 0
    rig.market.clock = CLOSE
    assert rig.venue.check_expiry() == 1
    assert rig.sink.reports == [ended("o1", "expired: the session closed", time=CLOSE)]
    assert refused(lambda: rig.venue.cancel("o1")) == "order o1 is already cancelled"


def test_the_worker_expires_gtt_orders_by_itself(make: Make) -> None:
    rig = make()
    gtt: dict[str, Any] = {"duration_type": "GTT", "duration_datetime": int(T0) + 30}
    rig.venue.place(order("o1", "buy", "limit", limit_price=99.0, **gtt))
    rig.settle()  # the worker now waits for a quote that does not come
    rig.market.clock = T0 + 30
    assert rig.sink.wait_for("o1", 1) == [
        ended("o1", "expired: the order's time ran out", time=T0 + 30)
    ]


def test_gtc_gtt_without_time_and_unknown_ids_never_expire(make: Make) -> None:
    rig = make(start=False, durations={"GTC": "gtc", "GTT": "gtt", "GFD": "day"})
    for cid, dtype in [("a", "GTC"), ("b", "GTT"), ("c", "WEEK"), ("d", None), ("e", "DAY")]:
        rig.venue.place(order(cid, "buy", "limit", limit_price=99.0, duration_type=dtype))
    rig.venue.place(order("f", "buy", "limit", limit_price=99.0, duration_type="GFD"))
    rig.market.clock = T0 + 86400 * 365
    assert rig.venue.check_expiry() == 1
    assert rig.sink.reports == [
        ended("f", "expired: the session closed", venue_id="P6", time=T0 + 86400 * 365)
    ]
    assert rig.venue.working() == ["a", "b", "c", "d", "e"]  # DAY is not in this mapping


def test_ioc_fills_what_it_can_at_once_and_cancels_the_rest(make: Make) -> None:
    rig = make(max_fill_qty=4)
    rig.venue.place(order("o1", duration_type="IOC"))
    rig.venue.place(order("o2", "buy", "limit", limit_price=99.0, duration_type="IOC"))
    assert rig.sink.reports == [
        fill("o1", 4, 100.5, 4, 100.5, status="partially_filled"),
        ended(
            "o1",
            "immediate or cancel: the rest could not be filled at once "
            "(no matching price or quantity)",
            filled=4,
            avg=100.5,
        ),
        ended(
            "o2",
            "immediate or cancel: the order could not be filled at once "
            "(no matching price or quantity)",
            venue_id="P2",
        ),
    ]
    assert rig.venue.working() == []


def test_fok_fills_entirely_at_once_or_not_at_all(make: Make) -> None:
    rig = make(max_fill_qty=4)
    rig.venue.place(order("o1", qty=4, duration_type="FOK"))
    rig.venue.place(order("o2", qty=5, duration_type="FOK"))
    assert rig.sink.reports == [
        fill("o1", 4, 100.5, 4, 100.5),
        ended(
            "o2",
            "fill or kill: the order could not be filled entirely at once "
            "(no matching price or quantity)",
            venue_id="P2",
        ),
    ]


# -- sessions -----------------------------------------------------------------------------------


def test_outside_the_session_reject_refuses_orders(make: Make) -> None:
    rig = make(outside_session="reject")
    rig.market.open = False
    assert refused(lambda: rig.venue.place(order("o1"))) == "the market for EURUSD is closed"
    assert rig.sink.reports == [] and rig.venue.working() == []


def test_outside_the_session_queue_works_orders_once_quotes_arrive(make: Make) -> None:
    rig = make()
    rig.market.open = False  # the last session's quote must not fill it
    rig.venue.place(order("o1"))
    rig.venue.place(order("o2", duration_type="IOC"))
    assert rig.sink.reports == [
        ended(
            "o2",
            "immediate or cancel: the order could not be filled at once (the market is closed)",
            venue_id="P2",
        )
    ]
    rig.market.open, rig.market.clock = True, T0 + 60
    rig.market.push(100.25, 100.75)
    assert rig.sink.wait_for("o1", 1) == [fill("o1", 10, 100.75, 10, 100.75, time=T0 + 60)]


# -- modify, cancel, recover --------------------------------------------------------------------


def test_a_modify_that_makes_the_order_marketable_fills_before_returning(make: Make) -> None:
    rig = make()
    rig.venue.place(order("o1", "buy", "limit", limit_price=99.0))
    rig.venue.modify("o1", OrderChange(qty=12))
    assert rig.sink.reports == []  # a modification itself is not reported
    rig.venue.modify("o1", OrderChange(limit_price=100.5))
    assert rig.sink.reports == [fill("o1", 12, 100.5, 12, 100.5)]
    assert refused(lambda: rig.venue.modify("o1", OrderChange(qty=20))) == (
        "order o1 is already filled"
    )


def test_modify_refuses_a_qty_not_above_the_filled_one_and_unknown_orders(make: Make) -> None:
    rig = make(max_fill_qty=4)
    rig.venue.place(order("o1", qty=10))  # 4 filled at once
    for qty in (4, 3):
        assert refused(partial(rig.venue.modify, "o1", OrderChange(qty=qty))) == (
            f"the new quantity {qty} must be more than the 4 already filled"
        )
    assert refused(lambda: rig.venue.modify("nope", OrderChange(qty=5))) == "unknown order nope"
    past = OrderChange(duration_type="GTT", duration_datetime=int(T0))
    assert refused(lambda: rig.venue.modify("o1", past)) == (
        "the order's new expiration time has already passed"
    )
    assert refused(lambda: rig.venue.modify("o1", OrderChange(duration_type="IOC"))) == (
        "a working order cannot become IOC"
    )
    rig.venue.modify("o1", OrderChange(qty=6))
    rig.market.push(100.5, 101.0)
    assert rig.sink.wait_for("o1", 2)[1] == fill("o1", 6, 100.66666666666667, 2, 101.0)


def test_modify_changes_the_duration(make: Make) -> None:
    rig = make(start=False)
    rig.venue.place(order("o1", "buy", "limit", limit_price=99.0))
    rig.venue.modify("o1", OrderChange(duration_type="GTT", duration_datetime=int(T0) + 10))
    rig.market.clock = T0 + 10
    assert rig.venue.check_expiry() == 1
    assert rig.sink.reports == [ended("o1", "expired: the order's time ran out", time=T0 + 10)]


def test_modify_moves_a_stop_onto_the_market_and_an_order_to_day(make: Make) -> None:
    rig = make(start=False)
    rig.venue.place(order("o1", "buy", "stop", stop_price=102.0))
    rig.venue.place(order("o2", "buy", "limit", limit_price=99.0))
    assert refused(lambda: rig.venue.modify("o1", OrderChange(qty=0))) == (
        "quantity 0 must be more than 0"
    )
    assert refused(lambda: rig.venue.modify("o2", OrderChange(limit_price=-1.0))) == (
        "a limit order needs a positive limit price"
    )
    rig.venue.modify("o2", OrderChange(duration_type="DAY"))
    rig.venue.modify("o1", OrderChange(stop_price=100.5))
    assert rig.sink.reports == [fill("o1", 10, 100.5, 10, 100.5)]
    rig.market.clock = CLOSE
    assert rig.venue.check_expiry() == 1
    assert rig.sink.of("o2") == [
        ended("o2", "expired: the session closed", venue_id="P2", time=CLOSE)
    ]


def test_a_one_sided_quote_fills_only_the_side_it_has(make: Make) -> None:
    rig = make(quote=False)
    rig.market.push(100.0, math.nan)
    rig.venue.place(order("b", "buy"))
    rig.venue.place(order("s", "sell"))
    assert rig.sink.reports == [fill("s", 10, 100.0, 10, 100.0, venue_id="P2")]
    rig.market.push(100.0, 100.5)
    assert rig.sink.wait_for("b", 1) == [fill("b", 10, 100.5, 10, 100.5)]


def test_cancel_is_reported_before_it_returns_and_only_once(make: Make) -> None:
    rig = make(max_fill_qty=4)
    rig.venue.place(order("o1", qty=10))
    rig.venue.cancel("o1")
    assert rig.sink.reports == [
        fill("o1", 4, 100.5, 4, 100.5, status="partially_filled"),
        ended("o1", "cancelled on request", filled=4, avg=100.5),
    ]
    assert refused(lambda: rig.venue.cancel("o1")) == "order o1 is already cancelled"
    assert refused(lambda: rig.venue.cancel("o9")) == "unknown order o9"
    rig.venue.place(order("o2", qty=1))
    assert refused(lambda: rig.venue.cancel("o2")) == "order o2 is already filled"


def test_recover_continues_the_cumulative_filled_qty(make: Make) -> None:
    rig = make(commission_min=5)
    expired: dict[str, Any] = {"duration_type": "GTT", "duration_datetime": int(T0) - 1}
    rig.venue.recover(
        [
            order("o1", "buy", "limit", qty=10, limit_price=101.0, filled_qty=6),
            order("o2", "buy", "limit", limit_price=99.0, **expired),
            order("o3", qty=5, filled_qty=5),
        ]
    )
    # Final at once on the caller's thread; the marketable one on the worker thread.
    assert rig.sink.of("o2") == [ended("o2", "expired: the order's time ran out", venue_id="P2")]
    assert rig.sink.of("o3") == [
        ExecutionReport("o3", "filled", T0, filled_qty=5, venue_order_id="P3")
    ]
    # The minimum commission was paid by the fill before the restart.
    assert rig.sink.wait_for("o1", 1) == [fill("o1", 10, 100.5, 4, 100.5)]


def test_recover_ends_what_cannot_be_worked_again(make: Make) -> None:
    rig = make(start=False)
    rig.venue.place(order("o1", "buy", "limit", limit_price=99.0))
    rig.venue.recover(
        [
            order("o1", "buy", "limit", limit_price=98.0),  # already working: kept as it is
            order("o2", duration_type="IOC"),
            order("o3", type="limit"),
        ]
    )
    assert rig.sink.reports == [
        ended("o2", "an immediate order cannot be worked again after a restart", venue_id="P2"),
        ended("o3", "a limit order needs a positive limit price", venue_id="P3"),
    ]
    assert rig.venue.working() == ["o1"]


def test_invalid_orders_are_rejected(make: Make) -> None:
    rig = make(start=False)
    past: dict[str, Any] = {"duration_type": "GTT", "duration_datetime": 1}
    cases = [
        (order("a", type="limit"), "a limit order needs a positive limit price"),
        (
            order("b", type="stoplimit", stop_price=9),
            "a stoplimit order needs a positive limit price",
        ),
        (order("c", type="stop", stop_price=-1.0), "a stop order needs a positive stop price"),
        (order("d", qty=0), "quantity 0 must be more than 0"),
        (order("e", **past), "the order's expiration time has already passed"),
        (order("f", filled_qty=10), "quantity 10 is already filled"),
    ]
    for request, message in cases:
        assert refused(partial(rig.venue.place, request)) == message
    rig.venue.place(order("g", type="limit", limit_price=99.0))
    assert refused(lambda: rig.venue.place(order("g"))) == "order g already exists"
    assert rig.sink.reports == []


# -- threads ------------------------------------------------------------------------------------


def run_briefly(target: Callable[[], object]) -> None:
    """Run ``target`` on a thread; a deadlock fails the test instead of hanging it."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(WAIT)
    assert not thread.is_alive(), "deadlock: the venue called its sink holding its lock"
    assert errors == []


class Reentrant(Sink):
    """A sink that trades from inside ``report``, like the core does (brackets, OCO)."""

    def __init__(self, venue: Paper) -> None:
        super().__init__()
        self.venue = venue

    def report(self, report: ExecutionReport) -> None:
        super().report(report)
        if report.client_order_id == "o1" and report.status == "partially_filled":
            self.venue.cancel("o1")
        if report.client_order_id == "o1" and report.status == "cancelled":
            self.venue.place(order("o2", "sell", qty=4))  # fills at once, nested


def test_a_sink_may_call_back_into_the_venue(make: Make) -> None:
    rig = make(start=False, max_fill_qty=4)
    sink = Reentrant(rig.venue)
    rig.venue.subscribe(sink)
    run_briefly(lambda: rig.venue.place(order("o1", qty=10)))
    assert sink.reports == [
        fill("o1", 4, 100.5, 4, 100.5, status="partially_filled"),
        ended("o1", "cancelled on request", filled=4, avg=100.5),
        fill("o2", 4, 100.0, 4, 100.0, venue_id="P2"),
    ]


def test_a_sink_may_call_back_on_the_worker_thread(make: Make) -> None:
    rig = make(max_fill_qty=4, quote=False)
    sink = Reentrant(rig.venue)
    rig.venue.subscribe(sink)
    rig.venue.place(order("o1", qty=10))
    rig.market.push(100.0, 100.5)
    assert sink.wait_for("o2", 1) == [fill("o2", 4, 100.0, 4, 100.0, venue_id="P2")]
    assert sink.of("o1") == [
        fill("o1", 4, 100.5, 4, 100.5, status="partially_filled"),
        ended("o1", "cancelled on request", filled=4, avg=100.5),
    ]


def test_cancels_racing_fills_end_each_order_exactly_once(make: Make) -> None:
    rig = make(max_fill_qty=1, quote=False)
    ids = [f"o{i}" for i in range(40)]
    for cid in ids:
        rig.venue.place(order(cid, "buy", "limit", qty=2, limit_price=101.0))
    cancelled: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(5)

    def pusher() -> None:
        go.wait()
        for n in range(3000):
            rig.market.push(100.0, 100.5 + (n % 2) * 0.25)

    def canceller(seed: int) -> None:
        go.wait()
        for cid in random.Random(seed).sample(ids, 15):
            time.sleep(0.0005)  # spread the cancels over the fills: some win, some lose
            try:
                rig.venue.cancel(cid)
            except Rejected:
                continue
            with lock:
                cancelled.append(cid)

    threads = [threading.Thread(target=pusher)]
    threads += [threading.Thread(target=canceller, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    for n in itertools.count():  # fill what nobody cancelled
        if not rig.venue.working():
            break
        assert n < 200, rig.venue.working()
        rig.market.push(100.0, 100.0 + n % 2 * 0.25)
        rig.settle()
    assert len(cancelled) == len(set(cancelled))  # one successful cancel per order at most
    for cid in ids:
        reports = rig.sink.of(cid)
        finals = [r for r in reports if r.status in ("filled", "cancelled")]
        assert finals == [reports[-1]], reports
        assert (reports[-1].status == "cancelled") == (cid in cancelled)
        fills = [r for r in reports if r.last_qty is not None]
        assert [r.filled_qty for r in fills] == list(range(1, len(fills) + 1))
        assert reports[-1].filled_qty == len(fills)


def test_the_worker_stops_and_starts_again(make: Make) -> None:
    rig = make(quote=False)
    rig.venue.start()  # already running: nothing happens
    assert rig.venue.running
    rig.venue.stop()
    assert not rig.venue.running
    rig.venue.place(order("o1"))
    rig.market.push(100.0, 100.5)
    rig.venue.start()
    assert rig.market.handlers == [rig.venue._on_quote]  # subscribed once
    assert rig.sink.wait_for("o1", 1) == [fill("o1", 10, 100.5, 10, 100.5)]


def test_a_failing_sink_does_not_keep_reports_from_the_others(make: Make) -> None:
    class Broken(Sink):
        def report(self, report: ExecutionReport) -> None:
            raise RuntimeError("boom")

    rig = make(start=False)
    rig.venue.subscribe(Broken())
    rig.venue.subscribe(second := Sink())
    rig.venue.place(order("o1"))
    assert rig.sink.reports == second.reports == [fill("o1", 10, 100.5, 10, 100.5)]


# -- the plugin contract and the YAML -----------------------------------------------------------


def test_without_market_data_the_venue_cannot_start() -> None:
    venue = Paper(PaperOptions(), ConnectorContext("paper", Path("."), {}))
    with pytest.raises(RuntimeError, match=r"needs market data.*market\.feeds"):
        venue.start()


def test_the_connector_meets_the_contract_and_is_installed() -> None:
    assert check_connector_class(Paper, "paper") is Paper
    assert Registry.discover().get("paper") is Paper
    assert isinstance(Paper(PaperOptions(), ConnectorContext("p", Path("."), {})), Execution)


HASH = (  # the demo's hash of "demo"
    "$argon2id$v=19$m=65536,t=3,p=4$b3A5ND4dTGBRVUlcSQdw5g$wbiJiUbHbWiYIOt4wJc8rK2Tzzk0ScliWSdLQTpqg5g"
)
MINIMAL = f"""\
version: 1
broker: {{name: Acme}}
users:
  - login: alice
    password_hash: {HASH}
    accounts: [A1]
accounts:
  - {{id: A1, name: Alice, type: live, currency: USD}}
connectors:
"""


def test_options_come_from_the_yaml(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        MINIMAL + "  paper: {type: paper, outside_session: reject, slippage_ticks: 1,\n"
        "          max_fill_qty: 5, durations: {DAY: day, GFD: day}}\n"
        "  plain: {type: paper}\n"
    )
    connectors = load_config(config).connectors
    assert connectors["paper"].options == PaperOptions(
        outside_session="reject",
        slippage_ticks=1.0,
        max_fill_qty=5.0,
        durations={"DAY": "day", "GFD": "day"},
    )
    assert connectors["plain"].options == PaperOptions()
    assert dict(connectors["plain"].options.durations) == dict(DEFAULT_DURATIONS)


def test_option_mistakes_are_reported_with_positions(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        MINIMAL + "  paper:\n    type: paper\n    outside_session: later\n"
        "    slippage_ticks: -1\n    max_fill_qty: 0\n    durations: {DAY: week}\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_config(config)
    assert [str(p).replace(str(config), "F") for p in exc.value.problems] == [
        "F:12:22: connectors.paper.outside_session: unknown value 'later' (allowed: queue, reject)",
        "F:13:21: connectors.paper.slippage_ticks: must be a number of at least 0",
        "F:14:19: connectors.paper.max_fill_qty: "
        "must be a number greater than 0 (or left out: fill completely)",
        "F:15:22: connectors.paper.durations.DAY: "
        "unknown value 'week' (allowed: day, gtc, gtt, ioc, fok)",
    ]
