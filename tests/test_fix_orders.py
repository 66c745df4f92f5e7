"""End to end: TradingView's order requests through the fix connector to a QuickFIX acceptor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import GatewayConfig
from tests.fix_app import FixDesk, eventually, fix_desk, free_port
from tests.fix_counterparty import Counterparty, counterparty


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Counterparty]:
    with counterparty(tmp_path, free_port()) as running:
        yield running


@pytest.fixture
def desk(demo_config: GatewayConfig, venue: Counterparty) -> Iterator[FixDesk]:
    with fix_desk(demo_config, venue) as d:
        yield d


def test_a_market_order_fills_at_the_counterpartys_ask(desk: FixDesk, venue: Counterparty) -> None:
    order_id = desk.place(qty=0.5, side="buy", type="market")
    eventually(lambda: desk.status(order_id) == "filled")
    order = desk.orders()[order_id]
    assert order["avgPrice"] == 60001.0 and order["filledQty"] == 0.5
    [position] = desk.positions()
    assert position["qty"] == 0.5 and position["side"] == "buy"
    [fields] = venue.received("D")
    assert fields[55] == "BTC/USD" and fields[54] == "1" and fields[40] == "1"
    assert fields[11] == order_id and fields[1] == "DEMO-USD"


@pytest.mark.parametrize(
    ("form", "move", "price"),
    [
        ({"type": "limit", "limitPrice": 59000.0}, (58990.0, 58999.0), 58999.0),
        ({"type": "stop", "stopPrice": 61000.0}, (61000.0, 61001.0), 61001.0),
        (
            {"type": "stoplimit", "stopPrice": 61000.0, "limitPrice": 61005.0},
            (61002.0, 61003.0),
            61003.0,
        ),
    ],
)
def test_resting_orders_work_at_the_counterparty_until_the_market_reaches_them(
    desk: FixDesk, venue: Counterparty, form: dict[str, Any], move: tuple[float, float],
    price: float,
) -> None:  # fmt: skip
    order_id = desk.place(qty=0.25, side="buy", **form)
    eventually(lambda: desk.status(order_id) == "working")
    assert desk.positions() == []
    [fields] = venue.received("D")
    assert fields[40] == {"limit": "2", "stop": "3", "stoplimit": "4"}[str(form["type"])]
    desk.quote("BTCUSD", *move)
    eventually(lambda: desk.status(order_id) == "filled")
    assert desk.orders()[order_id]["avgPrice"] == price


def test_a_sell_limit_with_a_duration_and_a_custom_field_carries_them_as_tags(
    desk: FixDesk, venue: Counterparty
) -> None:
    order_id = desk.place(
        qty=0.1, side="sell", type="limit", limitPrice=62000.0, durationType="GTC",
        route="direct",
    )  # fmt: skip
    eventually(lambda: desk.status(order_id) == "working")
    [fields] = venue.received("D")
    assert (fields[54], fields[44], fields[59], fields[9001]) == ("2", "62000", "1", "direct")


def test_modify_sends_a_replace_and_the_order_fills_at_its_new_price(
    desk: FixDesk, venue: Counterparty
) -> None:
    order_id = desk.place(qty=0.2, side="buy", type="limit", limitPrice=59000.0)
    eventually(lambda: desk.status(order_id) == "working")
    answer = desk.put(f"/orders/{order_id}", "modifyOrder", {"qty": 0.3, "limitPrice": 59500.0})
    assert answer["s"] == "ok", answer
    order = desk.orders()[order_id]
    assert (order["qty"], order["limitPrice"]) == (0.3, 59500.0)
    [replace] = venue.received("G")
    assert replace[41] == order_id and replace[11] == f"{order_id}.1"
    assert (replace[38], replace[44]) == ("0.3", "59500")
    desk.quote("BTCUSD", 59400.0, 59500.0)
    eventually(lambda: desk.status(order_id) == "filled")
    assert desk.orders()[order_id]["filledQty"] == 0.3
    # A second change chains from the replaced id.
    second = desk.place(qty=0.2, side="buy", type="limit", limitPrice=50000.0)
    desk.put(f"/orders/{second}", "modifyOrder", {"qty": 0.2, "limitPrice": 50100.0})
    desk.put(f"/orders/{second}", "modifyOrder", {"qty": 0.2, "limitPrice": 50200.0})
    chained = [f for f in venue.received("G") if f[11].startswith(second)]
    assert [(f[41], f[11]) for f in chained] == [
        (second, f"{second}.1"),
        (f"{second}.1", f"{second}.2"),
    ]


def test_cancel_is_confirmed_by_the_counterparty(desk: FixDesk, venue: Counterparty) -> None:
    order_id = desk.place(qty=0.2, side="buy", type="limit", limitPrice=59000.0)
    eventually(lambda: desk.status(order_id) == "working")
    answer = desk.delete(f"/orders/{order_id}", "cancelOrder")
    assert answer["s"] == "ok", answer
    eventually(lambda: desk.status(order_id) == "cancelled")
    assert venue.call("orders") == {}


def test_a_refused_order_shows_the_counterpartys_text(desk: FixDesk, venue: Counterparty) -> None:
    venue.call("refuse_symbol", "BTC/USD")
    answer = desk.try_place(qty=0.1, side="buy", type="market")
    assert answer["s"] == "error"
    assert "Unknown or halted symbol BTC/USD" in answer["errmsg"]
    [order] = desk.orders().values()
    assert order["status"] == "rejected"
    assert "Unknown or halted symbol BTC/USD" in order["message"]["text"]


def test_a_refused_replace_keeps_the_order_as_it_was(desk: FixDesk, venue: Counterparty) -> None:
    order_id = desk.place(qty=0.2, side="buy", type="limit", limitPrice=59000.0)
    venue.call("set", "refuse_replace", True)
    answer = desk.put(f"/orders/{order_id}", "modifyOrder", {"qty": 0.2, "limitPrice": 59100.0})
    assert answer["s"] == "error" and "Too late to replace" in answer["errmsg"]
    order = desk.orders()[order_id]
    assert (order["status"], order["limitPrice"]) == ("working", 59000.0)


def test_brackets_are_worked_by_the_gateway_and_sent_once_active(
    desk: FixDesk, venue: Counterparty
) -> None:
    parent = desk.place(qty=0.1, side="buy", type="market", takeProfit=62000.0, stopLoss=58000.0)
    eventually(lambda: desk.status(parent) == "filled")
    children = {o["type"]: o for o in desk.orders().values() if o.get("parentId") == parent}
    eventually(
        lambda: (
            {o["status"] for o in desk.orders().values() if o.get("parentId") == parent}
            == {"working"}
        )
    )
    # The parent, then the take-profit limit and the stop-loss stop.
    eventually(lambda: sorted(f[40] for f in venue.received("D")) == ["1", "2", "3"])
    desk.quote("BTCUSD", 62000.0, 62001.0)  # the take-profit fills, the stop-loss is cancelled
    eventually(lambda: desk.status(children["limit"]["id"]) == "filled")
    eventually(lambda: desk.status(children["stop"]["id"]) == "cancelled")
    assert desk.positions() == []
    assert venue.received_types().count("F") == 1
