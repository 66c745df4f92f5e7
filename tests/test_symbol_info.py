"""GET /symbol_info: the configured symbols as aligned arrays, per group, behind data auth."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
import webtest

from gateway.api.symbol_info import FILL_DEFAULT, FILL_NULL, REQUIRED, symbol_info
from gateway.app import build
from gateway.config import GatewayConfig
from gateway.config.model import Group
from gateway.config.symbols import Symbol
from gateway.conformance.schemas import SYMBOL_INFO_FIELDS, SYMBOL_TYPES, TIMEZONES, assert_valid
from gateway.market.sessions import parse_session
from tests.conftest import FakeClock, bearer, login
from tests.test_unauthorized import BAD_TOKENS

DEMO_SYMBOLS = ["EURUSD", "BTCUSD", "AAPL", "ESZ2026"]
SESSIONS = ("session-regular", "session-extended", "session-premarket", "session-postmarket")


def acceptance_problems(resp: webtest.TestResponse) -> list[str]:
    """TradingView's symbol-info acceptance checks, applied to one live answer."""
    problems: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    check(resp.status_int == 200, f"status {resp.status_int}")
    check("application/json" in resp.headers["Content-Type"], "Content-Type is not JSON")
    body: dict[str, Any] = resp.json
    check(body.get("s") == "ok", "s is not ok")
    check("d" not in body, "symbols wrapped in d")
    symbols = body.get("symbol")
    check(isinstance(symbols, list) and bool(symbols), "symbol is not a non-empty array")
    count = len(symbols) if isinstance(symbols, list) else 0
    for key, values in body.items():
        if key != "s":
            check(isinstance(values, list) and len(values) == count, f"{key} not aligned")
    for key in ("symbol", "description"):
        check(all(isinstance(v, str) and v for v in body.get(key, [None])), f"{key}: not strings")
    for key in ("exchange-listed", "exchange-traded"):
        check(all(v == v.upper() for v in body.get(key, [""])), f"{key} not upper-case")
    check("currency" in body, "no currency")
    scales = body.get("pricescale", [None])
    check(
        all(
            isinstance(v, int) and not isinstance(v, bool) for v in body.get("minmovement", [None])
        ),
        "minmovement not integers",
    )
    fractional = body.get("fractional", [False] * count)
    for scale, frac in zip(scales, fractional, strict=False):
        base = 2 if frac else 10
        ok = isinstance(scale, int) and scale > 0 and scale == base ** round(math.log(scale, base))
        check(ok, f"pricescale {scale} is not a power of {base}")
    check(all(v in SYMBOL_TYPES for v in body.get("type", [None])), "type outside the set")
    check(all(v in TIMEZONES for v in body.get("timezone", [None])), "timezone outside the list")
    for key in SESSIONS:
        for value in body.get(key, []):
            if value is not None:
                parse_session(value)  # raises SessionError with the reason
    check(all("," not in v for v in body.get("ticker", [])), "ticker with a comma")
    assert_valid("getSymbolInfo", body)
    return problems


def with_data_auth(config: GatewayConfig) -> GatewayConfig:
    auth = dataclasses.replace(
        config.auth, data=dataclasses.replace(config.auth.data, mode="password_bearer")
    )
    return dataclasses.replace(config, auth=auth)


def without_groups(config: GatewayConfig) -> GatewayConfig:
    return dataclasses.replace(
        config,
        groups=(),
        users=tuple(dataclasses.replace(u, groups=()) for u in config.users),
        symbols=tuple(dataclasses.replace(s, group=None) for s in config.symbols),
    )


def test_every_configured_field_is_sent_aligned_with_symbol(client: webtest.TestApp) -> None:
    resp = client.get("/symbol_info")
    assert resp.content_type == "application/json"
    assert acceptance_problems(resp) == []
    body = resp.json
    assert body["symbol"] == DEMO_SYMBOLS
    assert set(body) == {
        "s", "symbol", "description", "currency", "base-currency", "exchange-listed",
        "exchange-traded", "minmovement", "minmovement2", "pricescale", "root",
        "root-description", "type", "typespecs", "volume-type", "ticker", "timezone",
        "session-regular", "session-extended", "session-premarket", "session-postmarket",
        "pointvalue", "expiration", "bar-source", "isin",
    }  # fmt: skip
    assert set(body) - {"s"} <= set(SYMBOL_INFO_FIELDS)
    assert body["ticker"] == ["EURUSD", "BTC/USD", "AAPL", "ESZ2026"]
    assert body["minmovement2"] == [10, 0, 0, 0]
    assert body["pricescale"] == [100000, 10, 100, 100]
    assert body["type"] == ["forex", "spot", "stock", "futures"]
    assert body["typespecs"] == [None, "crypto", None, None]
    assert body["volume-type"] == [None, "base", None, None]
    assert body["root"] == [None, None, None, "ES"]
    assert body["expiration"] == [None, None, None, 20261218]
    assert body["session-regular"] == [
        "1700-1700:23456",
        "24x7",
        "0930-1600:23456",
        "1700-1600:23456",
    ]
    assert body["session-premarket"] == [None, None, "0400-0930:23456", None]
    assert body["pointvalue"] == [1, 1, 1, 50]
    assert body["bar-source"] == ["mid", "trade", "trade", "trade"]
    assert body["isin"] == [None, None, "US0378331005", None]
    assert "group" not in body  # gateway-only


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("demo_forex", ["EURUSD"]),
        ("demo_crypto", ["BTCUSD"]),
        ("demo_stocks", ["AAPL", "ESZ2026"]),
    ],
)
def test_group_selects_its_symbols(
    client: webtest.TestApp, group: str, expected: list[str]
) -> None:
    resp = client.get("/symbol_info", {"group": group})
    assert acceptance_problems(resp) == []
    assert resp.json["symbol"] == expected


