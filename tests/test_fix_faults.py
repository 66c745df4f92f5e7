"""The FIX session under faults: dropped links, restarts, gaps, garbled messages, rejects.

The gateway talks to the real QuickFIX acceptor through a relay (tests/fix_proxy.py) that
breaks the link on purpose. Whatever happens, no fill is lost or booked twice, and a user
whose order is affected reads why.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from gateway.trading.setup import TradingRuntime
from tests.fix_app import FixDesk, eventually, fix_desk, free_port
from tests.fix_counterparty import Counterparty, counterparty
from tests.fix_proxy import Proxy, proxy


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Counterparty]:
    with counterparty(tmp_path, free_port()) as running:
        yield running


@pytest.fixture
def relay(venue: Counterparty) -> Iterator[Proxy]:
    with proxy(venue.port) as running:
        yield running


@pytest.fixture
def config(demo_config: GatewayConfig) -> GatewayConfig:
    """The demo, with its store in the test's directory (a restarted gateway finds it)."""
    assert "sqlite" in demo_config.store.url.reveal()
    return demo_config


def fills(desk: FixDesk) -> list[dict[str, object]]:
    answer = desk.get("/executions", "getExecutions", instrument="BTCUSD")
    assert answer["s"] == "ok", answer
    return list(answer["d"])


def test_orders_while_the_session_is_down_get_a_clear_errmsg(
    config: GatewayConfig, venue: Counterparty, relay: Proxy
) -> None:
    with fix_desk(config, venue, port=relay.port) as desk:
        assert desk.app.get("/readyz").json["checks"]["connector:upstream"] == {
            "ok": True,
            "detail": "logged on",
        }
        relay.refuse = True
        relay.drop()
        eventually(lambda: not desk.connector.logged_on)
        probe = desk.app.get("/readyz", expect_errors=True)
        assert probe.status_int == 503
        upstream = probe.json["checks"]["connector:upstream"]
        assert not upstream["ok"] and upstream["detail"].startswith("not logged on (")
        answer = desk.try_place(qty=0.1, side="buy", type="market")
        assert answer["s"] == "error"
        assert "order system is not connected right now" in answer["errmsg"]
        [order] = desk.orders().values()
        assert order["status"] == "rejected"
        assert venue.received("D") == []
        relay.refuse = False
        eventually(lambda: desk.connector.logged_on)
        order_id = desk.place(qty=0.1, side="buy", type="market")
        eventually(lambda: desk.status(order_id) == "filled")


def test_a_fill_while_the_link_is_down_arrives_once_after_the_reconnect(
    config: GatewayConfig, venue: Counterparty, relay: Proxy
) -> None:
    with fix_desk(config, venue, port=relay.port) as desk:
        order_id = desk.place(qty=0.2, side="buy", type="limit", limitPrice=59000.0)
        eventually(lambda: desk.status(order_id) == "working")
        relay.refuse = True
        relay.drop()
        eventually(lambda: not desk.connector.logged_on)
        venue.quote("BTC/USD", 58990.0, 58999.0)  # fills at the venue; the report waits there
        assert venue.call("orders") == {}
        relay.refuse = False
        eventually(lambda: desk.status(order_id) == "filled")
        assert [e["qty"] for e in fills(desk)] == [0.2]
        # Another drop and reconnect resends nothing new: still one fill.
        relay.drop()
        eventually(lambda: venue.call("logons") >= 3)
        eventually(lambda: desk.connector.logged_on)
        assert [e["qty"] for e in fills(desk)] == [0.2]


def test_an_order_lost_on_the_way_is_resent_after_the_reconnect_and_fills_once(
    config: GatewayConfig, venue: Counterparty, relay: Proxy
) -> None:
    with fix_desk(config, venue, port=relay.port) as desk:
        relay.swallow = True  # the NewOrderSingle leaves the gateway and never arrives
        answer = desk.try_place(qty=0.3, side="buy", type="market")
        assert answer["s"] == "ok", answer  # no answer within ack_timeout: pending, not refused
        order_id = answer["d"]["orderId"]
        assert venue.received("D") == []
        relay.swallow = False
        relay.drop()
        # QuickFIX sees the gateway's numbers ahead of its own, asks for a resend, and gets the
        # order again with PossDupFlag.
        eventually(lambda: desk.status(order_id) == "filled")
        [sent] = venue.received("D")
        assert sent[43] == "Y" and 122 in sent
        assert [e["qty"] for e in fills(desk)] == [0.3]


