"""The market-data pipeline in one process: gate, bar builder, store, streaming hub."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gateway.market.barstore import BarStore
from gateway.market.pipeline import MarketRuntime, MarketSymbol, PipelineSettings
from gateway.plugins.records import Bar, Depth, Quote, Trade
from gateway.plugins.testing import FakeMarketData
from gateway.store.database import Database
from tests.conftest import FakeClock
from tests.market_helpers import AlwaysOpen, bars_from_trades, parse_lines

T0 = 1_800_000_000  # a minute boundary (divisible by 60)


class ClosedAfterNoon(AlwaysOpen):
    def is_open(self, ts: float) -> bool:
        return ts % 86400 < 43200


@pytest.fixture
def store(tmp_path: Path) -> BarStore:
    return BarStore(Database(f"sqlite:///{tmp_path / 'bars.db'}"))


def runtime(store: BarStore, clock: FakeClock, **settings: int) -> MarketRuntime:
    symbols = [
        MarketSymbol("EURUSD", "EURUSD", True, AlwaysOpen(), 0.00001),
        MarketSymbol("BTCUSD", "BTC/USD", False, AlwaysOpen(), 0.5),
    ]
    return MarketRuntime(symbols, store, clock, PipelineSettings(**settings))


def drain(rt: MarketRuntime, subs: list[object]) -> list[bytes]:
    out = []
    for sub in subs:
        items = sub.take(0)  # type: ignore[attr-defined]
        out.append(b"".join(items or []))
    return out


def test_history_equals_bars_built_from_streamed_trades(store: BarStore) -> None:
    clock = FakeClock(T0)
    rt = runtime(store, clock)
    sub = rt.hub.subscribe()
    rng = random.Random(7)
    streamed = b""
    price = 1.08
    for _ in range(3000):  # about 3.5 minutes of trades at irregular intervals
        clock.advance(rng.uniform(0.01, 0.15))
        price = round(price + rng.choice((-1, 0, 1)) * 0.00001, 5)
        rt.publish(Trade("EURUSD", clock.now, price, rng.randint(1, 9) * 1000))
        rt.publish(Quote("EURUSD", clock.now, price - 0.00003, 1e6, price + 0.00003, 1e6))
        if rng.random() < 0.05:
            rt.close_due()
        streamed += b"".join(sub.take(0) or [])
    clock.advance(61)
    rt.close_due()
    streamed += b"".join(sub.take(0) or [])
    built = bars_from_trades(parse_lines(streamed), "EURUSD")
    stored = store.range("EURUSD", 0, int(clock.now))
    assert len(built) >= 3
    assert stored == built  # zero mismatched bars, not just under 5 %


def test_ticks_are_stamped_monotonically_per_symbol_and_kind(store: BarStore) -> None:
    clock = FakeClock(T0 + 30)
    rt = runtime(store, clock)
    sub = rt.hub.subscribe()
    rt.publish(Trade("EURUSD", T0 + 30, 1.1, 1))
    rt.publish(Trade("EURUSD", T0 + 20, 1.2, 1))  # late: restamped to the last time
    rt.publish(Quote("EURUSD", T0 + 10, 1.0, 1, 1.2, 1))  # quotes have their own clock
    clock.now = T0 + 61
    rt.close_due()  # closes minute T0
    rt.publish(Trade("EURUSD", T0 + 59, 1.3, 1))  # inside a closed minute: restamped into T0+60
    messages = parse_lines(b"".join(sub.take(0) or []))
    times = [(m["f"], m["t"]) for m in messages if "f" in m and m["f"] != "d"]
    assert times == [("t", T0 + 30), ("t", T0 + 30), ("q", T0 + 10), ("t", T0 + 60)]
    assert store.range("EURUSD", 0, T0 + 120) == [Bar("EURUSD", T0, 1.1, 1.2, 1.1, 1.2, 2)]


def test_unknown_symbols_and_closed_sessions_are_dropped(store: BarStore) -> None:
    clock = FakeClock(T0)
    rt = MarketRuntime([MarketSymbol("AAPL", "AAPL", False, ClosedAfterNoon())], store, clock)
    sub = rt.hub.subscribe()
    noon = T0 - T0 % 86400 + 43200
    rt.publish(Trade("MSFT", noon - 10, 400, 1))
    rt.publish(Trade("AAPL", noon - 10, 190, 1))
    rt.publish(Trade("AAPL", noon + 10, 191, 1))
    messages = parse_lines(b"".join(sub.take(0) or []))
    assert [(m["id"], m["p"]) for m in messages] == [("AAPL", 190)]


def test_stream_ids_use_the_ticker_and_daily_bars_follow_minute_closes(store: BarStore) -> None:
    clock = FakeClock(T0 + 5)
    rt = runtime(store, clock)
    sub = rt.hub.subscribe()
    rt.publish(Trade("BTCUSD", T0 + 5, 60000.5, 0.1))
    rt.publish(Trade("EURUSD", T0 + 5, 1.1, 1000))
    rt.publish(Trade("EURUSD", T0 + 65, 1.2, 2000))  # closes EURUSD's first minute
    messages = parse_lines(b"".join(sub.take(0) or []))
    assert [m["id"] for m in messages if m.get("f") == "t"] == ["BTC/USD", "EURUSD", "EURUSD"]
    daily = [m for m in messages if m.get("f") == "d"]
    midnight = T0 - T0 % 86400
    assert daily == [
        {"f": "d", "id": "EURUSD", "o": 1.1, "h": 1.2, "l": 1.1, "c": 1.2, "v": 3000, "t": midnight}
    ]


def test_every_subscriber_gets_the_same_bytes_and_a_stalled_one_is_dropped(
    store: BarStore,
) -> None:
    clock = FakeClock(T0)
    rt = runtime(store, clock, stream_buffer_bytes=20_000)
    dropped: list[int] = []
    readers = [rt.hub.subscribe() for _ in range(16)]
    stalled = rt.hub.subscribe(on_drop=lambda: dropped.append(1))
    received = [b"" for _ in readers]
    for i in range(2000):
        clock.advance(0.05)
        rt.publish(Trade("EURUSD", clock.now, 1.1 + i * 1e-5, 1000))
        if i % 10 == 0:
            for n, chunk in enumerate(drain(rt, readers)):  # type: ignore[arg-type]
                received[n] += chunk
    for n, chunk in enumerate(drain(rt, readers)):  # type: ignore[arg-type]
        received[n] += chunk
    assert len(set(received)) == 1 and received[0].count(b"\n") >= 2000
    assert stalled.dropped and dropped == [1]
    assert stalled.take(0) is None
    assert rt.hub.connections == 16
    assert stalled.buffered_bytes == 0  # its memory was released


def test_streaming_body_starts_with_a_heartbeat_and_beats_when_quiet(store: BarStore) -> None:
    clock = FakeClock(T0)
    rt = runtime(store, clock, heartbeat_seconds=0)
    sub = rt.hub.subscribe()
    body = rt.hub.messages(sub, heartbeat_seconds=0.01)
    assert parse_lines(next(body)) == [{"heartbeat": T0}]
    assert parse_lines(next(body)) == [{"heartbeat": T0}]
    rt.publish(Trade("EURUSD", T0, 1.1, 1))
    assert parse_lines(next(body)) == [{"f": "t", "id": "EURUSD", "p": 1.1, "s": 1, "t": T0}]
    body.close()
    assert rt.hub.connections == 0


def test_backfill_is_imported_once_and_never_overwrites(store: BarStore) -> None:
    clock = FakeClock(T0 + 30)
    rt = runtime(store, clock)
    feed = FakeMarketData()
    feed.bars = [
        Bar("EURUSD", T0 - 120, 1, 2, 0.5, 1.5, 10),
        Bar("EURUSD", T0 - 60, 1, 1, 1, 1, 1),
        Bar("EURUSD", T0, 9, 9, 9, 9, 9),
    ]  # the current minute: live data wins
    store.write([Bar("EURUSD", T0 - 60, 7, 7, 7, 7, 7)])  # streamed earlier: kept
    assert rt.import_backfill([feed]) == 2
    assert store.range("EURUSD", 0, T0 + 60) == [
        Bar("EURUSD", T0 - 120, 1, 2, 0.5, 1.5, 10),
        Bar("EURUSD", T0 - 60, 7, 7, 7, 7, 7),
    ]
    assert rt.quotes.get("EURUSD").last_price == 7


def test_quote_book_keeps_the_latest(store: BarStore) -> None:
    clock = FakeClock(T0)
    rt = runtime(store, clock)
    version = rt.quotes.version
    rt.publish(Quote("EURUSD", T0, 1.0, 5, 1.1, 6))
    rt.publish(Trade("EURUSD", T0, 1.05, 1))
    rt.publish(Depth("EURUSD", T0, ((0.9, 1),), ((1.2, 2),)))
    latest = rt.quotes.get("EURUSD")
    assert latest.quote == Quote("EURUSD", T0, 1.0, 5, 1.1, 6)
    assert latest.last_price == 1.05 and latest.depth is not None
    assert rt.quotes.wait_for_change(version, 0) == version + 3
