"""TradingView's streaming acceptance tests, shortened, against the demo under gunicorn.

One recording of 16 simultaneous /streaming connections (two minutes by default, enough for two
daily-bar updates; GATEWAY_TEST_STREAM_SECONDS shortens it on a laptop) feeds every check:
chunked transfer, a permanent connection, message formats, trades and quotes for every symbol in
session, known symbols only, time that never decreases, delays under 5 s, daily-bar updates,
identical data on every connection, and 1-minute bars built from the streamed trades equal to
/history.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.config import GatewayConfig, load_config
from gateway.market.sessions import SessionCalendar, parse_session
from gateway.plugins.records import Bar
from tests.conftest import DEMO
from tests.live_gateway import LiveGateway, copy_demo, serve
from tests.market_helpers import bars_from_trades
from tests.stream_client import Received, StreamClient

SECONDS = float(os.environ.get("GATEWAY_TEST_STREAM_SECONDS", "120"))
CONNECTIONS = 16


@dataclass
class Recording:
    gateway: LiveGateway
    config: GatewayConfig
    clients: list[StreamClient]
    started: float
    stopped: float
    open_ids: set[str]  # stream ids of symbols whose session was open all along

    def messages(self, n: int = 0, kinds: tuple[str, ...] = ("t", "q", "d")) -> list[Received]:
        return [r for r in self.clients[n].messages if r.message.get("f") in kinds]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    config_path = copy_demo(DEMO.parent, tmp_path_factory.mktemp("live"))
    config = load_config(config_path)
    with serve(config_path) as gateway:
        clients = [StreamClient("127.0.0.1", gateway.port).open() for _ in range(CONNECTIONS)]
        for client in clients:
            client.wait_for_first()
        started = time.time()
        time.sleep(SECONDS)
        stopped = time.time()
        # Let the minute in progress close (the closer runs every second) before comparing.
        time.sleep(60 - stopped % 60 + 2.5)
        for client in clients:
            client.close()
        open_ids = set()
        for s in config.symbols:
            calendar = SessionCalendar(parse_session(s.session_regular), s.timezone)
            if all(calendar.is_open(t) for t in range(int(started), int(stopped) + 1, 15)):
                open_ids.add(s.ticker or s.symbol)
        yield Recording(gateway, config, clients, started, stopped, open_ids)


@pytest.mark.slow
def test_transfer_encoding_is_chunked(recording: Recording) -> None:
    for client in recording.clients:
        assert client.status == "HTTP/1.1 200 OK"
        assert client.headers["transfer-encoding"] == "chunked"
        assert client.headers["content-type"].startswith("application/json")
        assert "content-length" not in client.headers


@pytest.mark.slow
def test_the_connection_stays_open_and_keeps_delivering(recording: Recording) -> None:
    for client in recording.clients:
        assert not client.closed_by_server
        assert client.messages[-1].at > recording.stopped
        gaps = [b.at - a.at for a, b in zip(client.messages, client.messages[1:], strict=False)]
        assert max(gaps) < 6  # a heartbeat at the latest every 5 s of silence


SHAPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "t": {"f": str, "id": str, "p": (int, float), "s": (int, float), "t": int},
    "q": {"f": str, "id": str, "t": int, "ap": (int, float), "as": (int, float),
          "bp": (int, float), "bs": (int, float)},
    "d": {"f": str, "id": str, "o": (int, float), "h": (int, float), "l": (int, float),
          "c": (int, float), "v": (int, float), "t": int},
}  # fmt: skip


@pytest.mark.slow
def test_every_message_has_the_spec_format(recording: Recording) -> None:
    for received in recording.clients[0].messages:
        m = received.message
        if "heartbeat" in m:
            assert set(m) == {"heartbeat"} and isinstance(m["heartbeat"], int)
            continue
        shape = SHAPES[m["f"]]
        assert set(m) == set(shape), m
        assert all(isinstance(m[k], t) and not isinstance(m[k], bool) for k, t in shape.items())
        if m["f"] == "t":
            assert m["s"] > 0
        if m["f"] == "q":
            assert m["bp"] <= m["ap"]
        if m["f"] == "d":
            assert m["l"] <= min(m["o"], m["c"]) <= max(m["o"], m["c"]) <= m["h"]


@pytest.mark.slow
def test_trades_and_quotes_of_every_symbol_in_session(recording: Recording) -> None:
    assert recording.open_ids, "at least the 24x7 crypto pair is always in session"
    for sid in recording.open_ids:
        kinds = {r.message["f"] for r in recording.messages() if r.message["id"] == sid}
        assert {"t", "q"} <= kinds, sid


@pytest.mark.slow
def test_only_known_symbols_stream(recording: Recording) -> None:
    info = recording.gateway.get("/symbol_info")
    known = set(info.get("ticker", [])) | set(info["symbol"])
    assert {r.message["id"] for r in recording.messages()} <= known


@pytest.mark.slow
def test_time_never_decreases_per_symbol_and_kind(recording: Recording) -> None:
    for client in recording.clients:
        last: dict[tuple[str, str], int] = {}
        for r in client.messages:
            m = r.message
            if "f" in m:
                key = (m["id"], m["f"])
                assert m["t"] >= last.get(key, 0), m
                last[key] = m["t"]


@pytest.mark.slow
def test_no_delays(recording: Recording) -> None:
    delays = [r.at - r.message["t"] for r in recording.messages(kinds=("t", "q"))]
    assert delays
    # t is whole seconds (floored), so a prompt message arrives 0-1 s after its t.
    assert max(delays) < 5 and min(delays) > -1
    assert sorted(delays)[len(delays) * 99 // 100] < 1.5


@pytest.mark.slow
def test_daily_bars_update_during_the_day(recording: Recording) -> None:
    daily = recording.messages(kinds=("d",))
    for sid in recording.open_ids:
        updates = [r.message for r in daily if r.message["id"] == sid]
        assert updates, sid
        assert all(u["t"] % 86400 == 0 for u in updates)  # 00:00 UTC of the trading day
        if SECONDS >= 120:
            assert len(updates) >= 2 and updates[-1]["v"] >= updates[0]["v"]


def _ticks(client: StreamClient) -> list[dict[str, Any]]:
    return [r.message for r in client.messages if r.message.get("f") in ("t", "q")]


@pytest.mark.slow
def test_every_connection_receives_the_same_data(recording: Recording) -> None:
    sequences = [_ticks(c) for c in recording.clients]
    # Connections subscribed a few milliseconds apart: align on the latest one's first ticks.
    latest = max(sequences, key=lambda s: recording.clients[sequences.index(s)].messages[0].at)
    anchor = latest[:20]
    aligned = []
    for seq in sequences:
        start = next(i for i in range(len(seq)) if seq[i : i + 20] == anchor)
        aligned.append(seq[start:])
    length = min(len(a) for a in aligned)
    assert length > 100
    assert all(a[:length] == aligned[0][:length] for a in aligned)


@pytest.mark.slow
def test_history_equals_bars_built_from_the_streamed_trades(recording: Recording) -> None:
    first_minute = math.ceil(recording.started / 60) * 60
    last_minute = math.floor(recording.stopped / 60) * 60 - 60  # last minute fully recorded
    assert last_minute >= first_minute, "record at least two minutes to compare whole minutes"
    trades = [r.message for r in recording.messages() if first_minute <= r.message["t"]
              < last_minute + 60]  # fmt: skip
    compared = 0
    for sid in recording.open_ids:
        built = bars_from_trades(trades, sid)
        symbol = next(s.symbol for s in recording.config.symbols if (s.ticker or s.symbol) == sid)
        history = recording.gateway.get(
            "/history", symbol=sid, resolution="1", **{"from": first_minute, "to": last_minute}
        )
        assert history["s"] == "ok", history
        stored = [Bar(sid, *row) for row in zip(*(history[k] for k in "tohlcv"), strict=True)]
        assert stored == built, f"{symbol}: history differs from the streamed trades"
        compared += len(built)
    assert compared >= len(recording.open_ids)


# --- TradingView's history tests against the same live demo (its replayed back-fill) ---------


def _history(recording: Recording, **params: object) -> dict[str, Any]:
    body: dict[str, Any] = recording.gateway.get(
        "/history", symbol="BTC/USD", **{"resolution": "1", **params}
    )
    assert body["s"] == "ok", body
    return body


@pytest.mark.slow
def test_live_history_bounds_order_and_repeatability(recording: Recording) -> None:
    # A 50-minute window whose first and last minutes have bars (idle minutes have none).
    around = math.floor(recording.started / 60) * 60 - 3600  # inside the imported back-fill
    times = set(_history(recording, **{"from": around - 7200, "to": around})["t"])
    end = next(t for t in sorted(times, reverse=True) if t - 49 * 60 in times)
    window = _history(recording, **{"from": end - 49 * 60, "to": end})
    assert window["t"][0] == end - 49 * 60 and window["t"][-1] == end  # both bounds included
    assert len(window["t"]) <= 50 and all(t in times for t in window["t"])
    assert all(a < b for a, b in zip(window["t"], window["t"][1:], strict=False))
    assert _history(recording, **{"from": end - 49 * 60, "to": end}) == window
    exact = _history(recording, **{"from": end, "to": end})
    assert exact["t"] == [end] and exact["c"] == window["c"][-1:]


@pytest.mark.slow
def test_live_history_short_queries_equal_one_large(recording: Recording) -> None:
    start = math.floor(recording.started / 60) * 60 - 3 * 3600
    large = _history(recording, **{"from": start, "to": start + 200 * 60 - 1})
    joined: dict[str, list[Any]] = {k: [] for k in "tohlcv"}
    for i in range(10):
        part = _history(recording, **{"from": start + i * 1200, "to": start + (i + 1) * 1200 - 1})
        for k in joined:
            joined[k] += part[k]
    assert joined == {k: large[k] for k in "tohlcv"} and len(large["t"]) > 100


@pytest.mark.slow
def test_live_history_countback_and_future(recording: Recording) -> None:
    end = math.floor(recording.started / 60) * 60 - 600
    counted = _history(recording, to=end, countback=10)
    before = _history(recording, **{"from": end - 7200, "to": end})
    assert counted["t"] == before["t"][-10:]  # exactly the 10 latest bars up to `to`
    future = _history(recording, **{"from": end, "to": int(time.time()) + 86400})
    assert future["t"] and max(future["t"]) < time.time()


@pytest.mark.slow
def test_live_daily_bars_match_their_sessions_minute_bars(recording: Recording) -> None:
    yesterday = math.floor(recording.started / 86400) * 86400 - 86400  # 00:00 UTC, 24x7 pair
    daily = _history(recording, resolution="1D", **{"from": yesterday, "to": yesterday})
    minutes = _history(recording, **{"from": yesterday, "to": yesterday + 86399})
    assert daily["t"] == [yesterday]
    assert daily["o"] == minutes["o"][:1] and daily["c"] == minutes["c"][-1:]
    assert daily["h"] == [max(minutes["h"])] and daily["l"] == [min(minutes["l"])]
    assert daily["v"][0] == pytest.approx(sum(minutes["v"]))


@pytest.mark.slow
def test_live_empty_range_before_the_first_bar(recording: Recording) -> None:
    body = _history(recording, **{"from": 0, "to": 86400})
    assert body == {"s": "ok", "t": [], "o": [], "h": [], "l": [], "c": [], "v": []}
