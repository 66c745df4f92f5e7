"""The Redis bus between processes, against a real Redis server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from gateway.cluster.bus import RedisBus
from gateway.plugins.records import Quote, Tick, Trade
from tests.servers import channel_prefix, require_redis
from tests.waiting import eventually


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    return eventually(condition, timeout)


class Inbox:
    """What a bus delivered, from its own threads."""

    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self.changes: list[str | None] = []
        self.lock = threading.Lock()

    def tick(self, tick: Tick) -> None:
        with self.lock:
            self.ticks.append(tick)

    def change(self, account: str | None) -> None:
        with self.lock:
            self.changes.append(account)


@pytest.fixture
def pair() -> Iterator[tuple[RedisBus, RedisBus, Inbox, Inbox]]:
    url, prefix = require_redis(), channel_prefix()
    buses = (RedisBus(url, prefix), RedisBus(url, prefix))
    inboxes = (Inbox(), Inbox())
    for bus, inbox in zip(buses, inboxes, strict=True):
        bus.on_tick(inbox.tick)
        bus.on_change(inbox.change)
        bus.start()
    assert wait_for(lambda: all(bus.subscribed for bus in buses))
    yield buses[0], buses[1], inboxes[0], inboxes[1]
    for bus in buses:
        bus.stop()


def test_ticks_reach_the_other_process_in_order_and_not_their_sender(
    pair: tuple[RedisBus, RedisBus, Inbox, Inbox],
) -> None:
    a, b, inbox_a, inbox_b = pair
    sent = [Trade("BTCUSD", 1700000000 + i, 60000 + i, 1) for i in range(2000)]
    sent.insert(7, Quote("BTCUSD", 1700000007.5, 59999, 1, 60001, 2))  # type: ignore[arg-type]
    for tick in sent:
        a.publish_tick(tick)
    assert wait_for(lambda: len(inbox_b.ticks) == len(sent))
    assert inbox_b.ticks == sent
    assert inbox_a.ticks == []  # Redis echoes to the sender, which skips its own
    assert b.lag is not None and b.lag >= 0
    assert b.health()[0] and "subscribed" in b.health()[1]


def test_changes_reach_the_other_process(pair: tuple[RedisBus, RedisBus, Inbox, Inbox]) -> None:
    a, _b, _inbox_a, inbox_b = pair
    a.publish_change("ACC-1")
    a.publish_change(None)
    assert wait_for(lambda: inbox_b.changes == ["ACC-1", None])


def test_a_foreign_message_on_the_channel_is_refused_and_the_bus_goes_on(
    pair: tuple[RedisBus, RedisBus, Inbox, Inbox],
) -> None:
    a, b, _inbox_a, inbox_b = pair
    client = redis.Redis.from_url(require_redis())
    client.publish(b.ticks_channel, b"DROP TABLE gw_orders; --")
    client.publish(b.ticks_channel, b'{"o": "x", "s": 1, "k": "trade", "symbol": "X"}')
    client.close()
    a.publish_tick(Trade("BTCUSD", 1.0, 2.0, 3.0))
    assert wait_for(lambda: inbox_b.ticks == [Trade("BTCUSD", 1.0, 2.0, 3.0)])
    assert b.refused == 2


def test_a_handler_that_fails_does_not_stop_the_others(
    pair: tuple[RedisBus, RedisBus, Inbox, Inbox],
) -> None:
    a, b, _inbox_a, inbox_b = pair

    def broken(tick: Tick) -> None:
        raise RuntimeError("boom")

    b._tick_handlers = (broken, *b._tick_handlers)
    a.publish_tick(Trade("BTCUSD", 1.0, 2.0, 3.0))
    a.publish_tick(Trade("BTCUSD", 2.0, 2.0, 3.0))
    assert wait_for(lambda: len(inbox_b.ticks) == 2)


def test_without_redis_publishing_neither_blocks_nor_raises_and_health_says_so() -> None:
    # A port nothing listens on: the feed's thread must not wait on Redis.
    bus = RedisBus("redis://127.0.0.1:1/0", channel_prefix())
    bus.start()
    try:
        for i in range(1000):
            bus.publish_tick(Trade("BTCUSD", float(i), 1.0, 1.0))
        assert wait_for(lambda: bus.dropped == 1000)
        ok, detail = bus.health()
        assert (ok, detail) == (False, "not connected to Redis")
    finally:
        bus.stop()


def test_a_bus_that_loses_redis_subscribes_again(
    pair: tuple[RedisBus, RedisBus, Inbox, Inbox],
) -> None:
    a, b, _inbox_a, inbox_b = pair
    admin = redis.Redis.from_url(require_redis())
    # Redis drops both buses' subscriptions (only theirs: other tests share the server); both
    # must notice and come back.
    names = {f"gateway:{bus.origin}" for bus in (a, b)}
    mine = [c["id"] for c in admin.client_list(_type="pubsub") if c["name"] in names]
    assert len(mine) == 2
    for client_id in mine:
        admin.client_kill_filter(_id=client_id)
    admin.close()
    assert wait_for(lambda: a.subscriptions == b.subscriptions == 2)

    def delivered() -> bool:
        a.publish_change("ACC-2")
        time.sleep(0.05)
        return "ACC-2" in inbox_b.changes

    assert wait_for(delivered, 10)
