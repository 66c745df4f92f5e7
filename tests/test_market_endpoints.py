"""GET /quotes, /depth, /stream/quotes and /streaming through the WSGI application."""

from __future__ import annotations

import dataclasses
import io
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

from gateway.app import Gateway, build
from gateway.config import GatewayConfig
from gateway.config.model import DataAuth
from gateway.conformance.schemas import assert_valid
from gateway.market.pipeline import MarketRuntime
from gateway.plugins.records import Depth, Quote, Trade
from tests.conftest import TV_ORIGIN, FakeClock, bearer, login
from tests.market_app import (
    WEDNESDAY_15H,
    build_market_gateway,
    fake_registry,
    minute_bars,
    with_fake_feed,
)
from tests.market_helpers import parse_lines

Market = tuple[webtest.TestApp, Gateway, MarketRuntime, str]


@pytest.fixture
def market(demo_config: GatewayConfig, clock: FakeClock) -> Iterator[Market]:
    clock.now = WEDNESDAY_15H
    gateway, _, rt = build_market_gateway(
        demo_config, clock, minute_bars("AAPL", WEDNESDAY_15H - 600, 5, 190.0)
    )
    app = webtest.TestApp(gateway.app)
    yield app, gateway, rt, login(app)
    gateway.close()


def quotes(app: webtest.TestApp, token: str, symbols: str, **extra: str) -> dict[str, Any]:
    params = {"locale": "en", "accountId": "DEMO-USD", "symbols": symbols, **extra}
    body: dict[str, Any] = app.get("/quotes", params, headers=bearer(token)).json
    assert_valid("getQuotes", body)
    return body


def test_quotes_name_each_symbol_as_requested(market: Market) -> None:
    app, _, rt, token = market
    rt.publish(Quote("EURUSD", WEDNESDAY_15H, 1.08001, 1e6, 1.08009, 2e6))
    rt.publish(Quote("BTCUSD", WEDNESDAY_15H, 60000.0, 1, 60000.5, 2))
    body = quotes(app, token, "EURUSD,BTC/USD,AAPL,NOPE")
    assert body["d"] == [
        {
            "s": "ok",
            "n": "EURUSD",
            "v": {"ask": 1.08009, "bid": 1.08001, "buyPipValue": 1e-4, "sellPipValue": 1e-4},
        },
        {
            "s": "ok",
            "n": "BTC/USD",
            "v": {"ask": 60000.5, "bid": 60000.0, "buyPipValue": 0.5, "sellPipValue": 0.5},
        },
        # Only history is known for AAPL (the last close), until its feed quotes it.
        {
            "s": "ok",
            "n": "AAPL",
            "v": {"ask": 194.25, "bid": 194.25, "buyPipValue": 0.01, "sellPipValue": 0.01},
        },
        {"s": "error", "n": "NOPE", "v": {"ask": 0, "bid": 0}},
    ]


def test_pip_values_are_converted_to_the_account_currency(market: Market) -> None:
    app, _, rt, token = market
    rt.publish(Quote("EURUSD", WEDNESDAY_15H, 1.08, 1e6, 1.1, 1e6))
    rt.publish(Quote("BTCUSD", WEDNESDAY_15H, 60000.0, 1, 60000.5, 2))
    eur = quotes(app, token, "EURUSD,BTCUSD", accountId="DEMO-EUR")["d"]
    # USD values (EURUSD pip 0.0001 per unit, BTCUSD pip 0.5) in a EUR account, through
    # EURUSD itself.
    assert eur[0]["v"]["buyPipValue"] == pytest.approx(1e-4 / 1.08)
    assert eur[0]["v"]["sellPipValue"] == pytest.approx(1e-4 / 1.1)
    assert eur[1]["v"]["buyPipValue"] == pytest.approx(0.5 / 1.08)
    usd = quotes(app, token, "EURUSD")["d"]  # DEMO-USD: already in USD
    assert usd[0]["v"]["buyPipValue"] == usd[0]["v"]["sellPipValue"] == 1e-4


