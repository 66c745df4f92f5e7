"""One FIX session for the whole deployment: the lease in the store, and a takeover.

The lease is checked on every store the gateway supports (SQLite, PostgreSQL, MariaDB) with a
clock the test moves. Then two gateways share one store and one QuickFIX counterparty, as two
processes of a deployment would: only the lease's holder logs on; the other refuses orders
with a clear message; when the holder stops, the other takes the session over with the numbers
the first left in the store (QuickFIX would refuse a Logon that went back to 1).
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
from tests.conftest import FakeClock, login
from tests.fix_app import ASK, BID, UPSTREAM_SYMBOL, FixDesk, eventually, fix_config, registry
from tests.fix_counterparty import Counterparty, counterparty
from tests.live_gateway import free_port


@pytest.fixture
def database(any_store: GatewayConfig) -> Iterator[Database]:
    url = any_store.store.url.reveal()
    upgrade(url)
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


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
        # Three renewal periods: the standby stays off the line all along.
        for _ in range(3):
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
                    "limitPrice": "59000",
                },
                headers=headers,
            ).json
            assert answer["s"] == "error"
            assert "another gateway process runs the FIX session" in answer["errmsg"]
        placed = desk.place(qty=0.2, side="buy", type="market")
        eventually(lambda: desk.status(placed) == "filled")
        first.close()  # a clean stop gives the lease up: the standby takes over at once
        eventually(lambda: standby.logged_on, timeout=15)
        assert venue.call("logons") == 2  # QuickFIX took the Logon: the numbers went on
        second_desk = FixDesk(second, venue)
        order_id = second_desk.place(qty=0.3, side="sell", type="market")
        eventually(lambda: second_desk.status(order_id) == "filled")
    finally:
        first.close()
        second.close()
