"""Two gateways sharing a PostgreSQL store and a Redis bus, as two processes of a cluster.

Both run in this test's process (each with its own identity on the bus and its own bid for the
feeds' lease); tests/test_cluster_deployment.py runs the same with real processes behind nginx.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator

import pytest
import webtest

from gateway.app import Gateway, build
from gateway.config import load_config
from gateway.config.cluster import Cluster
from gateway.config.types import Duration, Secret
from gateway.plugins.records import OrderRequest, Rejected, Tick, Trade
from tests.conftest import DEMO, bearer, login, with_store
from tests.servers import (
    POSTGRES_URL,
    channel_prefix,
    require,
    require_redis,
    reset_gateway_tables,
)
from tests.waiting import eventually

ACCOUNT = "DEMO-USD"


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    return eventually(condition, timeout)


class Recorder:
    """The ticks a gateway's pipeline passed, whichever process's feed they came from."""

    def __init__(self, gateway: Gateway) -> None:
        self.ticks: list[Tick] = []
        self._lock = threading.Lock()
        assert gateway.services.market is not None
        gateway.services.market.bus.subscribe(self._take)

    def _take(self, tick: Tick) -> None:
        with self._lock:
            self.ticks.append(tick)

    def trades(self) -> list[Trade]:
        with self._lock:
            return [t for t in self.ticks if isinstance(t, Trade)]


@pytest.fixture
def cluster_config() -> Iterator[object]:
    url = require(POSTGRES_URL)
    reset_gateway_tables(url)
    config = with_store(load_config(DEMO), url)
    cluster = Cluster(
        redis=Secret(require_redis()), channel_prefix=channel_prefix(), feed_lease=Duration(2)
    )
    # An hour of back-fill, not the demo's week: the owner imports it before it runs the feed.
    market = dataclasses.replace(config.market, backfill=Duration(3600))
    yield dataclasses.replace(config, cluster=cluster, market=market)
    reset_gateway_tables(url)


@pytest.fixture
def pair(cluster_config: object) -> Iterator[tuple[Gateway, Gateway]]:
    gateways: list[Gateway] = []
    try:
        for _ in range(2):
            gateway = build(cluster_config)  # type: ignore[arg-type]
            gateway.start()
            gateways.append(gateway)
        yield gateways[0], gateways[1]
    finally:
        for gateway in gateways:
            gateway.close()


def owner_and_follower(pair: tuple[Gateway, Gateway]) -> tuple[Gateway, Gateway]:
    a, b = pair
    cluster_a, cluster_b = a.services.cluster, b.services.cluster
    assert cluster_a is not None and cluster_b is not None
    assert wait_for(lambda: cluster_a.bus.subscribed and cluster_b.bus.subscribed)

    def owners() -> list[Gateway]:
        found = [g for g in pair if g.services.cluster and g.services.cluster.ownership.owning]
        assert len(found) < 2, "two processes run the feeds"
        return found

    # The first owner imports the feed's back-fill before it counts as running it.
    assert wait_for(lambda: len(owners()) == 1, 30)
    return (a, b) if owners()[0] is a else (b, a)


def test_one_process_runs_the_feed_and_both_pass_the_same_ticks(
    pair: tuple[Gateway, Gateway],
) -> None:
    owner, follower = owner_and_follower(pair)
    feed = owner.services.connectors["feed"]
    assert feed.running and not follower.services.connectors["feed"].running
    seen_owner, seen_follower = Recorder(owner), Recorder(follower)
    assert wait_for(lambda: len(seen_follower.trades()) >= 20, 20)
    # The follower joined the owner's stream: what it passed is a run of what the owner passed.
    got = seen_follower.trades()[:20]
    sent = seen_owner.trades()
    start = sent.index(got[0])
    assert sent[start : start + 20] == got
    assert follower.services.market is not None and follower.services.market.received_at
    # Only the owner writes bars.
    assert owner.services.market is not None and owner.services.market.builder.persist
    assert not follower.services.market.builder.persist


def test_when_the_owner_stops_the_other_takes_the_feed_over(
    pair: tuple[Gateway, Gateway],
) -> None:
    owner, follower = owner_and_follower(pair)
    seen = Recorder(follower)
    assert wait_for(lambda: len(seen.trades()) > 0, 20)
    assert follower.services.cluster is not None
    owner.services.cluster.ownership.stop()  # type: ignore[union-attr]
    owner.services.connectors["feed"].stop()
    assert wait_for(lambda: follower.services.cluster.ownership.owning, 10)  # type: ignore[union-attr]
    assert follower.services.connectors["feed"].running
    assert follower.services.market is not None and follower.services.market.builder.persist
    before = len(seen.trades())
    assert wait_for(lambda: len(seen.trades()) > before + 5, 20), "the ticks go on"


def test_an_order_placed_through_one_process_wakes_the_others_streams(
    pair: tuple[Gateway, Gateway],
) -> None:
    a, b = pair
    owner_and_follower(pair)
    app_a, app_b = webtest.TestApp(a.app), webtest.TestApp(b.app)
    token = login(app_a)
    assert b.services.trading is not None
    changes_b = b.services.trading.changes
    seen = changes_b.version(ACCOUNT)
    answer = app_b.post(
        f"/accounts/{ACCOUNT}/orders",
        {"instrument": "BTCUSD", "qty": "1", "side": "buy", "type": "market"},
        headers=bearer(token),  # a token from A works on B: one store
    ).json
    assert answer["s"] == "ok", answer
    order_id = answer["d"]["orderId"]
    # Placed through B: A's streams wake through the bus, not a store poll.
    assert a.services.trading is not None
    changes_a = a.services.trading.changes
    assert wait_for(lambda: changes_a.version(ACCOUNT) != 0, 5)
    orders = app_a.get(f"/accounts/{ACCOUNT}/orders", headers=bearer(token)).json["d"]
    assert order_id in [o["id"] for o in orders]
    assert changes_b.version(ACCOUNT) != seen


def test_only_the_feeds_owner_moves_trailing_stops(pair: tuple[Gateway, Gateway]) -> None:
    owner, follower = owner_and_follower(pair)
    assert owner.services.trading is not None and follower.services.trading is not None
    assert owner.services.trading.engine.maintains()
    assert not follower.services.trading.engine.maintains()


def test_a_logout_on_one_process_revokes_the_token_on_the_other(
    pair: tuple[Gateway, Gateway],
) -> None:
    app_a, app_b = (webtest.TestApp(g.app) for g in pair)
    token = login(app_a)
    assert app_b.get("/accounts", headers=bearer(token)).json["s"] == "ok"
    assert app_b.post("/logout", headers=bearer(token)).json["s"] == "ok"
    assert app_a.get("/accounts", headers=bearer(token), expect_errors=True).status_int == 401


def place_limit(app: webtest.TestApp, token: str, price: str = "1000") -> str:
    answer = app.post(
        f"/accounts/{ACCOUNT}/orders",
        {"instrument": "BTCUSD", "qty": "1", "side": "buy", "type": "limit", "limitPrice": price},
        headers=bearer(token),
    ).json
    assert answer["s"] == "ok", answer
    return str(answer["d"]["orderId"])


def status_of(app: webtest.TestApp, token: str, order_id: str) -> str:
    orders = app.get(f"/accounts/{ACCOUNT}/orders", headers=bearer(token)).json["d"]
    return str({o["id"]: o["status"] for o in orders}[order_id])


def venue_book(gateway: Gateway) -> set[str]:
    venue = gateway.services.connectors["paper"]
    inner = venue._inner
    return set() if inner is None else set(inner._book.orders)


def test_the_owner_works_the_orders_the_other_process_takes(pair: tuple[Gateway, Gateway]) -> None:
    owner, follower = owner_and_follower(pair)
    assert wait_for(lambda: owner.services.connectors["paper"].owning)
    app_owner, app_follower = webtest.TestApp(owner.app), webtest.TestApp(follower.app)
    token = login(app_follower)
    order_id = place_limit(app_follower, token)  # relayed to the owner through the store
    assert status_of(app_owner, token, order_id) == "working"
    assert order_id in venue_book(owner) and venue_book(follower) == set()
    answer = app_follower.delete(
        f"/accounts/{ACCOUNT}/orders/{order_id}", headers=bearer(token)
    ).json
    assert answer["s"] == "ok", answer
    assert wait_for(lambda: status_of(app_owner, token, order_id) == "cancelled")
    assert status_of(app_follower, token, order_id) == "cancelled"


def test_a_new_owner_works_the_orders_its_predecessor_worked(
    pair: tuple[Gateway, Gateway],
) -> None:
    owner, follower = owner_and_follower(pair)
    assert wait_for(lambda: owner.services.connectors["paper"].owning)
    app_follower = webtest.TestApp(follower.app)
    token = login(app_follower)
    order_id = place_limit(app_follower, token)
    owner.services.cluster.ownership.stop()  # type: ignore[union-attr]
    assert venue_book(owner) == set()  # the old owner forgot it
    assert wait_for(lambda: follower.services.connectors["paper"].owning, 15)
    assert order_id in venue_book(follower)
    answer = app_follower.delete(
        f"/accounts/{ACCOUNT}/orders/{order_id}", headers=bearer(token)
    ).json
    assert answer["s"] == "ok", answer
    assert status_of(app_follower, token, order_id) == "cancelled"


def test_with_no_owner_alive_an_order_gets_a_clear_errmsg_and_is_not_placed_later(
    pair: tuple[Gateway, Gateway],
) -> None:
    owner, follower = owner_and_follower(pair)
    app_follower = webtest.TestApp(follower.app)
    token = login(app_follower)
    # The owner freezes (its threads stop) without giving its lease up: nobody serves the relay.
    owner.services.connectors["paper"].lose()
    answer = app_follower.post(
        f"/accounts/{ACCOUNT}/orders",
        {"instrument": "BTCUSD", "qty": "1", "side": "buy", "type": "limit", "limitPrice": "1000"},
        headers=bearer(token),
    ).json
    assert answer["s"] == "error"
    assert "not available right now" in answer["errmsg"]
    rejected = [
        o for o in app_follower.get(f"/accounts/{ACCOUNT}/orders", headers=bearer(token)).json["d"]
    ]
    assert all(o["status"] in ("rejected", "cancelled") for o in rejected), rejected


def test_readiness_shows_the_bus_and_who_runs_the_feeds(pair: tuple[Gateway, Gateway]) -> None:
    owner, follower = owner_and_follower(pair)
    for gateway, who in ((owner, "this process"), (follower, "another process")):
        answer = webtest.TestApp(gateway.app).get("/readyz").json
        assert answer["status"] == "ready", answer
        assert answer["checks"]["bus"]["ok"]
        assert answer["checks"]["feeds"]["detail"].startswith(who)
    follower_checks = webtest.TestApp(follower.app).get("/readyz").json["checks"]
    assert follower_checks["connector:paper"]["detail"].startswith("standby")


def test_an_order_recovered_at_takeover_is_not_placed_twice_when_its_placement_arrives(
    pair: tuple[Gateway, Gateway],
) -> None:
    # The race: an order is stored, the venue changes hands and the new owner recovers it with
    # the working orders, then the order's placement (relayed) reaches the new owner.
    owner, follower = owner_and_follower(pair)
    venue = owner.services.connectors["paper"]
    assert wait_for(lambda: venue.owning)
    order = OrderRequest("999", ACCOUNT, "BTCUSD", "buy", "limit", 1.0, limit_price=1000.0)
    venue.lose()
    venue.gain([order])
    follower.services.connectors["paper"].place(order)  # relayed: no "already exists"
    assert venue_book(owner) == {"999"}
    other = OrderRequest("1000", ACCOUNT, "BTCUSD", "buy", "limit", 1.0, limit_price=1000.0)
    follower.services.connectors["paper"].place(other)  # any other order is placed
    assert venue_book(owner) == {"999", "1000"}


def test_a_relayed_request_for_an_order_the_venue_does_not_know_is_refused_and_changes_nothing(
    pair: tuple[Gateway, Gateway],
) -> None:
    owner, follower = owner_and_follower(pair)
    assert wait_for(lambda: owner.services.connectors["paper"].owning)
    relayed = follower.services.connectors["paper"]
    for hostile in ("no-such-order", "1; DROP TABLE gw_orders; --", "<script>x</script>"):
        with pytest.raises(Rejected) as refused:
            relayed.cancel(hostile)
        assert refused.value.message  # the venue's own reason, through the store
    assert venue_book(owner) == set()
    app = webtest.TestApp(follower.app)
    token = login(app)
    assert app.get(f"/accounts/{ACCOUNT}/orders", headers=bearer(token)).json["d"] == []