@pytest.mark.parametrize(
    ("params", "errmsg"),
    [
        ({"symbols": "EURUSD"}, "Missing required field: accountId."),
        ({"accountId": "DEMO-USD"}, "Missing required field: symbols."),
        ({"accountId": "DEMO-USD", "symbols": " , "}, "Missing required field: symbols."),
        ({"accountId": "OTHER", "symbols": "EURUSD"}, "Unknown account: OTHER."),
        (
            {"accountId": "DEMO-USD", "symbols": ",".join(["X"] * 501)},
            "Invalid value for symbols: more than 500.",
        ),
    ],
)
def test_quote_requests_are_checked(market: Market, params: dict[str, str], errmsg: str) -> None:
    app, _, _, token = market
    assert app.get("/quotes", params, headers=bearer(token)).json == {
        "s": "error",
        "errmsg": errmsg,
    }


@pytest.mark.parametrize(
    ("url", "errmsg"),
    [
        ("/stream/quotes?symbols=EURUSD", "Missing required field: accountId."),
        ("/stream/quotes?accountId=DEMO-USD", "Missing required field: symbols."),
        ("/stream/quotes?accountId=DEMO-XXX&symbols=EURUSD", "Unknown account: DEMO-XXX."),
        ("/depth?accountId=DEMO-USD", "Missing required field: symbol."),
        ("/depth?accountId=%27%20OR%201%3D1&symbol=EURUSD", "Unknown account: ' OR 1=1."),
    ],
)
def test_stream_quotes_and_depth_check_their_parameters(
    market: Market, url: str, errmsg: str
) -> None:
    app, _, _, token = market
    resp = app.get(url, headers=bearer(token))
    assert resp.json == {"s": "error", "errmsg": errmsg}


def test_quotes_and_depth_need_a_trading_token(market: Market) -> None:
    app = market[0]
    for url in (
        "/quotes?accountId=DEMO-USD&symbols=EURUSD",
        "/depth?accountId=DEMO-USD&symbol=EURUSD",
        "/stream/quotes?accountId=DEMO-USD&symbols=EURUSD",
    ):
        resp = app.get(url, headers={"Origin": TV_ORIGIN}, expect_errors=True)
        assert resp.status_int == 401
        assert resp.headers["Access-Control-Allow-Origin"] == TV_ORIGIN


def test_depth_is_replayed_or_synthetic_and_ascending(market: Market) -> None:
    app, _, rt, token = market
    params = {"accountId": "DEMO-USD", "symbol": "EURUSD"}
    empty = app.get("/depth", params, headers=bearer(token)).json
    assert empty == {"s": "ok", "d": {"asks": [], "bids": []}}
    rt.publish(Quote("EURUSD", WEDNESDAY_15H, 1.08001, 1e6, 1.08009, 2e6))
    synthetic = app.get("/depth", params, headers=bearer(token)).json
    assert_valid("getDepth", synthetic)
    asks, bids = synthetic["d"]["asks"], synthetic["d"]["bids"]
    assert len(asks) == len(bids) == 10
    assert asks[0] == [1.08009, 2e6] and bids[-1] == [1.08001, 1e6]
    assert [a[0] for a in asks] == sorted(a[0] for a in asks)
    assert [b[0] for b in bids] == sorted(b[0] for b in bids)
    assert asks[1][0] == pytest.approx(1.0801)
    rt.publish(Depth("EURUSD", WEDNESDAY_15H, ((1.07, 5.0), (1.08, 3.0)), ((1.09, 2.0),)))
    replayed = app.get("/depth", params, headers=bearer(token)).json
    assert replayed == {"s": "ok", "d": {"asks": [[1.09, 2.0]], "bids": [[1.07, 5.0], [1.08, 3.0]]}}
    unknown = app.get("/depth", {**params, "symbol": "NOPE"}, headers=bearer(token)).json
    assert unknown == {"s": "error", "errmsg": "Unknown symbol: NOPE."}


def _start(app: webtest.TestApp, url: str, headers: dict[str, str]) -> tuple[str, Any]:
    """Call the WSGI app directly, so that an endless body can be read piece by piece."""
    status: list[str] = []
    path, _, query = url.partition("?")
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
        "REMOTE_ADDR": "127.0.0.1",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    }  # fmt: skip
    body = app.app(environ, lambda s, h, exc=None: status.append(s))
    return status[0], body


