"""The demo's recorded market data: reproducible from its generator, and realistic."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from statistics import mean
from zoneinfo import ZoneInfo

import pytest

from connectors.csv_replay import CsvReplay, CsvReplayOptions
from gateway.plugins.records import Bar, Depth, Quote, Tick, Trade
from gateway.plugins.roles import ConnectorContext

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "demo" / "data"
SCRIPT = ROOT / "tools" / "make_demo_data.py"
ANCHOR = dt.datetime.fromisoformat("2026-01-07T10:30:00-05:00").timestamp()  # the default
NEW_YORK, CHICAGO = ZoneInfo("America/New_York"), ZoneInfo("America/Chicago")
TICK_SIZE = {"EURUSD": 0.00001, "BTCUSD": 0.5, "AAPL": 0.01, "ESZ2026": 0.25}
PRICE_RANGE = {
    "EURUSD": (1.0, 1.2),
    "BTCUSD": (50_000, 70_000),
    "AAPL": (160, 220),
    "ESZ2026": (5_400, 6_200),
}
DAYS = 5


def run(*args: str | Path) -> None:
    subprocess.run([sys.executable, SCRIPT, *map(str, args)], check=True, capture_output=True)


def contents(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def replay() -> CsvReplay:
    options = CsvReplayOptions(ticks="ticks.csv.gz", bars="bars.csv.gz", start=ANCHOR)
    connector = CsvReplay(options, ConnectorContext("demo", DATA, {}))
    assert connector.validate() == []
    return connector


@pytest.fixture(scope="module")
def stream(replay: CsvReplay) -> dict[str, list[Tick]]:
    by_symbol: dict[str, list[Tick]] = defaultdict(list)
    for tick in replay.ticks_between(ANCHOR, ANCHOR + replay.period):
        by_symbol[tick.symbol].append(tick)
    return by_symbol


@pytest.fixture(scope="module")
def history(replay: CsvReplay) -> dict[str, list[Bar]]:
    return {s: replay.backfill(s, 0, 2**31) for s in TICK_SIZE}


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    run("--out", tmp_path / "a", "--seed", "3", "--days", "1", "--minutes", "2")
    run("--out", tmp_path / "b", "--seed", "3", "--days", "1", "--minutes", "2")
    run("--out", tmp_path / "c", "--seed", "4", "--days", "1", "--minutes", "2")
    a, b, c = (contents(tmp_path / x) for x in "abc")
    assert list(a) == ["bars.csv.gz", "ticks.csv.gz"]
    assert a == b
    assert a != c
    assert all(data[4:8] == b"\0\0\0\0" for data in a.values())  # gzip mtime 0


def test_the_committed_files_are_what_the_script_makes_by_default(tmp_path: Path) -> None:
    run("--out", tmp_path)
    fresh, committed = contents(tmp_path), contents(DATA)
    assert list(committed) == ["bars.csv.gz", "ticks.csv.gz"]
    # Compare the text: another zlib may compress the same text into other bytes.
    for name, data in fresh.items():
        assert gzip.decompress(committed[name]) == gzip.decompress(data), (
            f"{name} is stale: run tools/make_demo_data.py"
        )
    assert sum(len(d) for d in committed.values()) < 2_000_000


def on_tick(price: float, symbol: str) -> bool:
    steps = price / TICK_SIZE[symbol]
    return abs(steps - round(steps)) < 1e-6


def test_every_symbol_streams_trades_quotes_and_depth_all_the_time(
    stream: dict[str, list[Tick]], replay: CsvReplay
) -> None:
    assert replay.period == 3600
    assert sorted(stream) == sorted(TICK_SIZE)
    for symbol, ticks in stream.items():
        assert {type(t) for t in ticks} == {Trade, Quote, Depth}
        minutes = {int((t.time - ANCHOR) // 60) for t in ticks if isinstance(t, Trade)}
        assert minutes == set(range(60)), f"{symbol} has minutes without trades"


def test_stream_prices_are_on_the_tick_grid_with_positive_spreads(
    stream: dict[str, list[Tick]],
) -> None:
    for symbol, ticks in stream.items():
        low, high = PRICE_RANGE[symbol]
        trades = [t for t in ticks if isinstance(t, Trade)]
        quotes = [t for t in ticks if isinstance(t, Quote)]
        assert all(t.size > 0 and low < t.price < high for t in trades)
        assert all(on_tick(t.price, symbol) for t in trades)
        assert all(on_tick(q.bid, symbol) and on_tick(q.ask, symbol) for q in quotes)
        assert all(q.ask > q.bid and q.bid_size > 0 and q.ask_size > 0 for q in quotes)
        for depth in (t for t in ticks if isinstance(t, Depth)):
            assert len(depth.bids) == len(depth.asks) == 5
            assert depth.bids[-1][0] < depth.asks[0][0]
            assert all(on_tick(p, symbol) for p, _ in depth.bids + depth.asks)
    eurusd = [t for t in stream["EURUSD"] if isinstance(t, Quote)]
    pips = mean(q.ask - q.bid for q in eurusd) / 0.0001
    assert 0.5 < pips < 0.7


def test_forex_trades_at_the_mid_and_others_at_the_touch(stream: dict[str, list[Tick]]) -> None:
    for symbol, ticks in stream.items():
        quote: Quote | None = None
        for tick in ticks:
            if isinstance(tick, Quote):
                quote = tick
            elif isinstance(tick, Trade) and quote is not None:
                if symbol == "EURUSD":
                    assert quote.bid < tick.price < quote.ask
                else:
                    assert tick.price in (quote.bid, quote.ask)


def test_the_stream_ends_where_it_starts_so_loops_do_not_jump(
    stream: dict[str, list[Tick]],
) -> None:
    for symbol, ticks in stream.items():
        trades = [t for t in ticks if isinstance(t, Trade)]
        assert trades[0].time == ANCHOR
        assert trades[-1].time > ANCHOR + 3590
        assert abs(trades[-1].price - trades[0].price) <= 8 * TICK_SIZE[symbol], symbol


def in_session(symbol: str, t: float) -> bool:
    """The sessions of the demo's /symbol_info, written independently of the generator."""
    ny = dt.datetime.fromtimestamp(t, NEW_YORK)
    chicago = dt.datetime.fromtimestamp(t, CHICAGO)
    five_pm = dt.time(17, 0)
    if symbol == "AAPL":
        return ny.isoweekday() <= 5 and dt.time(9, 30) <= ny.time() < dt.time(16, 0)
    if symbol == "ESZ2026":
        day, now = chicago.isoweekday(), chicago.time()
        opens_tonight = day in (7, 1, 2, 3, 4) and now >= five_pm
        open_today = day in (1, 2, 3, 4, 5) and now < dt.time(16, 0)
        return opens_tonight or open_today
    if symbol == "EURUSD":
        day, now = ny.isoweekday(), ny.time()
        return (day == 7 and now >= five_pm) or day in (1, 2, 3, 4) or (day == 5 and now < five_pm)
    return True


