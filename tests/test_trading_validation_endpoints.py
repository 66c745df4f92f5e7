"""Bad requests to the other trading endpoints, and sweeps over every trading route.

Executions, order history, balances, leverage and trackLatency refuse bad parameters; every
flag-gated operation says ``not supported`` with its flag off; every account route answers
401 without a valid token, the same ``unknown account`` for another user's account as for a
missing one, and ``trading unavailable`` without a venue; and NUL bytes are refused before
they reach PostgreSQL. Like test_trading_validation.py, each test sends one paper-trading
desk a table of bad requests (see tests/trading_checks.py): every answer must be exactly the
expected one and must leave orders, positions, account states and the store's row counts as
they were.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import webtest

from gateway.config import GatewayConfig
from tests.conftest import bearer, with_store
from tests.servers import POSTGRES_URL, require, reset_gateway_tables
from tests.trading_app import desk
from tests.trading_checks import (
    EUR,
    FORM_TYPE,
    LATENCY,
    LEVERAGE,
    NOT_POSITIVE,
    OPERATIONS,
    SIDES,
    USD,
    Call,
    call,
    check,
    clip,
    conforms,
    error,
    invalid,
    joined,
    limit,
    market,
    missing,
    placed,
    placing,
    position_id,
    request,
    unsupported,
    url_of,
    world,
)

# -- features an account does not offer -----------------------------------------------------------


def test_features_switched_off(demo_config: GatewayConfig) -> None:
    """Every flag-gated operation on DEMO-USD with its flag off, and on DEMO-EUR as shipped."""
    flags = {
        "support_trailing_stop": False,
        "support_partial_close_position": False,
        "support_native_reverse_position": False,
        "support_position_brackets": False,
        "support_place_order_preview": False,
        "support_modify_order_preview": False,
        "support_orders_history": False,
        "support_executions": False,
        "support_leverage": False,
        "support_track_latency": False,
    }
    with desk(demo_config, flags=flags) as d:
        order = placed(d, **limit())
        placed(d, **market())
        pos = position_id(d)
        calls = [
            placing("trailing", limit(trailingStopPips=50), unsupported("trailing stops")),
            call(
                "closePosition",
                "partial close",
                {"amount": 1000},
                unsupported("partial closes"),
                id=pos,
            ),
            call(
                "modifyPosition",
                "reverse",
                {"side": "sell"},
                unsupported("reversing a position"),
                id=pos,
            ),
            call("modifyPosition", "brackets", {"stopLoss": 1.07}, unsupported("brackets"), id=pos),
            call("previewOrder", "modify preview", limit(id=order), unsupported("order previews")),
            call(
                "getExecutions", "executions", None, unsupported("executions"), instrument="EURUSD"
            ),
        ]
        for account in (USD, EUR):
            lev = LEVERAGE | {"leverage": 10}
            calls += [
                call(
                    "getOrdersHistory", account, None, unsupported("order history"), account=account
                ),
                call("getBalances", account, None, unsupported("balances"), account=account),
                call("getLeverage", account, LEVERAGE, unsupported("leverage"), account=account),
                call("setLeverage", account, lev, unsupported("leverage"), account=account),
                call("previewLeverage", account, lev, unsupported("leverage"), account=account),
                call(
                    "trackLatency",
                    account,
                    LATENCY,
                    unsupported("latency tracking"),
                    account=account,
                ),
                call(
                    "previewOrder", account, limit(), unsupported("order previews"), account=account
                ),
            ]
        check(d, calls)


# -- executions, history, leverage, latency -------------------------------------------------------


def test_history_and_executions_parameters(demo_config: GatewayConfig) -> None:
    not_a_number = invalid("maxCount", "not a number")
    below_one = invalid("maxCount", "must be at least 1")
    with desk(demo_config) as d:
        placed(d, **market())
        check(
            d,
            [
                call("getExecutions", "no instrument", None, missing("instrument")),
                call(
                    "getExecutions", "blank instrument", None, missing("instrument"), instrument=""
                ),
                call(
                    "getExecutions",
                    "NOPE",
                    None,
                    error("unknown_instrument", instrument="NOPE"),
                    instrument="NOPE",
                ),
                call(
                    "getExecutions",
                    "EUR: AAPL",
                    None,
                    error("unknown_instrument", instrument="AAPL"),
                    account=EUR,
                    instrument="AAPL",
                ),
                call(
                    "getExecutions",
                    "maxCount abc",
                    None,
                    not_a_number,
                    instrument="EURUSD",
                    maxCount="abc",
                ),
                call(
                    "getExecutions",
                    "maxCount nan",
                    None,
                    not_a_number,
                    instrument="EURUSD",
                    maxCount="nan",
                ),
                call(
                    "getExecutions",
                    "maxCount 0",
                    None,
                    below_one,
                    instrument="EURUSD",
                    maxCount="0",
                ),
                call(
                    "getExecutions",
                    "maxCount -5",
                    None,
                    below_one,
                    instrument="EURUSD",
                    maxCount="-5",
                ),
                call("getOrdersHistory", "maxCount abc", None, not_a_number, maxCount="abc"),
                call("getOrdersHistory", "maxCount 0", None, below_one, maxCount="0"),
            ],
        )


def test_max_count_beyond_any_integer(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        for path, query in (
            ("/executions", {"instrument": "EURUSD", "maxCount": "inf"}),
            ("/ordersHistory", {"maxCount": "1e400"}),
        ):
            resp = request(d, "GET", url_of(USD, path, query))
            assert resp.status_int == 200, resp.text
            assert resp.json["errmsg"].startswith("Invalid value for maxCount: "), resp.json


def test_leverage_refuses_bad_requests(demo_config: GatewayConfig) -> None:
    def setting(name: str, expected: Any, **changes: Any) -> Call:
        return call("setLeverage", name, joined(LEVERAGE, {"leverage": 10}, changes), expected)

    def out_of_range(value: object, high: int = 30) -> dict[str, str]:
        return error("leverage_range", leverage=value, min=1, max=high, step=1)

    def preview(value: object) -> Call:
        answer = {"s": "ok", "d": {"errors": [out_of_range(value)["errmsg"]]}}
        return call("previewLeverage", f"preview {value}", LEVERAGE | {"leverage": value}, answer)

    order_types = "expected market or stop or limit or stoplimit"
    with desk(demo_config) as d:
        placed(d, **market())
        d.post("/setLeverage", "setLeverage", LEVERAGE | {"side": "sell", "leverage": 10})
        check(
            d,
            [
                setting("31", out_of_range(31), leverage=31),
                setting("off the step", out_of_range(2.5), leverage=2.5),
                setting("AAPL (1 to 1)", out_of_range(2, high=1), leverage=2, instrument="AAPL"),
                setting("0", invalid("leverage", NOT_POSITIVE), leverage=0),
                setting("abc", invalid("leverage", "not a number"), leverage="abc"),
                setting("no leverage", missing("leverage"), leverage=None),
                setting("no instrument", missing("instrument"), instrument=None),
                setting("NOPE", error("unknown_instrument", instrument="NOPE"), instrument="NOPE"),
                setting("side hold", invalid("side", SIDES), side="hold"),
                setting("no orderType", missing("orderType"), orderType=None),
                setting(
                    "orderType iceberg", invalid("orderType", order_types), orderType="iceberg"
                ),
                call(
                    "getLeverage", "get: no side", joined(LEVERAGE, {"side": None}), missing("side")
                ),
                call(
                    "getLeverage",
                    "get: NOPE",
                    LEVERAGE | {"instrument": "NOPE"},
                    error("unknown_instrument", instrument="NOPE"),
                ),
                preview(31),
                preview(0.5),
                call(
                    "previewLeverage",
                    "preview abc",
                    LEVERAGE | {"leverage": "abc"},
                    invalid("leverage", "not a number"),
                ),
            ],
        )
        for side, chosen in (("buy", 30), ("sell", 10)):
            answer = d.post("/getLeverage", "getLeverage", LEVERAGE | {"side": side})
            assert answer["d"]["leverage"] == chosen, answer


def test_track_latency_refuses_bad_reports(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        transaction = d.try_place(**limit())["d"]["transactionId"]
        report = LATENCY | {"transactionId": transaction}

        def latency(name: str, expected: Any, **changes: Any) -> Call:
            return call("trackLatency", name, joined(report, changes), expected)

        required = ("transactionId", "transactionType", "instrument", "side", "ask", "bid")
        check(
            d,
            [
                latency(
                    "unknown",
                    error("unknown_transaction", transaction="nope"),
                    transactionId="nope",
                ),
                *(latency(f"no {name}", missing(name), **{name: None}) for name in required),
                latency("no timestamp", missing("timestamp"), timestamp=None),
                latency(
                    "no roundTripDuration", missing("roundTripDuration"), roundTripDuration=None
                ),
                latency("side hold", invalid("side", SIDES), side="hold"),
                latency("ask abc", invalid("ask", "not a number"), ask="abc"),
                latency(
                    "timestamp inf", invalid("timestamp", "not a finite number"), timestamp="inf"
                ),
            ],
        )
        with d.gateway.services.database.engine.connect() as conn:
            reported = conn.execute(
                sa.text("SELECT reported_at FROM gw_transactions WHERE id = :id"),
                {"id": transaction},
            ).scalar_one()
        assert reported is None
        assert d.post("/trackLatency", "trackLatency", report) == {"s": "ok"}


def test_track_latency_names_every_transaction_type(demo_config: GatewayConfig) -> None:
    kinds = (
        "expected place_order or modify_order or cancel_order or modify_position or "
        "close_position or modify_individual_position or close_individual_position or "
        "close_net_position"
    )
    with desk(demo_config) as d:
        bogus = LATENCY | {"transactionType": "buy_order"}
        check(d, [call("trackLatency", "bogus type", bogus, invalid("transactionType", kinds))])


# -- every route: authentication, accounts, trading switched off ----------------------------------


def real_id(op: str, order: str, position: str) -> str:
    """The id an operation's path takes: an order, a position or a net position."""
    template = OPERATIONS[op][1]
    if "{order_id}" in template:
        return order
    return "EURUSD" if "{net_position_id}" in template else position


