"""GET /history: TradingView's history acceptance tests, and bad input."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

from gateway.app import Gateway
from gateway.config import GatewayConfig
from gateway.config.model import Broker
from gateway.conformance.schemas import assert_valid
from gateway.market.pipeline import MarketRuntime
from gateway.plugins.records import Trade
from tests.conftest import FakeClock
from tests.market_app import WEDNESDAY_15H, build_market_gateway, minute_bars

START = WEDNESDAY_15H - 300 * 60  # 300 minutes of EURUSD before "now"
EMPTY = {"s": "ok", "t": [], "o": [], "h": [], "l": [], "c": [], "v": []}


@pytest.fixture
def history(
    demo_config: GatewayConfig, clock: FakeClock
) -> Iterator[tuple[webtest.TestApp, Gateway, MarketRuntime]]:
    clock.now = WEDNESDAY_15H + 30
    gateway, _, market = build_market_gateway(
        demo_config, clock, minute_bars("EURUSD", START, 300, 1.08)
    )
    yield webtest.TestApp(gateway.app), gateway, market
    gateway.close()


def get(app: webtest.TestApp, **params: object) -> dict[str, Any]:
    query = {"symbol": "EURUSD", "resolution": "1", **params}
    body: dict[str, Any] = app.get("/history", {k: str(v) for k, v in query.items()}).json
    if body.get("s") == "ok":
        assert_valid("getHistory", body)
    return body


def test_time_correctness_and_inclusive_bounds(history: Any) -> None:
    app = history[0]
    body = get(app, **{"from": START + 600, "to": START + 600 + 49 * 60})
    assert body["t"] == [START + 600 + 60 * i for i in range(50)]  # 50 bars, both ends in
    assert all(a < b for a, b in zip(body["t"], body["t"][1:], strict=False))
    assert len({len(body[k]) for k in "tohlcv"}) == 1


def test_from_equal_to_returns_exactly_that_bar(history: Any) -> None:
    body = get(history[0], **{"from": START + 60, "to": START + 60})
    assert body == {
        "s": "ok",
        "t": [START + 60],
        "o": [2.08],
        "h": [2.58],
        "l": [1.58],
        "c": [2.33],
        "v": [11],
    }


def test_a_window_not_aligned_to_minutes_includes_nothing_outside(history: Any) -> None:
    body = get(history[0], **{"from": START + 61, "to": START + 50 * 60 + 59})
    assert body["t"][0] == START + 120 and body["t"][-1] == START + 50 * 60
    assert len(body["t"]) == 49


def test_repeatability_and_short_queries_equal_one_large(history: Any) -> None:
    app = history[0]
    large = get(app, **{"from": START, "to": START + 200 * 60 - 1})
    assert get(app, **{"from": START, "to": START + 200 * 60 - 1}) == large
    parts: dict[str, list[Any]] = {k: [] for k in "tohlcv"}
    for i in range(10):
        piece = get(app, **{"from": START + i * 1200, "to": START + (i + 1) * 1200 - 1})
        for k in parts:
            parts[k] += piece[k]
    assert parts == {k: large[k] for k in "tohlcv"}
    assert len(large["t"]) == 200


def test_countback_returns_exactly_n_bars_ending_at_to(history: Any) -> None:
    app = history[0]
    body = get(app, **{"from": 0, "to": START + 99 * 60, "countback": 10})
    assert body["t"] == [START + 60 * i for i in range(90, 100)]
    # from is ignored with countback, even when it would exclude the bars
    assert get(app, **{"from": START + 99 * 60, "to": START + 99 * 60, "countback": 10}) == body
    shorter = get(app, **{"to": START + 4 * 60, "countback": 10})
    assert shorter["t"] == [START + 60 * i for i in range(5)]  # no older data exists


def test_future_to_is_answered_up_to_now(history: Any) -> None:
    app, _, _ = history
    body = get(app, **{"from": WEDNESDAY_15H - 600, "to": WEDNESDAY_15H + 86400})
    assert body["t"] and max(body["t"]) < WEDNESDAY_15H + 30
    daily = get(
        app,
        resolution="1D",
        **{"from": WEDNESDAY_15H - 86400 * 3, "to": WEDNESDAY_15H + 86400 * 10},
    )
    assert daily["t"] and max(daily["t"]) <= WEDNESDAY_15H


def test_empty_ranges_and_ranges_before_the_first_bar(history: Any) -> None:
    app = history[0]
    assert get(app, **{"from": START - 7200, "to": START - 60}) == EMPTY
    assert get(app, **{"from": START + 30, "to": START + 50}) == EMPTY


def test_closed_bars_never_change_while_the_feed_streams(history: Any) -> None:
    app, _, market = history
    clock: FakeClock = market._clock
    first = get(app, **{"from": WEDNESDAY_15H - 1800, "to": WEDNESDAY_15H})
    for i in range(240):  # two minutes of live trades
        clock.advance(0.5)
        market.publish(Trade("EURUSD", clock.now, 1.5 + i * 1e-5, 1000))
        market.close_due()
    later = get(app, **{"from": WEDNESDAY_15H - 1800, "to": WEDNESDAY_15H + 120})
    n = len(first["t"])
    assert {k: later[k][:n] for k in "tohlcv"} == {k: first[k] for k in "tohlcv"}
    assert later["t"][n:] == [WEDNESDAY_15H, WEDNESDAY_15H + 60]  # the two live minutes


def test_daily_bars_come_from_the_sessions_minute_bars(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    # AAPL trades 09:30-16:00 New York; EST on 16-18 Nov 2026 (UTC-5).
    days = [dt.date(2026, 11, 16), dt.date(2026, 11, 17)]
    bars = []
    for n, day in enumerate(days):
        open_ts = int(dt.datetime(day.year, day.month, day.day, 14, 30, tzinfo=dt.UTC).timestamp())
        bars += minute_bars("AAPL", open_ts, 390, 190.0 + n)
    clock.now = WEDNESDAY_15H
    gateway, _, _ = build_market_gateway(demo_config, clock, bars)
    app = webtest.TestApp(gateway.app)
    body = get(app, symbol="AAPL", resolution="1D", **{"from": 0, "to": WEDNESDAY_15H})
    midnights = [int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()) for d in days]
    assert body["t"] == midnights
    for n, day in enumerate(days):
        session = [
            b
            for b in bars
            if b.symbol == "AAPL" and dt.datetime.fromtimestamp(b.time, dt.UTC).date() == day
        ]
        assert body["o"][n] == session[0].open and body["c"][n] == session[-1].close
        assert body["h"][n] == max(b.high for b in session)
        assert body["v"][n] == sum(b.volume for b in session)
    assert get(app, symbol="AAPL", resolution="D", **{"from": midnights[1], "to": midnights[1]})[
        "t"
    ] == [midnights[1]]
    counted = get(app, symbol="AAPL", resolution="1D", to=WEDNESDAY_15H, countback=1)
    assert counted["t"] == [midnights[1]]
    gateway.close()


def test_the_ticker_names_the_symbol_too(demo_config: GatewayConfig, clock: FakeClock) -> None:
    clock.now = WEDNESDAY_15H
    gateway, _, _ = build_market_gateway(
        demo_config, clock, minute_bars("BTCUSD", WEDNESDAY_15H - 600, 5, 60000)
    )
    app = webtest.TestApp(gateway.app)
    by_ticker = get(app, symbol="BTC/USD", **{"from": 0, "to": WEDNESDAY_15H})
    assert len(by_ticker["t"]) == 5
    assert get(app, symbol="BTCUSD", **{"from": 0, "to": WEDNESDAY_15H}) == by_ticker
    gateway.close()


@pytest.mark.parametrize(
    ("spec", "before_first", "empty_with_older"),
    [
        ("1.4.14", EMPTY, EMPTY),
        ("1.3.27", {"s": "no_data"}, EMPTY),
        ("1.3.25", {"s": "no_data"}, {"s": "no_data", "nb": START + 299 * 60}),
    ],
)
def test_older_spec_versions_get_their_own_empty_answers(
    demo_config: GatewayConfig,
    clock: FakeClock,
    spec: str,
    before_first: object,
    empty_with_older: object,
) -> None:
    config = dataclasses.replace(demo_config, broker=Broker(name="Old", spec=spec))
    clock.now = WEDNESDAY_15H + 3600
    gateway, _, _ = build_market_gateway(config, clock, minute_bars("EURUSD", START, 300, 1.08))
    app = webtest.TestApp(gateway.app)
    assert (
        app.get(
            "/history", {"symbol": "EURUSD", "resolution": "1", "from": "0", "to": str(START - 60)}
        ).json
        == before_first
    )
    assert (
        app.get(
            "/history",
            {
                "symbol": "EURUSD",
                "resolution": "1",
                "from": str(WEDNESDAY_15H),
                "to": str(WEDNESDAY_15H + 600),
            },
        ).json
        == empty_with_older
    )
    gateway.close()


@pytest.mark.parametrize(
    ("params", "errmsg"),
    [
        ({"resolution": "1", "from": "0", "to": "1"}, "Missing required field: symbol."),
        ({"symbol": "EURUSD", "from": "0", "to": "1"}, "Missing required field: resolution."),
        ({"symbol": "EURUSD", "resolution": "1", "to": "1"}, "Missing required field: from."),
        ({"symbol": "EURUSD", "resolution": "1", "from": "1"}, "Missing required field: to."),
        ({"symbol": "NOPE", "resolution": "1", "from": "0", "to": "1"}, "Unknown symbol: NOPE."),
        (
            {"symbol": "eurusd", "resolution": "1", "from": "0", "to": "1"},
            "Unknown symbol: eurusd.",
        ),
        (
            {"symbol": "' OR 1=1 --", "resolution": "1", "from": "0", "to": "1"},
            "Unknown symbol: ' OR 1=1 --.",
        ),
        (
            {"symbol": "EURUSD", "resolution": "5", "from": "0", "to": "1"},
            "Unsupported resolution 5: use 1 or 1D.",
        ),
        (
            {"symbol": "EURUSD", "resolution": "1W", "from": "0", "to": "1"},
            "Unsupported resolution 1W: use 1 or 1D.",
        ),
        (
            {"symbol": "EURUSD", "resolution": "1", "from": "yesterday", "to": "1"},
            "Invalid value for from: not a number.",
        ),
        (
            {"symbol": "EURUSD", "resolution": "1", "from": "0", "to": "nan"},
            "Invalid value for to: out of range.",
        ),
        (
            {"symbol": "EURUSD", "resolution": "1", "from": "0", "to": "1e300"},
            "Invalid value for to: out of range.",
        ),
        (
            {"symbol": "EURUSD", "resolution": "1", "from": "100", "to": "50"},
            "Invalid range: from 100 is after to 50.",
        ),
        (
            {"symbol": "EURUSD", "resolution": "1", "to": "50", "countback": "0"},
            "Invalid value for countback: must be between 1 and 100000.",
        ),
    ],
)
def test_bad_requests_get_a_clear_errmsg(history: Any, params: dict[str, str], errmsg: str) -> None:
    resp = history[0].get("/history", params)
    assert resp.status_int == 200
    assert resp.json == {"s": "error", "errmsg": errmsg}


def test_without_market_data_the_data_endpoints_say_so(client: webtest.TestApp) -> None:
    body = client.get(
        "/history", {"symbol": "EURUSD", "resolution": "1", "from": "0", "to": "1"}
    ).json
    assert body == {"s": "error", "errmsg": "Market data is not configured on this server."}