def test_stream_quotes_sends_a_snapshot_then_changes_then_pings(market: Market) -> None:
    app, _, rt, token = market
    rt.settings = dataclasses.replace(rt.settings, heartbeat_seconds=0.05)
    rt.publish(Quote("EURUSD", WEDNESDAY_15H, 1.0, 1, 1.1, 1))
    status, body = _start(
        app, "/stream/quotes?accountId=DEMO-USD&symbols=EURUSD,BTCUSD", bearer(token)
    )
    assert status.startswith("200")
    chunks = iter(body)
    snapshot = parse_lines(next(chunks))
    assert [q["n"] for q in snapshot[0]] == ["EURUSD", "BTCUSD"]
    assert snapshot[0][1]["s"] == "error"
    rt.publish(Quote("BTCUSD", WEDNESDAY_15H + 1, 60000, 1, 60001, 1))
    update = parse_lines(next(chunks))
    assert update == [
        [
            {
                "s": "ok",
                "n": "BTCUSD",
                "v": {"ask": 60001, "bid": 60000, "buyPipValue": 0.5, "sellPipValue": 0.5},
            }
        ]
    ]
    rt.publish(Trade("AAPL", WEDNESDAY_15H + 2, 195, 1))  # not subscribed: no message
    assert parse_lines(next(chunks)) == [{"s": "ok"}]  # ping after the quiet interval
    body.close()


def test_streaming_sends_trades_quotes_and_heartbeats_to_every_connection(
    market: Market,
) -> None:
    app, _, rt, _ = market
    bodies = [_start(app, "/streaming", {})[1] for _ in range(4)]
    firsts = [parse_lines(next(iter(b))) for b in bodies]
    assert firsts == [[{"heartbeat": WEDNESDAY_15H}]] * 4
    assert rt.hub.connections == 4
    rt.publish(Trade("BTCUSD", WEDNESDAY_15H + 1.7, 60000.5, 0.25))
    rt.publish(Quote("BTCUSD", WEDNESDAY_15H + 1.7, 60000, 1, 60001, 2))
    received = [next(iter(b)) for b in bodies]
    assert len(set(received)) == 1
    assert parse_lines(received[0]) == [
        {"f": "t", "id": "BTC/USD", "p": 60000.5, "s": 0.25, "t": WEDNESDAY_15H + 1},
        {
            "f": "q",
            "id": "BTC/USD",
            "t": WEDNESDAY_15H + 1,
            "ap": 60001,
            "as": 2,
            "bp": 60000,
            "bs": 1,
        },
    ]
    for b in bodies:
        b.close()
    assert rt.hub.connections == 0


def test_streaming_headers_keep_proxies_from_buffering(market: Market) -> None:
    app = market[0]
    captured: list[list[tuple[str, str]]] = []
    environ = webtest.TestRequest.blank("/streaming").environ
    body = app.app(environ, lambda s, h, exc=None: captured.append(h))
    headers = dict(captured[0])
    assert headers["content-type"].startswith("application/json")
    assert headers["x-accel-buffering"] == "no"
    assert "content-length" not in headers  # the server sends it chunked
    list(itertools.islice(iter(body), 1))
    body.close()


def test_data_endpoints_need_a_token_when_data_auth_is_on(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    auth = dataclasses.replace(demo_config.auth, data=DataAuth(mode="password_bearer"))
    config = with_fake_feed(dataclasses.replace(demo_config, auth=auth))
    gateway = build(config, clock=clock, registry=fake_registry())
    gateway.start()
    app = webtest.TestApp(gateway.app)
    for url in (
        "/streaming",
        "/history?symbol=EURUSD&resolution=1&from=0&to=1",
        "/symbol_info",
        "/groups",
    ):
        assert app.get(url, expect_errors=True).status_int == 401
    token = login(app)
    assert (
        app.get("/history?symbol=EURUSD&resolution=1&from=0&to=1", headers=bearer(token)).json["s"]
        == "ok"
    )
    gateway.close()