def test_no_token_on_every_trading_route(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        order = placed(d, **limit())
        placed(d, **market())
        position = position_id(d)
        before = world(d)
        body = urllib.parse.urlencode(market()).encode()
        problems = []
        for op in OPERATIONS:
            c = call(op, op, None, None, id=real_id(op, order, position))
            url = url_of(USD, c.path)
            for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic ZGVtbzpkZW1v"}):
                resp = request(d, c.method, url, body, headers=headers)
                if (resp.status_int, resp.json) != (401, error("unauthorized")):
                    problems.append(f"{c.method} {url} {headers}: {resp.status_int} {resp.text}")
                    continue
                conforms(op, resp.json)
                assert resp.headers["WWW-Authenticate"] == 'Bearer realm="broker"'
        assert not problems, "\n".join(problems)
        assert world(d) == before


def test_unknown_account_on_every_trading_route(demo_config: GatewayConfig) -> None:
    """The same answer for another user's account as for one that does not exist."""
    (user,) = demo_config.users
    config = dataclasses.replace(
        demo_config,
        users=(
            dataclasses.replace(user, accounts=(USD,)),
            dataclasses.replace(user, login="other", accounts=(EUR,)),
        ),
    )
    strangers = (EUR, "NOPE", "demo-usd", "'; DROP TABLE gw_orders; --", "A" * 100, "ユーロ")
    with desk(config) as d:
        order = placed(d, **limit())
        placed(d, **market())
        position = position_id(d)
        check(
            d,
            [
                call(
                    op,
                    f"{op} as {account[:12]!r}",
                    market(),
                    error("unknown_account", account=clip(account)),
                    id=real_id(op, order, position),
                    account=account,
                )
                for op in OPERATIONS
                for account in strangers
            ],
            accounts=(USD,),
        )


def test_trading_not_configured(client: webtest.TestApp, token: str) -> None:
    """Without a venue every trading route says so, once the account checked out."""
    body = urllib.parse.urlencode(market()).encode()
    headers = bearer(token) | {"Content-Type": FORM_TYPE}
    problems = []
    for op in OPERATIONS:
        if op == "getInstruments":
            continue  # from the configuration, trading or not
        for account, expected in (
            (USD, error("trading_unavailable")),
            ("NOPE", error("unknown_account", account="NOPE")),
        ):
            c = call(op, op, None, expected, id=real_id(op, "1", "1"), account=account)
            url = url_of(account, c.path)
            resp = client.request(
                url, method=c.method, body=body, headers=headers, expect_errors=True
            )
            if (resp.status_int, resp.json) != (200, expected):
                problems.append(f"{c.method} {url}: {resp.status_int} {resp.text}")
                continue
            conforms(op, resp.json)
    assert not problems, "\n".join(problems)


# -- PostgreSQL ----------------------------------------------------------------------------------


@pytest.fixture
def postgres_config(demo_config: GatewayConfig) -> Iterator[GatewayConfig]:
    """The demo on the test PostgreSQL server (skipped without one, as tests/servers.py says)."""
    url = require(POSTGRES_URL)
    reset_gateway_tables(url)
    yield with_store(demo_config, url)
    reset_gateway_tables(url)


def test_nul_bytes_on_postgresql(postgres_config: GatewayConfig) -> None:
    with desk(postgres_config) as d:
        placed(d, **limit())
        latency = LATENCY | {"transactionId": "a\x00b"}
        check(
            d,
            [
                placing(
                    "requestId",
                    limit(),
                    invalid("requestId", "contains a NUL character"),
                    requestId="\x00a",
                ),
                placing(
                    "confirmId",
                    limit(),
                    invalid("confirmId", "contains a NUL character"),
                    confirmId="\x00a",
                ),
                call(
                    "trackLatency",
                    "transactionId",
                    latency,
                    invalid("transactionId", "contains a NUL character"),
                ),
                call(
                    "trackLatency",
                    "instrument",
                    LATENCY | {"instrument": "EUR\x00USD"},
                    invalid("instrument", "contains a NUL character"),
                ),
            ],
        )