def test_a_restarted_gateway_resumes_its_numbers_and_recovers_missed_reports(
    config: GatewayConfig, venue: Counterparty, relay: Proxy
) -> None:
    with fix_desk(config, venue, port=relay.port) as desk:
        order_id = desk.place(qty=0.4, side="sell", type="limit", limitPrice=61000.0)
        eventually(lambda: desk.status(order_id) == "working")
        out_before = desk.connector.session.next_out if desk.connector.session else 0
        # Killed: the link goes first, so nothing (not even a Logout) reaches the venue.
        relay.refuse = True
        relay.drop()
        eventually(lambda: not desk.connector.logged_on)
    venue.quote("BTC/USD", 61000.0, 61001.0)  # fills while the gateway is gone
    assert venue.call("orders") == {}
    logons = venue.call("logons")
    relay.refuse = False
    with fix_desk(config, venue, port=relay.port) as desk:
        eventually(lambda: desk.status(order_id) == "filled")
        assert [e["qty"] for e in fills(desk)] == [0.4]
        session = desk.connector.session
        assert session is not None and session.next_out > out_before  # resumed, not reset
    assert venue.call("logons") == logons + 1


def test_a_fill_resent_before_the_trading_core_starts_is_booked(
    config: GatewayConfig, venue: Counterparty, relay: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The venue starts, logs on and gets the missed fill before the core has started.

    The core starts late here on purpose (on a loaded machine it may): the fill must still be
    booked, so the core listens to the venue before the venue starts.
    """
    with fix_desk(config, venue, port=relay.port) as desk:
        order_id = desk.place(qty=0.4, side="sell", type="limit", limitPrice=61000.0)
        eventually(lambda: desk.status(order_id) == "working")
        relay.refuse = True
        relay.drop()
        eventually(lambda: not desk.connector.logged_on)
    venue.quote("BTC/USD", 61000.0, 61001.0)  # fills while the gateway is gone
    logons = venue.call("logons")
    relay.refuse = False
    original = TradingRuntime.start

    def late_start(runtime: TradingRuntime) -> None:
        eventually(lambda: venue.call("logons") == logons + 1)
        time.sleep(1.0)  # the resend is answered in milliseconds: the fill has arrived
        original(runtime)

    monkeypatch.setattr(TradingRuntime, "start", late_start)
    with fix_desk(config, venue, port=relay.port) as desk:
        eventually(lambda: desk.status(order_id) == "filled")
        assert [e["qty"] for e in fills(desk)] == [0.4]


def test_a_gap_from_the_counterparty_is_filled_and_the_session_goes_on(
    config: GatewayConfig, venue: Counterparty
) -> None:
    with fix_desk(config, venue) as desk:
        venue.call("skip_numbers", 5)
        order_id = desk.place(qty=0.1, side="buy", type="market")
        eventually(lambda: desk.status(order_id) == "filled")
        assert desk.connector.logged_on
        assert "2" not in venue.received_types()  # the ResendRequest is a session message
        session = desk.connector.session
        assert session is not None and session.next_in == venue_next_out(venue)


def venue_next_out(venue: Counterparty) -> int:
    """The number the counterparty's next message will carry (read through a heartbeat)."""
    return int(venue.call("next_out"))


def test_a_garbled_execution_report_is_ignored_then_recovered_by_a_resend(
    config: GatewayConfig, venue: Counterparty, relay: Proxy
) -> None:
    with fix_desk(config, venue, port=relay.port) as desk:
        order_id = desk.place(qty=0.2, side="buy", type="limit", limitPrice=59000.0)
        eventually(lambda: desk.status(order_id) == "working")
        relay.corrupt_next(b"\x0135=8\x01")
        relay.inject(b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01")  # noise with a bad checksum
        venue.quote("BTC/USD", 58990.0, 58999.0)
        eventually(lambda: relay.corrupted == 1)
        # The next message (a heartbeat at the latest) shows the gap; the resend repairs it.
        eventually(lambda: desk.status(order_id) == "filled", timeout=15)
        assert [e["qty"] for e in fills(desk)] == [0.2]
        assert desk.connector.logged_on


def test_a_session_level_reject_of_an_order_reaches_the_user(
    config: GatewayConfig, venue: Counterparty
) -> None:
    with fix_desk(config, venue) as desk:
        venue.call("set", "session_reject_next", "D")
        answer = desk.try_place(qty=0.1, side="buy", type="market")
        assert answer["s"] == "error"
        assert "Refused by the broker's order system" in answer["errmsg"]
        [order] = desk.orders().values()
        assert order["status"] == "rejected"
        assert desk.connector.logged_on
        order_id = desk.place(qty=0.1, side="buy", type="market")
        eventually(lambda: desk.status(order_id) == "filled")