def test_a_groups_answer_leaves_out_what_none_of_its_symbols_sets(client: webtest.TestApp) -> None:
    body = client.get("/symbol_info", {"group": "demo_crypto"}).json
    assert body == {
        "s": "ok",
        "symbol": ["BTCUSD"],
        "description": ["Bitcoin / US Dollar"],
        "currency": ["USD"],
        "base-currency": ["BTC"],
        "exchange-listed": ["CRYPTO"],
        "exchange-traded": ["CRYPTO"],
        "minmovement": [5],
        "pricescale": [10],
        "type": ["spot"],
        "typespecs": ["crypto"],
        "volume-type": ["base"],
        "ticker": ["BTC/USD"],
        "timezone": ["Etc/UTC"],
        "session-regular": ["24x7"],
    }


def test_unknown_group_is_an_error(client: webtest.TestApp) -> None:
    resp = client.get("/symbol_info", {"group": "demo_futures", "locale": "de_DE"})
    assert resp.status_int == 200
    assert_valid("getSymbolInfo", resp.json)
    assert resp.json == {"s": "error", "errmsg": "Unknown symbol group: demo_futures."}


def test_an_empty_group_answers_empty_required_arrays(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    config = dataclasses.replace(demo_config, groups=(*demo_config.groups, Group("demo_bonds")))
    app = webtest.TestApp(build(config, clock=clock).app)
    body = app.get("/symbol_info", {"group": "demo_bonds"}).json
    assert body == {"s": "ok", **{key: [] for key in REQUIRED}}


def test_group_is_ignored_without_groups(demo_config: GatewayConfig, clock: FakeClock) -> None:
    app = webtest.TestApp(build(without_groups(demo_config), clock=clock).app)
    everything = app.get("/symbol_info").json
    assert everything["symbol"] == DEMO_SYMBOLS
    assert app.get("/symbol_info", {"group": "demo_crypto"}).json == everything
    assert app.get("/symbol_info", {"group": "anything"}).json == everything


def test_open_without_data_auth(client: webtest.TestApp) -> None:
    assert client.get("/symbol_info").json["s"] == "ok"


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_symbol_info_needs_a_token_when_data_auth_is_on(
    demo_config: GatewayConfig, clock: FakeClock, kind: str
) -> None:
    app = webtest.TestApp(build(with_data_auth(demo_config), clock=clock).app)
    headers = BAD_TOKENS[kind](app, clock)
    resp = app.get("/symbol_info", {"group": "demo_forex"}, headers=headers, expect_errors=True)
    assert resp.status_int == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.json["s"] == "error"
    good = app.get("/symbol_info", {"group": "demo_forex"}, headers=bearer(login(app)))
    assert acceptance_problems(good) == []
    assert good.json["symbol"] == ["EURUSD"]


# --- gaps: fields set for some symbols only -----------------------------------------------------

PLAIN = Symbol(
    symbol="SPX",
    description="S&P 500",
    currency="USD",
    exchange_listed="INDEX",
    exchange_traded="INDEX",
    minmovement=1,
    pricescale=100,
    type="index",
    timezone="America/New_York",
    session_regular="0930-1600:23456",
)
FULL = dataclasses.replace(
    PLAIN,
    symbol="GBPUSD",
    currency=None,
    base_currency="GBP",
    minmovement2=10,
    fractional=False,
    root="GB",
    root_description="Pound",
    has_intraday=False,
    has_no_volume=True,
    type="forex",
    typespecs="cfd",
    volume_type="tick",
    ticker="GBP/USD",
    session_extended="0900-1700:23456",
    session_premarket="0900-0930:23456",
    session_postmarket="1600-1700:23456",
    has_daily=False,
    has_weekly_and_monthly=True,
    pointvalue=2.5,
    expiration=20270101,
    bar_source="bid",
    bar_transform="openprev",
    bar_fillgaps=True,
    isin="US0378331005",
    wkn="865985",
)
"""Every field set (not a coherent symbol: the builder does not validate)."""


def test_gaps_are_null_where_the_spec_allows_it_else_the_spec_default() -> None:
    body = symbol_info([FULL, PLAIN])
    assert_valid("getSymbolInfo", body)
    sent = set(body) - {"s"}
    assert sent == set(SYMBOL_INFO_FIELDS) - {"is-cfd"}  # deprecated, never configurable
    assert sent == REQUIRED | FILL_NULL | set(FILL_DEFAULT) | {"ticker"}
    for key in FILL_NULL - {"currency"}:  # FULL has none, PLAIN has one
        assert body[key][1] is None, key
    for key, default in FILL_DEFAULT.items():
        assert body[key][1] == default, key
    assert body["ticker"] == ["GBP/USD", "SPX"]
    assert body["currency"] == [None, "USD"]
    assert body["bar-transform"] == ["openprev", "none"]
    assert body["pointvalue"] == [2.5, 1]


def test_fields_nobody_sets_are_left_out() -> None:
    body = symbol_info([PLAIN, dataclasses.replace(PLAIN, symbol="NDX")])
    assert_valid("getSymbolInfo", body)
    assert set(body) == {"s"} | REQUIRED