def test_backfill_has_a_bar_for_exactly_every_session_minute(
    history: dict[str, list[Bar]],
) -> None:
    end = int(ANCHOR) // 60 * 60
    window = range(end - DAYS * 86_400, end, 60)
    for symbol, bars in history.items():
        expected = [t for t in window if in_session(symbol, t)]
        assert [b.time for b in bars] == expected, symbol
    assert len(history["BTCUSD"]) == DAYS * 1440
    assert len(history["AAPL"]) == 3 * 390  # Friday from 10:30, Monday, Tuesday, Wednesday to 10:30


def test_backfill_is_realistic_and_continues_into_the_stream(
    history: dict[str, list[Bar]], stream: dict[str, list[Tick]]
) -> None:
    for symbol, bars in history.items():
        low, high = PRICE_RANGE[symbol]
        for bar in bars:
            prices = (bar.open, bar.high, bar.low, bar.close)
            assert all(on_tick(p, symbol) and low < p < high for p in prices)
            assert bar.volume > 0
        first_trade = next(t for t in stream[symbol] if isinstance(t, Trade))
        assert bars[-1].close == first_trade.price
        assert bars[-1].time == int(ANCHOR) // 60 * 60 - 60


def test_the_stock_has_a_u_shaped_day_and_overnight_gaps(history: dict[str, list[Bar]]) -> None:
    by_clock: dict[str, list[float]] = defaultdict(list)
    for bar in history["AAPL"]:
        local = dt.datetime.fromtimestamp(bar.time, NEW_YORK).time()
        if local < dt.time(10, 0) or local >= dt.time(15, 30):
            by_clock["edges"].append(bar.volume)
        elif dt.time(12, 0) <= local < dt.time(14, 0):
            by_clock["midday"].append(bar.volume)
    assert mean(by_clock["edges"]) > 1.5 * mean(by_clock["midday"])
    bars = history["AAPL"]
    gaps = [b.open - a.close for a, b in itertools.pairwise(bars) if b.time - a.time > 60]
    assert len(gaps) == 3  # Friday→Monday, Monday→Tuesday, Tuesday→Wednesday
    assert any(abs(g) >= 0.05 for g in gaps)
