"""The trading core against the execution contract: what any venue may do, the core survives.

A venue may repeat a report, skip one (a later report carries the cumulative quantity), report
orders the gateway never issued, refuse a modify or a cancel, or refuse an order outright. The
venue here is the contract's own fake (``FakeExecution``), driven by the test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

from gateway.app import Gateway, build
from gateway.config import GatewayConfig
from gateway.config.market import Market
from gateway.config.model import ConnectorSpec
from gateway.config.trading import Trading
from gateway.conformance.schemas import assert_valid
from gateway.plugins.records import ExecutionReport, Quote
from gateway.plugins.registry import Registry
from gateway.plugins.testing import FakeExecution, FakeMarketData, NoOptions
from tests.conftest import FakeClock
from tests.market_app import WEDNESDAY_15H

ACCOUNT = "/accounts/DEMO-USD"


class Venue:
    """A gateway on the fake venue, and a client."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.venue: FakeExecution = gateway.services.connectors["venue"]
        feed: FakeMarketData = gateway.services.connectors["feed"]
        feed.emit(Quote("EURUSD", WEDNESDAY_15H, 1.08, 1e6, 1.0801, 1e6))
        self.app = webtest.TestApp(gateway.app)
        token = self.app.post("/authorize", {"login": "demo", "password": "demo"}).json
        self.headers = {"Authorization": f"Bearer {token['d']['access_token']}"}

    def call(self, method: str, path: str, op: str, form: dict[str, Any] | None = None) -> Any:
        resp = self.app.request(
            ACCOUNT + path,
            method=method,
            body=b"" if form is None else _encode(form),
            headers=self.headers | {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_valid(op, resp.json)
        return resp.json

    def place(self, **form: Any) -> Any:
        body = {"instrument": "EURUSD", "qty": 1000, "side": "buy", "type": "limit",
                "limitPrice": 1.075} | form  # fmt: skip
        return self.call("POST", "/orders", "placeOrder", body)

    def order(self, order_id: str) -> dict[str, Any]:
        orders = self.call("GET", "/orders", "getOrders")["d"]
        found: dict[str, Any] = next(o for o in orders if o["id"] == order_id)
        return found

    def report(self, order_id: str, status: str, **values: Any) -> None:
        report = ExecutionReport(order_id, status, time=WEDNESDAY_15H, **values)  # type: ignore[arg-type]
        self.venue.send(report)


def _encode(form: dict[str, Any]) -> bytes:
    import urllib.parse

    return urllib.parse.urlencode(form).encode()


@pytest.fixture
def venue(demo_config: GatewayConfig) -> Iterator[Venue]:
    config = dataclasses.replace(
        demo_config,
        connectors={
            "feed": ConnectorSpec("fake_market_data", NoOptions()),
            "venue": ConnectorSpec("fake_execution", NoOptions()),
        },
        market=Market(feeds=("feed",)),
        trading=Trading(venue="venue"),
    )
    registry = Registry()
    registry.register(FakeMarketData)
    registry.register(FakeExecution)
    gateway = build(config, clock=FakeClock(WEDNESDAY_15H), registry=registry)
    gateway.start()
    try:
        yield Venue(gateway)
    finally:
        gateway.close()


def test_a_repeated_fill_report_fills_once(venue: Venue) -> None:
    order_id = venue.place()["d"]["orderId"]
    fill = {"filled_qty": 400.0, "last_qty": 400.0, "last_price": 1.075}
    venue.report(order_id, "partially_filled", **fill)
    venue.report(order_id, "partially_filled", **fill)  # a resend
    order = venue.order(order_id)
    assert order["filledQty"] == 400 and order["status"] == "working"
    fills = venue.call("GET", "/executions?instrument=EURUSD", "getExecutions")["d"]
    assert [f["qty"] for f in fills] == [400]


def test_a_missed_report_is_booked_from_the_cumulative_average(venue: Venue) -> None:
    order_id = venue.place()["d"]["orderId"]
    venue.report(order_id, "partially_filled", filled_qty=400.0, last_qty=400.0,
                 last_price=1.074)  # fmt: skip
    # The report of a 300 fill at 1.073 was lost; the next one says 1000 filled, avg 1.0735.
    venue.report(order_id, "filled", filled_qty=1000.0, last_qty=300.0, last_price=1.075,
                 avg_price=1.0735)  # fmt: skip
    order = venue.order(order_id)
    assert order["status"] == "filled" and order["avgPrice"] == pytest.approx(1.0735)
    fills = venue.call("GET", "/executions?instrument=EURUSD", "getExecutions")["d"]
    assert sorted(f["qty"] for f in fills) == [400, 600]
    late = next(f for f in fills if f["qty"] == 600)
    assert late["price"] == pytest.approx((1.0735 * 1000 - 1.074 * 400) / 600)


def test_reports_after_the_end_and_for_unknown_orders_change_nothing(venue: Venue) -> None:
    order_id = venue.place()["d"]["orderId"]
    venue.report(order_id, "cancelled", text="done at the venue")
    venue.report(order_id, "filled", filled_qty=1000.0, last_qty=1000.0, last_price=1.075)
    venue.report("999", "filled", filled_qty=1.0, last_price=1.0)
    venue.report("not-ours", "filled", filled_qty=1.0, last_price=1.0)
    order = venue.order(order_id)
    assert order["status"] == "cancelled" and order["filledQty"] == 0
    assert order["message"] == {"text": "done at the venue", "type": "information"}
    assert venue.call("GET", "/positions", "getPositions")["d"] == []


def test_a_venue_refusing_an_order_leaves_it_rejected(venue: Venue) -> None:
    venue.venue.reject_next = "instrument halted"
    answer = venue.place(stopLoss=1.07)
    assert answer == {"s": "error", "errmsg": "The order was rejected: instrument halted"}
    orders = venue.call("GET", "/orders", "getOrders")["d"]
    assert sorted(o["status"] for o in orders) == ["cancelled", "rejected"]  # and its bracket


def test_a_venue_refusing_a_modify_keeps_the_old_values(venue: Venue) -> None:
    order_id = venue.place()["d"]["orderId"]
    venue.venue.reject_next = "too late to modify"
    form = {"qty": 2000, "limitPrice": 1.076}
    answer = venue.call("PUT", f"/orders/{order_id}", "modifyOrder", form)
    assert answer == {"s": "error", "errmsg": "The order was rejected: too late to modify"}
    order = venue.order(order_id)
    assert (order["qty"], order["limitPrice"]) == (1000, 1.075)


def test_a_venue_refusing_a_cancel_says_why(venue: Venue) -> None:
    order_id = venue.place()["d"]["orderId"]
    venue.venue.reject_next = "already executing"
    answer = venue.call("DELETE", f"/orders/{order_id}", "cancelOrder")
    assert answer == {"s": "error", "errmsg": "The order was rejected: already executing"}
    assert venue.order(order_id)["status"] == "working"
