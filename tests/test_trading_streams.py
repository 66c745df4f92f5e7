"""The trading streams: snapshot, whole-entity updates, closed positions, state, pings."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
import webob

from gateway.config import GatewayConfig
from gateway.config.trading import Trading
from gateway.config.types import Duration
from gateway.conformance.schemas import assert_stream_message
from tests.trading_app import Desk, desk


class Stream:
    """One open trading stream, read line by line from the WSGI app (no buffering)."""

    def __init__(self, chunks: Iterator[bytes], op: str) -> None:
        self._chunks = chunks
        self.op = op

    def next(self) -> Any:
        """The next message, checked against the spec's stream message shapes."""
        message = orjson.loads(next(self._chunks))
        assert_stream_message(self.op, message)
        return message

    def until(self, wanted: Any) -> list[Any]:
        """Messages up to the first one for which ``wanted(message)`` holds."""
        seen = []
        for _ in range(50):
            message = self.next()
            seen.append(message)
            if wanted(message):
                return seen
        raise AssertionError(f"never got the wanted message; saw {seen}")


@contextmanager
def stream(d: Desk, path: str, op: str, account: str = "DEMO-USD") -> Iterator[Stream]:
    request = webob.Request.blank(f"/accounts/{account}{path}", headers=d.headers)
    status, headers, body = request.call_application(d.gateway.app)
    assert status.startswith("200"), status
    assert ("x-accel-buffering", "no") in [(k.lower(), v) for k, v in headers]
    chunks = iter(body)
    try:
        yield Stream(chunks, op)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _fast(config: GatewayConfig) -> GatewayConfig:
    timing = Trading(stream_ping=Duration(1), stream_interval=Duration(0.1))
    return dataclasses.replace(config, trading=timing)


def test_orders_stream_sends_the_snapshot_then_changed_orders_whole(
    any_store: GatewayConfig,
) -> None:
    with desk(_fast(any_store)) as d:
        resting = d.place(qty=1000, side="buy", type="limit", limitPrice=1.075)
        with stream(d, "/stream/orders", "streamOrders") as s:
            snapshot = s.next()
            assert [o["id"] for o in snapshot] == [resting]
            filled = d.place(qty=2000, side="sell", type="market")
            [update] = s.until(lambda m: isinstance(m, list) and m)
            assert [(o["id"], o["status"]) for o in update] == [(filled, "filled")]
            assert update[0]["qty"] == 2000 and update[0]["instrument"] == "EURUSD"  # whole
            d.delete(f"/orders/{resting}", "cancelOrder")
            [update] = s.until(lambda m: isinstance(m, list) and m)
            assert [(o["id"], o["status"]) for o in update] == [(resting, "cancelled")]


def test_positions_stream_reports_a_closed_position_as_qty_zero(
    any_store: GatewayConfig,
) -> None:
    with desk(_fast(any_store)) as d, stream(d, "/stream/positions", "streamPositions") as s:
        assert s.next() == []
        d.place(qty=1000, side="buy", type="market")
        [opened] = s.until(lambda m: isinstance(m, list) and m)[-1]
        assert opened["qty"] == 1000 and opened["side"] == "buy"
        d.quote("EURUSD", 1.0810, 1.0811)  # P&L moves: the whole position again
        [moved] = s.until(lambda m: isinstance(m, list) and m)[-1]
        assert moved["id"] == opened["id"] and moved["unrealizedPl"] == pytest.approx(0.9)
        d.delete(f"/positions/{opened['id']}", "closePosition")
        d.settle()
        closed = s.until(lambda m: isinstance(m, list) and m and m[0].get("qty") == 0)[-1]
        assert closed == [{"id": opened["id"], "qty": 0}]


def test_state_stream_sends_the_whole_state_when_it_changes(any_store: GatewayConfig) -> None:
    with desk(_fast(any_store)) as d, stream(d, "/stream/state", "streamState") as s:
        first = s.next()
        assert first["balance"] == 100000 and "amData" in first
        d.place(qty=10000, side="buy", type="market")
        d.place(qty=10000, side="sell", type="market")
        state = s.until(lambda m: "balance" in m and m["balance"] != 100000)[-1]
        assert state["balance"] == pytest.approx(100000 - 1.0)
        assert set(state) >= {"balance", "unrealizedPl", "equity", "marginAvailable"}


def test_net_and_individual_position_streams(any_store: GatewayConfig) -> None:
    with desk(_fast(any_store)) as d:
        acct = "DEMO-EUR"
        with (
            stream(d, "/stream/netPositions", "streamNetPositions", acct) as net,
            stream(d, "/stream/individualPositions", "streamIndividualPositions", acct) as lots,
        ):
            assert net.next() == [] and lots.next() == []
            d.place(acct, qty=1000, side="buy", type="market")
            [lot] = lots.until(lambda m: isinstance(m, list) and m)[-1]
            [position] = net.until(lambda m: isinstance(m, list) and m)[-1]
            assert position["id"] == "EURUSD" and position["qty"] == 1000
            d.delete("/netPositions/EURUSD", "closeNetPosition", None, acct)
            d.settle()
            closed = lots.until(lambda m: isinstance(m, list) and m and m[0].get("qty") == 0)
            assert closed[-1] == [{"id": lot["id"], "qty": 0}]
            gone = net.until(lambda m: isinstance(m, list) and m and m[0].get("qty") == 0)
            assert gone[-1] == [{"id": "EURUSD", "qty": 0}]


def test_a_quiet_stream_pings(any_store: GatewayConfig) -> None:
    with desk(_fast(any_store)) as d, stream(d, "/stream/orders", "streamOrders") as s:
        assert s.next() == []
        assert s.next() == {"s": "ok"}  # after stream_ping (1 s here, 5 s by default)


def test_streams_follow_the_account_flags(any_store: GatewayConfig) -> None:
    with desk(_fast(any_store)) as d:
        answer = d.get("/stream/netPositions", "getPositions")
        assert answer == {
            "s": "error",
            "errmsg": "This account does not support net and individual positions.",
        }


def test_a_stream_sees_orders_placed_from_another_thread(
    any_store: GatewayConfig,
) -> None:
    with desk(_fast(any_store)) as d, stream(d, "/stream/orders", "streamOrders") as s:
        assert s.next() == []
        done = threading.Event()

        def place() -> None:
            d.place(qty=1000, side="buy", type="limit", limitPrice=1.075)
            done.set()

        worker = threading.Thread(target=place)
        worker.start()
        # The order may show up while still being placed; it ends up working.
        update = s.until(lambda m: isinstance(m, list) and m and m[0]["status"] == "working")
        worker.join()
        assert done.is_set() and update[-1][0]["type"] == "limit"


def test_a_stream_sees_changes_made_by_another_gateway_on_the_same_store(
    any_store: GatewayConfig,
) -> None:
    """Two gateways (two processes in production) share one store: the stream of one sees an
    order placed through the other, through the account's version in the store."""
    config = _fast(any_store)
    with (
        desk(config) as watcher,
        desk(config, clock=watcher.clock) as other,
        stream(watcher, "/stream/orders", "streamOrders") as s,
    ):
        assert s.next() == []
        order_id = other.place(qty=1000, side="buy", type="limit", limitPrice=1.075)
        update = s.until(lambda m: isinstance(m, list) and m and m[0]["status"] == "working")
        assert update[-1][0]["id"] == order_id
