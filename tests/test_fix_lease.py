"""One FIX session for the whole deployment: the lease in the store, and a takeover.

The lease is checked on every store the gateway supports (SQLite, PostgreSQL, MariaDB) with a
clock the test moves. Then two gateways share one store and one QuickFIX counterparty, as two
processes of a deployment would: only the lease's holder logs on; the other hands its orders
to the holder through the store (``gateway.store.relay``); when the holder stops, the other
takes the session over with the numbers the first left in the store (QuickFIX would refuse a
Logon that went back to 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import webtest

from gateway.app import build
from gateway.config import GatewayConfig
from gateway.config.types import Duration
from gateway.store.database import Database
from gateway.store.leases import Lease
from gateway.store.migrate import upgrade
from gateway.store.relay import Relay
from tests.conftest import FakeClock, login
from tests.fix_app import (
    ASK,
    BID,
    UPSTREAM_SYMBOL,
    FixDesk,
    eventually,
    fix_config,
    fix_desk,
    registry,
)
from tests.fix_counterparty import Counterparty, counterparty
from tests.live_gateway import free_port


@pytest.fixture
def database(any_database: Database) -> Database:
    return any_database


def test_one_holder_at_a_time_and_a_takeover_only_after_expiry(database: Database) -> None:
    clock = FakeClock()
    first = Lease(database, "fix:test", ttl=9.0, holder="a", clock=clock)
    second = Lease(database, "fix:test", ttl=9.0, holder="b", clock=clock)
    assert first.acquire() and first.held
    assert not second.acquire() and not second.held
    assert first.owner() == second.owner() == "a"
    clock.advance(5)
    assert first.acquire()  # renewed: good for 9 s from now
    clock.advance(8)
    assert not second.acquire()  # 13 s after the first take, but only 8 after the renewal
    assert not first.held  # within the last third of its ttl, the holder already stops
    clock.advance(1.5)
    assert first.owner() is None  # expired
    assert second.acquire() and second.held and second.owner() == "b"
    assert not first.acquire() and not first.held  # the old holder does not get it back


def test_release_hands_over_at_once(database: Database) -> None:
    first = Lease(database, "fix:test", holder="a")
    second = Lease(database, "fix:test", holder="b")
    assert first.acquire()
    second.release()  # not the holder: changes nothing
    assert first.owner() == "a"
    first.release()
    assert not first.held and first.owner() is None
    assert second.acquire() and second.owner() == "b"


def test_leases_of_different_sessions_are_independent(database: Database) -> None:
    assert Lease(database, "fix:one", holder="a").acquire()
    assert Lease(database, "fix:two", holder="b").acquire()


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Counterparty]:
    with counterparty(tmp_path, free_port()) as running:
        running.quote(UPSTREAM_SYMBOL, BID, ASK)
        yield running


def test_two_gateways_on_one_store_run_one_session_and_hand_it_over(
    demo_config: GatewayConfig, venue: Counterparty
) -> None:
    config = fix_config(demo_config, venue.port, lease=Duration(3))
    first = build(config, registry=registry())
    first.start()
    second = build(config, registry=registry())
    try:
        venue.wait_logon()
        desk = FixDesk(first, venue)
        eventually(lambda: desk.connector.logged_on)
        second.start()
        standby = second.services.connectors["upstream"]
        client = webtest.TestApp(second.app)
        headers = {"Authorization": f"Bearer {login(client)}"}
        # Three renewal periods: the standby stays off the line all along, and its orders
        # reach the upstream through the holder (relayed through the store).
        relayed: list[str] = []
        for round_ in range(3):
            eventually(lambda: standby.lease is not None and standby.lease.owner() is not None)
            assert not standby.logged_on and venue.call("logons") == 1
            answer = client.post(
                "/accounts/DEMO-USD/orders?locale=en",
                # A limit order: the standby has no quotes (its ticks would come through the
                # session it does not run), and a market order is priced from them.
                {
                    "instrument": "BTCUSD",
                    "qty": "0.1",
                    "side": "buy",
                    "type": "limit",
                    "limitPrice": str(59000 + round_),
                },
                headers=headers,
            ).json
            assert answer["s"] == "ok", answer
            relayed.append(answer["d"]["orderId"])
            eventually(lambda: desk.status(relayed[-1]) == "working")
        assert [f[11] for f in venue.received("D")] == relayed  # sent once each, by the holder
        # Both are ready: a standby serves too, through the holder.
        probe = client.get("/readyz").json["checks"]["connector:upstream"]
        assert probe == {
            "ok": True,
            "detail": "standby: another gateway process runs the FIX session",
        }
        # A cancel from the standby goes the same way.
        gone = client.delete(
            f"/accounts/DEMO-USD/orders/{relayed[0]}?locale=en", headers=headers
        ).json
        assert gone["s"] == "ok", gone
        eventually(lambda: desk.status(relayed[0]) == "cancelled")
        assert [f[41] for f in venue.received("F")] == [relayed[0]]
        placed = desk.place(qty=0.2, side="buy", type="market")
        eventually(lambda: desk.status(placed) == "filled")
        first.close()  # a clean stop gives the lease up: the standby takes over at once
        eventually(lambda: standby.logged_on, timeout=15)
        # QuickFIX took the Logon (the numbers went on); it counts the logon after answering.
        eventually(lambda: venue.call("logons") == 2)
        second_desk = FixDesk(second, venue)
        order_id = second_desk.place(qty=0.3, side="sell", type="market")
        eventually(lambda: second_desk.status(order_id) == "filled")
        # The new holder reaches an order the old one placed: it finds it in the store.
        moved = second_desk.put(
            f"/orders/{relayed[1]}", "modifyOrder", {"qty": 0.1, "limitPrice": 59500.0}
        )
        assert moved["s"] == "ok", moved
        [replace] = venue.received("G")
        assert (replace[41], replace[11], replace[44]) == (relayed[1], f"{relayed[1]}.1", "59500")
    finally:
        first.close()
        second.close()


def test_orders_get_a_clear_errmsg_when_the_holder_does_not_answer(
    demo_config: GatewayConfig, venue: Counterparty
) -> None:
    """The lease is held by a process that is gone without giving it up (a crash)."""
    config = fix_config(demo_config, venue.port, lease=Duration(60))
    database = Database(config.store.url.reveal())
    upgrade(config.store.url.reveal())
    session_id = f"FIX.4.4:{config.connectors['upstream'].options.sender_comp_id}->VENUE"
    assert Lease(database, f"fix:{session_id}", ttl=60).acquire()
    gateway = build(config, registry=registry())
    gateway.start()
    try:
        client = webtest.TestApp(gateway.app)
        headers = {"Authorization": f"Bearer {login(client)}"}
        form = {"instrument": "BTCUSD", "qty": "0.1", "side": "buy", "type": "limit",
                "limitPrice": "59000"}  # fmt: skip
        answer = client.post("/accounts/DEMO-USD/orders?locale=en", form, headers=headers).json
        assert answer["s"] == "error"
        assert "(no gateway process runs the FIX session)" in answer["errmsg"]
        assert venue.call("logons") == 0 and venue.received("D") == []
        [order] = client.get("/accounts/DEMO-USD/orders", headers=headers).json["d"]
        assert order["status"] == "rejected"
    finally:
        gateway.close()
        database.dispose()


def test_malformed_relayed_requests_are_refused_and_the_holder_goes_on(
    demo_config: GatewayConfig, venue: Counterparty
) -> None:
    """A request in the store is data: an unknown kind or a broken payload is answered."""
    with fix_desk(demo_config, venue) as desk:
        session = desk.connector.session
        assert session is not None
        relay = Relay(desk.gateway.services.database, f"fix:{session.settings.session_id}")

        def refusal(kind: str, payload: dict[str, object]) -> str | None:
            answer = relay.wait(relay.submit(kind, payload), 2.0, 5.0)
            assert answer.done, answer
            return answer.refusal

        assert refusal("launch", {}) == "Unknown relayed request 'launch'."
        assert refusal("place", {"order": {"qty": "'; DROP TABLE gw_orders; --"}}) == (
            "The broker's order system could not take the request."
        )
        assert refusal("cancel", {"id": "999"}) == "Order 999 is not working at the broker."
        assert venue.received("D") == [] and venue.received("F") == []
        order_id = desk.place(qty=0.1, side="buy", type="market")  # the holder goes on
        eventually(lambda: desk.status(order_id) == "filled")
