"""The fakes shipped for connector authors behave as their roles promise."""

from __future__ import annotations

import pytest

from gateway.plugins.records import (
    Bar,
    ExecutionReport,
    OrderChange,
    OrderRequest,
    Principal,
    Quote,
    Rejected,
    Tick,
    Trade,
)
from gateway.plugins.testing import FakeAccountData, FakeExecution, FakeIdentity, FakeMarketData


class Ticks:
    def __init__(self) -> None:
        self.ticks: list[Tick] = []

    def publish(self, tick: Tick) -> None:
        self.ticks.append(tick)


class Reports:
    def __init__(self) -> None:
        self.reports: list[ExecutionReport] = []

    def report(self, report: ExecutionReport) -> None:
        self.reports.append(report)


def test_market_data_fake_publishes_to_every_subscriber_and_backfills() -> None:
    feed = FakeMarketData()
    a, b = Ticks(), Ticks()
    feed.subscribe(a)
    feed.subscribe(b)
    feed.start()
    assert feed.started
    trade = Trade("EURUSD", 1.5, 1.1, 1000)
    quote = Quote("EURUSD", 2.0, 1.0999, 1e6, 1.1001, 1e6)
    feed.emit(trade)
    feed.emit(quote)
    assert a.ticks == b.ticks == [trade, quote]
    feed.bars = [Bar("EURUSD", t, 1, 2, 0.5, 1.5, 10) for t in (60, 120, 180)]
    assert [bar.time for bar in feed.backfill("EURUSD", 60, 180)] == [60, 120]
    assert list(feed.backfill("GBPUSD", 0, 1000)) == []
    feed.stop()
    assert not feed.started


def test_execution_fake_records_and_rejects() -> None:
    venue = FakeExecution()
    sink = Reports()
    venue.subscribe(sink)
    order = OrderRequest("c1", "A1", "EURUSD", "buy", "limit", 1000, limit_price=1.1)
    assert venue.place(order) == "V1"
    venue.modify("c1", OrderChange(qty=2000))
    assert venue.changes == [("c1", OrderChange(qty=2000))]
    venue.reject_next = "Market closed"
    with pytest.raises(Rejected, match="Market closed"):
        venue.place(OrderRequest("c2", "A1", "EURUSD", "sell", "market", 1))
    with pytest.raises(Rejected, match="unknown order c9"):
        venue.modify("c9", OrderChange(qty=1))
    with pytest.raises(Rejected, match="unknown order c9"):
        venue.cancel("c9")
    venue.cancel("c1")
    assert venue.cancelled == ["c1"]
    venue.send(ExecutionReport("c1", "filled", 3.0, filled_qty=1000, avg_price=1.1))
    assert [r.status for r in sink.reports] == ["cancelled", "filled"]


def test_account_data_and_identity_fakes() -> None:
    data = FakeAccountData()
    alice = Principal("alice", ("A1",))
    data.account_records["alice"] = [{"id": "A1", "name": "Alice", "type": "demo"}]
    data.records[("orders", "A1")] = [{"id": "1", "status": "working"}]
    assert data.accounts(alice) == [{"id": "A1", "name": "Alice", "type": "demo"}]
    assert data.fetch("orders", "A1", {}) == [{"id": "1", "status": "working"}]
    assert data.fetch("orders", "A2", {}) == []
    people = FakeIdentity()
    people.add("alice", "pw", ["A1"], ["acme_fx"])
    assert people.authenticate("alice", "pw") == Principal("alice", ("A1",), ("acme_fx",))
    assert people.authenticate("alice", "nope") is None
    assert people.authenticate("bob", "pw") is None
    assert people.lookup("bob") is None
