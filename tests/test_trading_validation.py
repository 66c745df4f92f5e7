"""Bad input on every trading endpoint: the exact message, and nothing changed.

Each test starts one paper-trading desk (tests/trading_app.py) and sends it a table of bad
requests. Every answer must be the spec's ErrorResponse (for the previews: ``ok`` with an
``errors`` list) carrying the English text of :data:`gateway.errors.CATALOGUE` with its
placeholders filled, and must leave orders, positions, account states and the store's row
counts exactly as they were. The few requests next to them that must succeed (JSON bodies,
unknown extra fields, hostile request ids, what permissive flags allow) are checked too.

The gateway bugs these tests found were fixed; each test now guards against its return.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
import webtest

from gateway.api.routes import ROUTES
from gateway.config import GatewayConfig
from gateway.errors import CATALOGUE
from tests.conftest import bearer, with_store
from tests.market_app import WEDNESDAY_15H
from tests.servers import POSTGRES_URL, require, reset_gateway_tables
from tests.spec_schemas import (
    STREAM_MESSAGES,
    WITHOUT_ERROR_BRANCH,
    assert_stream_message,
    assert_valid,
)
from tests.trading_app import ACCOUNT, PRICES, Desk, desk

Form = dict[str, Any]

USD = ACCOUNT
EUR = "DEMO-EUR"
BID, ASK = PRICES["EURUSD"]
NOW = WEDNESDAY_15H  # the desk's clock
FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
TABLES = ("gw_orders", "gw_positions", "gw_executions", "gw_leverage", "gw_transactions")
SIDES = "expected buy or sell"
TYPES = "expected market or limit or stop or stoplimit"
DURATIONS = "unknown duration (known: DAY, GTC, GTT)"


# -- expected answers -----------------------------------------------------------------------------


def text(code: str, **params: object) -> str:
    """The English message of ``code`` as the catalogue spells it."""
    return CATALOGUE[code].format(**params)


def error(code: str, **params: object) -> dict[str, str]:
    """The whole ErrorResponse of ``code``."""
    return {"s": "error", "errmsg": text(code, **params)}


def invalid(name: str, reason: str) -> dict[str, str]:
    return error("invalid_field", field=name, reason=reason)


def missing(name: str) -> dict[str, str]:
    return error("missing_field", field=name)


def unsupported(feature: str) -> dict[str, str]:
    return error("not_supported", feature=feature)


def clip(value: str, limit: int = 80) -> str:
    """How an echoed request value appears in a message (gateway.errors clips them)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


NOT_POSITIVE = "must be greater than 0"
LIMIT_RULE = {"field": "limitPrice", "min": 0.1, "max": 20, "reference": "the current price"}
SL_RULE = {"field": "stopLoss", "min": 0.05, "max": 10, "reference": "the order price"}
SL_RULE_POSITION = SL_RULE | {"reference": "the current price"}


# -- request bodies -------------------------------------------------------------------------------


def joined(*parts: Form) -> Form:
    """The parts merged, later ones winning; a field given as None is left out."""
    merged: Form = {}
    for part in parts:
        merged |= part
    return {k: v for k, v in merged.items() if v is not None}


def ticket(instrument: str, **fields: Any) -> Form:
    """A placeOrder body for ``instrument`` with the quote the ticket showed."""
    bid, ask = PRICES[instrument]
    return joined({"instrument": instrument, "currentAsk": ask, "currentBid": bid}, fields)


EURUSD: Form = {"instrument": "EURUSD", "currentAsk": ASK, "currentBid": BID}


def limit(**fields: Any) -> Form:
    """A buy limit of 1000 EURUSD at 1.07 (0.9 % under the ask: inside limitPercent)."""
    return joined(EURUSD, {"side": "buy", "type": "limit", "qty": 1000, "limitPrice": 1.07}, fields)


def market(**fields: Any) -> Form:
    """A market buy of 1000 EURUSD."""
    return joined(EURUSD, {"side": "buy", "type": "market", "qty": 1000}, fields)


def stop(**fields: Any) -> Form:
    """A buy stop of 1000 EURUSD at 1.0815, above the ask."""
    return joined(EURUSD, {"side": "buy", "type": "stop", "qty": 1000, "stopPrice": 1.0815}, fields)


LEVERAGE: Form = {"instrument": "EURUSD", "side": "buy", "orderType": "market"}
LATENCY: Form = {
    "transactionId": "0123456789abcdef",
    "transactionType": "place_order",
    "instrument": "EURUSD",
    "side": "buy",
    "qty": 1000,
    "ask": ASK,
    "bid": BID,
    "timestamp": NOW * 1000,
    "roundTripDuration": 120,
}


# -- calls ----------------------------------------------------------------------------------------

OPERATIONS: dict[str, tuple[str, str]] = {
    op: (method, route.path.removeprefix("/accounts/{account_id}"))
    for route in ROUTES
    if route.path.startswith("/accounts/")
    for method, op in route.operations
}
"""Method and path (after ``/accounts/{account_id}``) of every account operation."""


@dataclass(frozen=True)
class Call:
    """One request under ``/accounts/{account}`` and the whole answer it must get."""

    name: str
    op: str
    path: str
    form: Form | None
    expected: Any
    account: str = USD
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return OPERATIONS[self.op][0]


def call(
    op: str,
    name: str,
    form: Form | None,
    expected: Any,
    *,
    id: str = "",
    account: str = USD,
    **query: str,
) -> Call:
    """Operation ``op`` as the route table serves it; ``id`` fills the path's order, position
    or net position id."""
    path = OPERATIONS[op][1].format(order_id=id, position_id=id, net_position_id=id)
    return Call(name, op, path, form, expected, account, query)


def placing(name: str, form: Form, expected: Any, account: str = USD, **query: str) -> Call:
    return call("placeOrder", name, form, expected, account=account, **query)


def modifying(name: str, order: str, form: Form | None, expected: Any, **query: str) -> Call:
    return call("modifyOrder", name, form, expected, id=order, **query)


def cancelling(name: str, order: str, expected: Any) -> Call:
    return call("cancelOrder", name, None, expected, id=order)


def url_of(account: str, path: str, query: Mapping[str, str] | None = None) -> str:
    """The escaped URL (a ``%`` already in ``path`` is kept as an escape)."""
    url = f"/accounts/{urllib.parse.quote(account, safe='')}{urllib.parse.quote(path, safe='/%')}"
    return url + ("?" + urllib.parse.urlencode(query) if query else "")


def conforms(op: str, answer: Any) -> None:
    """The answer is one the spec allows for ``op``."""
    if op in STREAM_MESSAGES:
        assert_stream_message(op, answer)
    elif op in WITHOUT_ERROR_BRANCH and answer.get("s") == "error":
        # The spec gives trackLatency no error answer at all; the tests compare the whole
        # answer with an ErrorResponse instead.
        return
    else:
        assert_valid(op, answer)


def request(
    d: Desk,
    method: str,
    url: str,
    body: bytes = b"",
    content_type: str = FORM_TYPE,
    headers: Mapping[str, str] | None = None,
) -> webtest.TestResponse:
    """A raw request with the desk's token (unless ``headers`` replace it)."""
    sent = dict(d.headers if headers is None else headers) | {"Content-Type": content_type}
    resp = d.app.request(url, method=method, body=body, headers=sent, expect_errors=True)
    d.settle()
    return resp


def send(d: Desk, c: Call) -> tuple[int, Any]:
    """Status and JSON answer of a call, checked against the spec's schema of its op."""
    url = url_of(c.account, c.path, c.query)
    resp = request(d, c.method, url, urllib.parse.urlencode(c.form or {}).encode())
    answer = resp.json
    conforms(c.op, answer)
    return resp.status_int, answer


def world(d: Desk, accounts: tuple[str, ...] = (USD, EUR)) -> dict[str, Any]:
    """Everything a refused request must leave alone."""
    with d.gateway.services.database.engine.connect() as conn:
        rows = {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}
    seen: dict[str, Any] = {"rows": rows, "positions": d.positions()}
    for account in accounts:
        seen[f"orders {account}"] = d.orders(account)
        seen[f"state {account}"] = d.state(account)
    if EUR in accounts:
        seen["individual"] = d.get("/individualPositions", "getIndividualPositions", EUR)["d"]
    return seen


def check(d: Desk, calls: Iterable[Call], accounts: tuple[str, ...] = (USD, EUR)) -> None:
    """Send every call: each must get HTTP 200 and its expected answer, and change nothing."""
    problems: list[str] = []
    before = world(d, accounts)
    for c in calls:
        try:
            status, answer = send(d, c)
        except AssertionError as exc:
            problems.append(f"{c.op} [{c.name}]: {exc}")
        else:
            if (status, answer) != (200, c.expected):
                problems.append(f"{c.op} [{c.name}]: got {status} {answer!r}")
        after = world(d, accounts)
        if after != before:
            changed = sorted(k for k in before if before[k] != after[k])
            problems.append(f"{c.op} [{c.name}]: changed {', '.join(changed)}")
        before = after
    assert not problems, "\n".join(problems)


def placed(d: Desk, account: str = USD, **form: Any) -> str:
    """Place an order that must succeed (the whole body given); its id."""
    answer = d.post("/orders", "placeOrder", form, account)
    d.settle()
    assert answer["s"] == "ok", answer
    order_id: str = answer["d"]["orderId"]
    return order_id


def position_id(d: Desk, account: str = USD) -> str:
    """The id of the account's only position."""
    if account == EUR:
        (position,) = d.get("/individualPositions", "getIndividualPositions", EUR)["d"]
    else:
        (position,) = d.positions()
    found: str = position["id"]
    return found


# -- placeOrder -----------------------------------------------------------------------------------

BAD_ORDERS: list[Call] = [
    placing("no instrument", limit(instrument=None), missing("instrument")),
    placing("blank instrument", limit(instrument=""), missing("instrument")),
    placing("no qty", limit(qty=None), missing("qty")),
    placing("blank qty", limit(qty=""), missing("qty")),
    placing("no side", limit(side=None), missing("side")),
    placing("no type", limit(type=None), missing("type")),
    placing("unknown", limit(instrument="NOPE"), error("unknown_instrument", instrument="NOPE")),
    placing(
        "lower case", limit(instrument="eurusd"), error("unknown_instrument", instrument="eurusd")
    ),
    placing("side hold", limit(side="hold"), invalid("side", SIDES)),
    placing("side in capitals", limit(side="BUY"), invalid("side", SIDES)),
    placing("type iceberg", limit(type="iceberg"), invalid("type", TYPES)),
    placing("qty 0", limit(qty=0), invalid("qty", NOT_POSITIVE)),
    placing("qty negative", limit(qty=-1000), invalid("qty", NOT_POSITIVE)),
    placing("qty NaN", limit(qty="NaN"), invalid("qty", "not a finite number")),
    placing("qty inf", limit(qty="inf"), invalid("qty", "not a finite number")),
    placing("qty -inf", limit(qty="-inf"), invalid("qty", "not a finite number")),
    placing("qty abc", limit(qty="abc"), invalid("qty", "not a number")),
    placing("qty hex", limit(qty="0x10"), invalid("qty", "not a number")),
    placing(
        "qty < minQty", limit(qty=500), error("qty_out_of_range", qty=500, min=1000, max=10000000)
    ),
    placing(
        "qty > maxQty",
        limit(qty=2e7),
        error("qty_out_of_range", qty=20000000, min=1000, max=10000000),
    ),
    placing("qty off qtyStep", limit(qty=1500), error("qty_step", qty=1500, step=1000)),
    placing(
        "BTCUSD qty < minQty",
        ticket("BTCUSD", side="buy", type="market", qty=0.0005),
        error("qty_out_of_range", qty=0.0005, min=0.001, max=1000000000),
    ),
    placing(
        "BTCUSD qty off qtyStep",
        ticket("BTCUSD", side="buy", type="market", qty=0.0015),
        error("qty_step", qty=0.0015, step=0.001),
    ),
    placing("no limitPrice", limit(limitPrice=None), missing("limitPrice")),
    placing("blank limitPrice", limit(limitPrice=""), missing("limitPrice")),
    placing("limitPrice < 0", limit(limitPrice=-1.07), invalid("limitPrice", NOT_POSITIVE)),
    placing("limitPrice abc", limit(limitPrice="abc"), invalid("limitPrice", "not a number")),
    placing(
        "AAPL limitPrice off tick",
        ticket("AAPL", side="buy", type="limit", qty=1, limitPrice=189.005),
        error("price_tick", field="limitPrice", price=189.005, tick=0.01),
    ),
    placing(
        "ESZ2026 limitPrice off tick",
        ticket("ESZ2026", side="buy", type="limit", qty=1, limitPrice=5990.1),
        error("price_tick", field="limitPrice", price=5990.1, tick=0.25),
    ),
    placing(
        "BTCUSD stopPrice off tick",
        ticket("BTCUSD", side="buy", type="stop", qty=0.001, stopPrice=61000.2),
        error("price_tick", field="stopPrice", price=61000.2, tick=0.5),
    ),
    placing("stop, no stopPrice", stop(stopPrice=None), missing("stopPrice")),
    placing(
        "stoplimit, no stopPrice",
        stop(type="stoplimit", stopPrice=None, limitPrice=1.082),
        missing("stopPrice"),
    ),
    placing("stoplimit, no limitPrice", stop(type="stoplimit"), missing("limitPrice")),
    placing(
        "buy stop under the ask",
        stop(stopPrice=1.079),
        error("price_side", field="stopPrice", price=1.079, relation="above", current=ASK),
    ),
    placing(
        "buy stop at the ask",
        stop(stopPrice=ASK),
        error("price_side", field="stopPrice", price=ASK, relation="above", current=ASK),
    ),
    placing(
        "sell stop over the bid",
        stop(side="sell", stopPrice=1.081),
        error("price_side", field="stopPrice", price=1.081, relation="below", current=BID),
    ),
    placing(
        "buy stoplimit under the ask",
        stop(type="stoplimit", stopPrice=1.079, limitPrice=1.0795),
        error("price_side", field="stopPrice", price=1.079, relation="above", current=ASK),
    ),
    placing(
        "limit 30% away (limitPercent)",
        limit(limitPrice=0.756),
        error("price_rule", price=0.756, current=ASK, **LIMIT_RULE),
    ),
    placing(
        "limit 0.01% away (limitPercent)",
        limit(limitPrice=1.08),
        error("price_rule", price=1.08, current=ASK, **LIMIT_RULE),
    ),
    placing(
        "stopLoss above a buy limit",
        limit(stopLoss=1.075),
        error(
            "bracket_side",
            field="stopLoss",
            price=1.075,
            relation="below",
            what="the order price",
            reference=1.07,
        ),
    ),
    placing(
        "takeProfit below a buy limit",
        limit(takeProfit=1.065),
        error(
            "bracket_side",
            field="takeProfit",
            price=1.065,
            relation="above",
            what="the order price",
            reference=1.07,
        ),
    ),
    placing(
        "takeProfit at the limit",
        limit(takeProfit=1.07),
        error(
            "bracket_side",
            field="takeProfit",
            price=1.07,
            relation="above",
            what="the order price",
            reference=1.07,
        ),
    ),
    placing(
        "stopLoss below a sell limit",
        limit(side="sell", limitPrice=1.09, stopLoss=1.085),
        error(
            "bracket_side",
            field="stopLoss",
            price=1.085,
            relation="above",
            what="the order price",
            reference=1.09,
        ),
    ),
    placing(
        "stopLoss 16% away (slPercent)",
        limit(stopLoss=0.9),
        error("price_rule", price=0.9, current=1.07, **SL_RULE),
    ),
    placing("stopLoss abc", limit(stopLoss="abc"), invalid("stopLoss", "not a number")),
    placing("takeProfit < 0", limit(takeProfit=-1), invalid("takeProfit", NOT_POSITIVE)),
    placing(
        "trailing past 0", limit(trailingStopPips=20000), invalid("trailingStopPips", "too large")
    ),
    placing("guaranteedStop", limit(guaranteedStop=1.065), unsupported("guaranteed stops")),
    placing("durationType FOK", limit(durationType="FOK"), invalid("durationType", DURATIONS)),
    placing("GTT without time", limit(durationType="GTT"), missing("durationDateTime")),
    placing(
        "GTT in the past",
        limit(durationType="GTT", durationDateTime=NOW - 1),
        invalid("durationDateTime", "in the past"),
    ),
    placing(
        "GTT now",
        limit(durationType="GTT", durationDateTime=NOW),
        invalid("durationDateTime", "in the past"),
    ),
    placing(
        "GTT abc",
        limit(durationType="GTT", durationDateTime="abc"),
        invalid("durationDateTime", "not a number"),
    ),
    placing("route bogus", limit(route="bogus"), invalid("route", "expected smart or direct")),
    placing(
        "AAPL extended_hours maybe",
        ticket("AAPL", side="buy", type="market", qty=1, extended_hours="maybe"),
        invalid("extended_hours", "expected true or false"),
    ),
    placing(
        "requestId of 65 characters",
        limit(),
        invalid("requestId", "longer than 64 characters"),
        requestId="r" * 65,
    ),
    placing(
        "more than the margin",
        market(qty=10_000_000),  # 1e7 * 1.0801 / 30
        error("insufficient_margin", required="360,033.33", available="100,000.00", currency="USD"),
    ),
    # DEMO-EUR: EURUSD and BTCUSD only, no stop-limit orders, no trailing stops.
    placing(
        "EUR: AAPL",
        ticket("AAPL", side="buy", type="market", qty=1),
        error("unknown_instrument", instrument="AAPL"),
        EUR,
    ),
    placing(
        "EUR: ESZ2026",
        ticket("ESZ2026", side="buy", type="market", qty=1),
        error("unknown_instrument", instrument="ESZ2026"),
        EUR,
    ),
    placing(
        "EUR: stoplimit",
        stop(type="stoplimit", limitPrice=1.082),
        error("order_type_disabled", type="stoplimit"),
        EUR,
    ),
    placing("EUR: trailing", limit(trailingStopPips=50), unsupported("trailing stops"), EUR),
]


def test_place_order_refuses_bad_bodies(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **limit())  # something to leave alone
        check(d, BAD_ORDERS)


def test_place_order_respects_disabled_features(demo_config: GatewayConfig) -> None:
    flags = {
        "support_stop_limit_orders": False,
        "support_market_orders": False,
        "support_order_brackets": False,
        "support_strict_checking_limit_order_price": True,
    }
    brackets = unsupported("brackets")
    with desk(demo_config, flags=flags) as d:
        check(
            d,
            [
                placing(
                    "stoplimit",
                    stop(type="stoplimit", limitPrice=1.082),
                    error("order_type_disabled", type="stoplimit"),
                ),
                placing("market", market(), error("order_type_disabled", type="market")),
                placing(
                    "market, qty abc",
                    market(qty="abc"),
                    error("order_type_disabled", type="market"),
                ),
                placing("takeProfit", limit(takeProfit=1.08), brackets),
                placing("stopLoss", limit(stopLoss=1.065), brackets),
                placing("trailingStopPips", limit(trailingStopPips=50), brackets),
                placing("guaranteedStop", limit(guaranteedStop=1.065), brackets),
                placing(
                    "strict: buy limit over the ask",
                    limit(limitPrice=1.083),
                    error(
                        "price_side",
                        field="limitPrice",
                        price=1.083,
                        relation="at or below",
                        current=ASK,
                    ),
                ),
                placing(
                    "strict: sell limit under the bid",
                    limit(side="sell", limitPrice=1.077),
                    error(
                        "price_side",
                        field="limitPrice",
                        price=1.077,
                        relation="at or above",
                        current=BID,
                    ),
                ),
            ],
        )
        placed(d, **limit())  # a limit on the right side still goes through


def test_place_order_with_permissive_flags(demo_config: GatewayConfig) -> None:
    flags = {
        "support_guaranteed_stop": True,
        "support_stop_orders_in_both_directions": True,
        "support_market_brackets": False,
        "support_close_position": False,
    }
    with desk(demo_config, flags=flags) as d:
        placed(d, **market())
        position = position_id(d)
        closing = unsupported("closing positions")
        check(
            d,
            [
                placing(
                    "guaranteed and stopLoss",
                    limit(guaranteedStop=1.065, stopLoss=1.066),
                    error("bracket_conflict"),
                ),
                placing(
                    "guaranteed and trailing",
                    limit(guaranteedStop=1.065, trailingStopPips=50),
                    error("bracket_conflict"),
                ),
                placing(
                    "market with takeProfit",
                    market(takeProfit=1.09),
                    unsupported("brackets on market orders"),
                ),
                call("closePosition", "close", None, closing, id=position),
                call("closePosition", "close part", {"amount": 1000}, closing, id=position),
            ],
        )
        # Stops work both ways, and then the spec drops stopPercent and limitPercent.
        placed(d, **stop(stopPrice=1.079))
        placed(d, **limit(limitPrice=0.756))
        placed(d, **limit(guaranteedStop=1.065))


def test_tick_size_shown_plainly(demo_config: GatewayConfig) -> None:
    """EURUSD's tick must read 0.00001 in the message (the rule itself is checked above)."""
    with desk(demo_config) as d:
        check(
            d,
            [
                placing(
                    "EURUSD limitPrice off tick",
                    limit(limitPrice=1.070005),
                    error("price_tick", field="limitPrice", price=1.070005, tick="0.00001"),
                ),
            ],
        )


def test_no_price_yet(demo_config: GatewayConfig) -> None:
    no_price = error("no_price", instrument="EURUSD")
    blind = {"currentAsk": None, "currentBid": None}
    with desk(demo_config, quotes=False) as d:
        check(
            d,
            [
                placing("market", market(**blind), no_price),
                placing("brackets", market(takeProfit=1.09, **blind), no_price),
            ],
        )


# -- bodies: size, encodings, hostile strings -----------------------------------------------------


def test_body_too_large(demo_config: GatewayConfig) -> None:
    """1 MB bodies get 413 with the spec's envelope, on every route that reads a body."""
    with desk(demo_config) as d:
        order = placed(d, **limit())
        placed(d, **market())
        position = position_id(d)
        before = world(d)
        body = urllib.parse.urlencode(limit(pad="x" * 1_048_576)).encode()
        ids = {"modifyOrder": order, "modifyPosition": position, "closePosition": position}
        for op in (
            "placeOrder",
            "modifyOrder",
            "previewOrder",
            "modifyPosition",
            "closePosition",
            "setLeverage",
            "trackLatency",
        ):
            c = call(op, op, None, None, id=ids.get(op, ""))
            resp = request(d, c.method, url_of(USD, c.path), body)
            assert resp.status_int == 413, (op, resp.text)
            assert resp.json == error("body_too_large", limit=65536), op
            conforms(op, resp.json)
        assert world(d) == before


UNREADABLE: list[tuple[str, bytes, str, int, dict[str, str]]] = [
    ("malformed JSON", b"{bad", JSON_TYPE, 200, error("invalid_body", reason="malformed JSON")),
    ("JSON array", b"[1]", JSON_TYPE, 200, error("invalid_body", reason="expected a JSON object")),
    ("not UTF-8", b"qty=1\xff", FORM_TYPE, 200, error("invalid_body", reason="not UTF-8")),
    (
        "501 fields",
        b"f=1" + b"&f=1" * 500,
        FORM_TYPE,
        200,
        error("invalid_body", reason="too many fields"),
    ),
    ("XML", b"<order/>", "application/xml", 415, error("unsupported_media_type")),
    (
        "JSON list",
        json.dumps(limit(qty=[1000])).encode(),
        JSON_TYPE,
        200,
        invalid("qty", "expected a single value"),
    ),
    (
        "JSON true qty",
        json.dumps(limit(qty=True)).encode(),
        JSON_TYPE,
        200,
        invalid("qty", "not a number"),
    ),
    ("JSON null qty", json.dumps(limit() | {"qty": None}).encode(), JSON_TYPE, 200, missing("qty")),
]


def test_body_encodings(demo_config: GatewayConfig) -> None:
    """JSON bodies work like forms; unreadable ones get a clear error and change nothing."""
    with desk(demo_config) as d:
        url = url_of(USD, "/orders")
        problems = []
        for name, raw, content_type, status, expected in UNREADABLE:
            before = world(d)
            resp = request(d, "POST", url, raw, content_type)
            assert_valid("placeOrder", resp.json)
            if (resp.status_int, resp.json) != (status, expected):
                problems.append(f"{name}: got {resp.status_int} {resp.text}")
            elif world(d) != before:
                problems.append(f"{name}: changed the world")
        assert not problems, "\n".join(problems)

        answer = request(d, "POST", url, json.dumps(limit()).encode(), JSON_TYPE).json
        assert answer["s"] == "ok", answer
        order = d.orders()[answer["d"]["orderId"]]
        assert (order["qty"], order["limitPrice"], order["side"]) == (1000, 1.07, "buy")

        extra = limit(comment="hello", unknownField="x", stopLoss="", takeProfit="")
        answer = d.post("/orders", "placeOrder", extra)
        assert answer["s"] == "ok", answer
        assert not any("parentId" in o for o in d.orders().values()), "blank fields made brackets"


HOSTILE = (
    "\"double\" and 'single' quotes",
    "'; DROP TABLE gw_orders; --",
    "Robert'); DELETE FROM gw_orders WHERE ('1'='1",
    "ユーロ／ドル €",
    "\U0001f4b6\u202eDSURUE",
    "EUR\x00USD",
    "<script>alert(1)</script>",
    "%00%27",
    "x" * 300,
)


def test_hostile_strings(demo_config: GatewayConfig) -> None:
    """Quotes, SQL, unicode and NUL bytes: a clear error or harmless data; the store intact."""
    with desk(demo_config) as d:
        placed(d, **limit())
        as_instrument = [
            placing(
                f"instrument {s[:20]!r}",
                limit(instrument=s),
                # A NUL is refused in any field (PostgreSQL cannot store one).
                invalid("instrument", "contains a NUL character")
                if "\x00" in s
                else error("unknown_instrument", instrument=clip(s)),
            )
            for s in HOSTILE
        ]
        as_order_id = [
            cancelling(
                f"order id {s[:20]!r}",
                urllib.parse.quote(s, safe=""),
                error("unknown_order", order=clip(s)),
            )
            for s in HOSTILE
            if "/" not in s  # a slash separates path segments even when escaped
        ]
        too_long = invalid("requestId", "longer than 64 characters")
        check(
            d,
            [
                *as_instrument,
                *as_order_id,
                placing("requestId", limit(), too_long, requestId=HOSTILE[-1]),
            ],
        )

        # As request ids (all but the last are at most 64 characters) they are plain data:
        # stored, and found again when the same request is retried.
        count = len(d.orders())
        ids = set()
        usable = [s for s in HOSTILE[:-1] if "\x00" not in s]  # NUL: refused everywhere
        for s in usable:
            first = d.try_place(query={"requestId": s}, **limit())
            again = d.try_place(query={"requestId": s}, **limit())
            assert first["s"] == again["s"] == "ok", (s, first, again)
            assert first["d"]["orderId"] == again["d"]["orderId"], s
            ids.add(first["d"]["orderId"])
        assert len(ids) == len(usable)
        with d.gateway.services.database.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT COUNT(*) FROM gw_orders")).scalar_one()
            requests = set(conn.execute(sa.text("SELECT request_id FROM gw_orders")).scalars())
        assert stored == count + len(ids) == len(d.orders())
        assert set(usable) <= requests


def test_durations_beyond_the_store(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        before = world(d)
        for until in ("1e19", "1e30"):
            form = limit(durationType="GTT", durationDateTime=until)
            resp = request(d, "POST", url_of(USD, "/orders"), urllib.parse.urlencode(form).encode())
            assert resp.status_int == 200, resp.text
            assert resp.json["errmsg"].startswith("Invalid value for durationDateTime: "), resp.json
        assert world(d) == before


def test_prices_below_one_tick(demo_config: GatewayConfig) -> None:
    tiny = ticket("AAPL", side="buy", type="limit", qty=1, limitPrice=1e-300)
    off_tick = error("price_tick", field="limitPrice", price="1e-300", tick=0.01)
    with desk(demo_config) as d:
        check(d, [placing("AAPL limitPrice 1e-300", tiny, off_tick)])


# -- modifyOrder and cancelOrder ------------------------------------------------------------------


def test_modify_and_cancel_refuse_bad_requests(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        order = placed(d, **limit(durationType="DAY"))
        other = placed(d, EUR, **limit())
        same = {"qty": 1000, "limitPrice": 1.07}
        twenty = "9" * 20
        check(
            d,
            [
                modifying("unknown id", "999", same, error("unknown_order", order="999")),
                modifying("id abc", "abc", same, error("unknown_order", order="abc")),
                modifying("id -1", "-1", same, error("unknown_order", order="-1")),
                modifying("id 1.0", "1.0", same, error("unknown_order", order="1.0")),
                modifying("id of 20 digits", twenty, same, error("unknown_order", order=twenty)),
                modifying("DEMO-EUR's order", other, same, error("unknown_order", order=other)),
                cancelling("unknown id", "999", error("unknown_order", order="999")),
                cancelling("id abc", "abc", error("unknown_order", order="abc")),
                cancelling("id of 20 digits", twenty, error("unknown_order", order=twenty)),
                cancelling("DEMO-EUR's order", other, error("unknown_order", order=other)),
                modifying("no qty", order, {"limitPrice": 1.07}, missing("qty")),
                modifying("qty 0", order, same | {"qty": 0}, invalid("qty", NOT_POSITIVE)),
                modifying("qty abc", order, same | {"qty": "abc"}, invalid("qty", "not a number")),
                modifying(
                    "qty < minQty",
                    order,
                    same | {"qty": 500},
                    error("qty_out_of_range", qty=500, min=1000, max=10000000),
                ),
                modifying(
                    "qty off qtyStep",
                    order,
                    same | {"qty": 1500},
                    error("qty_step", qty=1500, step=1000),
                ),
                modifying("no limitPrice", order, {"qty": 1000}, missing("limitPrice")),
                modifying(
                    "limitPrice < 0",
                    order,
                    same | {"limitPrice": -1},
                    invalid("limitPrice", NOT_POSITIVE),
                ),
                modifying(
                    "durationType FOK",
                    order,
                    same | {"durationType": "FOK"},
                    invalid("durationType", DURATIONS),
                ),
                modifying(
                    "GTT without time",
                    order,
                    same | {"durationType": "GTT"},
                    missing("durationDateTime"),
                ),
                modifying(
                    "GTT in the past",
                    order,
                    same | {"durationType": "GTT", "durationDateTime": NOW - 60},
                    invalid("durationDateTime", "in the past"),
                ),
                modifying(
                    "route bogus",
                    order,
                    same | {"route": "bogus"},
                    invalid("route", "expected smart or direct"),
                ),
                modifying(
                    "stopLoss above the limit",
                    order,
                    same | {"stopLoss": 1.075},
                    error(
                        "bracket_side",
                        field="stopLoss",
                        price=1.075,
                        relation="below",
                        what="the order price",
                        reference=1.07,
                    ),
                ),
                modifying(
                    "unknown confirmId", order, same, error("preview_expired"), confirmId="nope"
                ),
            ],
        )


def test_modify_and_cancel_a_final_order(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        filled = placed(d, **market())
        cancelled = placed(d, **limit())
        d.delete(f"/orders/{cancelled}", "cancelOrder")
        same = {"qty": 1000, "limitPrice": 1.07}
        check(
            d,
            [
                modifying(
                    "filled",
                    filled,
                    {"qty": 1000},
                    error("order_final", order=filled, state="filled"),
                ),
                modifying(
                    "cancelled",
                    cancelled,
                    same,
                    error("order_final", order=cancelled, state="cancelled"),
                ),
                cancelling("filled", filled, error("order_final", order=filled, state="filled")),
                cancelling(
                    "cancelled", cancelled, error("order_final", order=cancelled, state="cancelled")
                ),
            ],
        )


def test_modify_with_editing_disabled(demo_config: GatewayConfig) -> None:
    flags = {
        "support_modify_order_price": False,
        "support_edit_amount": False,
        "support_modify_duration": False,
    }
    with desk(demo_config, flags=flags) as d:
        order = placed(d, **limit(durationType="DAY"))
        same = {"qty": 1000, "limitPrice": 1.07, "durationType": "DAY"}
        check(
            d,
            [
                modifying(
                    "price", order, same | {"limitPrice": 1.069}, unsupported("changing the price")
                ),
                modifying("qty", order, same | {"qty": 2000}, unsupported("changing the quantity")),
                modifying(
                    "duration",
                    order,
                    same | {"durationType": "GTC"},
                    unsupported("changing the duration"),
                ),
            ],
        )
        assert d.put(f"/orders/{order}", "modifyOrder", same)["s"] == "ok"


def test_modify_below_the_filled_quantity(demo_config: GatewayConfig) -> None:
    with desk(demo_config, max_fill_qty=1000) as d:
        order = placed(d, **limit(qty=3000, limitPrice=1.083))  # marketable: 1000 a quote
        assert d.orders()[order]["filledQty"] == 1000, d.orders()[order]
        below = invalid("qty", "must be more than the filled quantity")
        check(d, [modifying("qty = filled", order, {"qty": 1000, "limitPrice": 1.083}, below)])


def test_modify_checks_the_stop_side(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        order = placed(d, **stop())
        wrong_side = error(
            "price_side", field="stopPrice", price=1.079, relation="above", current=ASK
        )
        check(
            d,
            [
                modifying(
                    "buy stop under the ask", order, {"qty": 1000, "stopPrice": 1.079}, wrong_side
                )
            ],
        )


def test_modify_checks_the_limit_percent_rule(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        order = placed(d, **limit())
        too_far = error("price_rule", price=0.756, current=ASK, **LIMIT_RULE)
        check(d, [modifying("limit 30% away", order, {"qty": 1000, "limitPrice": 0.756}, too_far)])


def test_modify_refuses_brackets_the_account_lacks(demo_config: GatewayConfig) -> None:
    with desk(demo_config, flags={"support_order_brackets": False}) as d:
        order = placed(d, **limit())
        form = {"qty": 1000, "limitPrice": 1.07, "stopLoss": 1.06, "takeProfit": 1.08}
        check(d, [modifying("brackets", order, form, unsupported("brackets"))])


# -- positions ------------------------------------------------------------------------------------


def test_positions_refuse_bad_requests(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **market())
        placed(d, EUR, **market())
        pos, ind = position_id(d), position_id(d, EUR)
        too_much = error("close_amount", qty=1000)

        def unknown(position: str) -> dict[str, str]:
            return error("unknown_position", position=position)

        def under_bid(field: str, price: float, relation: str) -> dict[str, str]:
            return error(
                "bracket_side",
                field=field,
                price=price,
                relation=relation,
                what="the current price",
                reference=BID,
            )

        check(
            d,
            [
                call(
                    "modifyPosition", "modify unknown", {"stopLoss": 1.07}, unknown("999"), id="999"
                ),
                call("modifyPosition", "modify abc", {"stopLoss": 1.07}, unknown("abc"), id="abc"),
                call("closePosition", "close unknown", None, unknown("999"), id="999"),
                call("closePosition", "close abc", None, unknown("abc"), id="abc"),
                call("closePosition", "close DEMO-EUR's", None, unknown(ind), id=ind),
                call("closePosition", "close too much", {"amount": 2000}, too_much, id=pos),
                call(
                    "closePosition",
                    "close 0",
                    {"amount": 0},
                    invalid("amount", NOT_POSITIVE),
                    id=pos,
                ),
                call(
                    "closePosition",
                    "close < 0",
                    {"amount": -1000},
                    invalid("amount", NOT_POSITIVE),
                    id=pos,
                ),
                call(
                    "closePosition",
                    "close abc",
                    {"amount": "abc"},
                    invalid("amount", "not a number"),
                    id=pos,
                ),
                call(
                    "closePosition",
                    "close inf",
                    {"amount": "inf"},
                    invalid("amount", "not a finite number"),
                    id=pos,
                ),
                call(
                    "modifyPosition", "side hold", {"side": "hold"}, invalid("side", SIDES), id=pos
                ),
                call(
                    "modifyPosition",
                    "SL above",
                    {"stopLoss": 1.09},
                    under_bid("stopLoss", 1.09, "below"),
                    id=pos,
                ),
                call(
                    "modifyPosition",
                    "TP below",
                    {"takeProfit": 1.07},
                    under_bid("takeProfit", 1.07, "above"),
                    id=pos,
                ),
                call(
                    "modifyPosition",
                    "stopLoss 16% away",
                    {"stopLoss": 0.9},
                    error("price_rule", price=0.9, current=BID, **SL_RULE_POSITION),
                    id=pos,
                ),
                call(
                    "modifyPosition",
                    "trailing abc",
                    {"trailingStopPips": "abc"},
                    invalid("trailingStopPips", "not a number"),
                    id=pos,
                ),
                call(
                    "modifyPosition",
                    "guaranteed",
                    {"guaranteedStop": 1.07},
                    unsupported("guaranteed stops"),
                    id=pos,
                ),
                # DEMO-EUR: individual and net positions.
                call(
                    "modifyIndividualPosition",
                    "EUR: modify unknown",
                    {"stopLoss": 1.07},
                    unknown("999"),
                    id="999",
                    account=EUR,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close unknown",
                    None,
                    unknown("999"),
                    id="999",
                    account=EUR,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close DEMO-USD's",
                    None,
                    unknown(pos),
                    id=pos,
                    account=EUR,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close too much",
                    {"amount": 2000},
                    too_much,
                    id=ind,
                    account=EUR,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close 0",
                    {"amount": 0},
                    invalid("amount", NOT_POSITIVE),
                    id=ind,
                    account=EUR,
                ),
                call(
                    "modifyIndividualPosition",
                    "EUR: SL above",
                    {"stopLoss": 1.09},
                    under_bid("stopLoss", 1.09, "below"),
                    id=ind,
                    account=EUR,
                ),
                call(
                    "modifyIndividualPosition",
                    "EUR: trailing",
                    {"trailingStopPips": 50},
                    unsupported("trailing stops"),
                    id=ind,
                    account=EUR,
                ),
                call(
                    "closeNetPosition",
                    "EUR: BTCUSD, none held",
                    None,
                    unknown("BTCUSD"),
                    id="BTCUSD",
                    account=EUR,
                ),
                call(
                    "closeNetPosition",
                    "EUR: AAPL, not tradable",
                    None,
                    unknown("AAPL"),
                    id="AAPL",
                    account=EUR,
                ),
                call(
                    "closeNetPosition", "EUR: NOPE", None, unknown("NOPE"), id="NOPE", account=EUR
                ),
            ],
        )
        d.delete(f"/positions/{pos}", "closePosition")
        d.settle()
        assert d.positions() == []
        check(
            d,
            [
                call("closePosition", "close a closed one", None, unknown(pos), id=pos),
                call(
                    "modifyPosition",
                    "modify a closed one",
                    {"stopLoss": 1.07},
                    unknown(pos),
                    id=pos,
                ),
            ],
        )


def test_position_endpoints_by_account_kind(demo_config: GatewayConfig) -> None:
    """DEMO-USD has positions; the netting DEMO-EUR has net and individual positions."""
    positions = unsupported("the positions endpoints")
    netting = unsupported("net and individual positions")
    sl = {"stopLoss": 1.07}
    with desk(demo_config) as d:
        placed(d, **market())
        placed(d, EUR, **market())
        pos, ind = position_id(d), position_id(d, EUR)
        check(
            d,
            [
                call("getPositions", "EUR", None, positions, account=EUR),
                call("streamPositions", "EUR", None, positions, account=EUR),
                call("modifyPosition", "EUR", sl, positions, id=ind, account=EUR),
                call("closePosition", "EUR", None, positions, id=ind, account=EUR),
                call("getNetPositions", "USD", None, netting),
                call("streamNetPositions", "USD", None, netting),
                call("closeNetPosition", "USD", None, netting, id="EURUSD"),
                call("getIndividualPositions", "USD", None, netting),
                call("streamIndividualPositions", "USD", None, netting),
                call("modifyIndividualPosition", "USD", sl, netting, id=pos),
                call("closeIndividualPosition", "USD", None, netting, id=pos),
            ],
        )


def test_partial_close_respects_the_qty_step(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **market(qty=2000))
        placed(d, EUR, **market(qty=2000))
        pos, ind = position_id(d), position_id(d, EUR)
        check(
            d,
            [
                call(
                    "closePosition",
                    "500",
                    {"amount": 500},
                    error("qty_step", qty=500, step=1000),
                    id=pos,
                ),
                call(
                    "closePosition",
                    "0.5",
                    {"amount": 0.5},
                    error("qty_step", qty=0.5, step=1000),
                    id=pos,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: 500",
                    {"amount": 500},
                    error("qty_step", qty=500, step=1000),
                    id=ind,
                    account=EUR,
                ),
            ],
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


# -- previews -------------------------------------------------------------------------------------

PREVIEW_PROBLEMS: list[tuple[str, Form, str]] = [
    ("qty abc", limit(qty="abc"), text("invalid_field", field="qty", reason="not a number")),
    ("no side", limit(side=None), text("missing_field", field="side")),
    ("unknown instrument", limit(instrument="NOPE"), text("unknown_instrument", instrument="NOPE")),
    ("qty off qtyStep", limit(qty=1500), text("qty_step", qty=1500, step=1000)),
    (
        "limitPercent",
        limit(limitPrice=0.756),
        text("price_rule", price=0.756, current=ASK, **LIMIT_RULE),
    ),
    ("modify unknown order", limit(id="999"), text("unknown_order", order="999")),
    ("modify order abc", limit(id="abc"), text("unknown_order", order="abc")),
]


def test_preview_reports_problems_as_errors(demo_config: GatewayConfig) -> None:
    """A bad body previews as ``ok`` with ``errors`` (and no confirmId), not as s:error."""
    with desk(demo_config) as d:
        placed(d, **limit())
        problems = []
        for name, form, message in PREVIEW_PROBLEMS:
            before = world(d)
            answer = d.post("/previewOrder", "previewOrder", form)
            if answer["s"] != "ok" or answer["d"].get("errors") != [message]:
                problems.append(f"{name}: {answer}")
            elif "confirmId" in answer["d"]:
                problems.append(f"{name}: a confirmId for a refused order")
            elif world(d) != before:
                problems.append(f"{name}: changed the world")
        assert not problems, "\n".join(problems)


def test_preview_of_a_final_order(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        filled = placed(d, **market())
        answer = d.post("/previewOrder", "previewOrder", market(id=filled))
        assert answer["d"].get("errors") == [text("order_final", order=filled, state="filled")]


def test_confirm_id_must_match_a_fresh_unused_preview(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:

        def preview(form: Form) -> str:
            answer = d.post("/previewOrder", "previewOrder", form)
            assert "errors" not in answer["d"], answer
            confirm: str = answer["d"]["confirmId"]
            return confirm

        order = placed(d, **limit())
        other = preview(limit(qty=2000))
        used = preview(limit())
        assert d.try_place(query={"confirmId": used}, **limit())["s"] == "ok"
        expired = preview(limit(qty=3000))
        expired_modify = preview(limit(id=order, qty=3000))
        same = {"qty": 1000, "limitPrice": 1.07}
        stale = error("preview_expired")
        check(
            d,
            [
                placing("unknown", limit(), stale, confirmId="nope"),
                placing("another order's", limit(), stale, confirmId=other),
                placing("used already", limit(), stale, confirmId=used),
                placing("on another account", limit(qty=2000), stale, EUR, confirmId=other),
                modifying("modify: unknown", order, same, stale, confirmId="nope"),
            ],
        )
        # The attempts that did not match left the preview of qty 2000 usable.
        assert d.try_place(query={"confirmId": other}, **limit(qty=2000))["s"] == "ok"
        d.clock.advance(61)  # past trading.preview_ttl (60 s)
        check(
            d,
            [
                placing("expired", limit(qty=3000), stale, confirmId=expired),
                modifying(
                    "modify: expired", order, same | {"qty": 3000}, stale, confirmId=expired_modify
                ),
            ],
        )


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


# -- ids made of digits, but not ASCII ones -------------------------------------------------------


def test_superscript_digits_as_ids(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **market())
        placed(d, EUR, **market())
        check(
            d,
            [
                cancelling("cancel", "²", error("unknown_order", order="²")),
                modifying("modify", "²", {"qty": 1000}, error("unknown_order", order="²")),
                call(
                    "closePosition", "close", None, error("unknown_position", position="²"), id="²"
                ),
                call(
                    "modifyPosition",
                    "modify position",
                    {},
                    error("unknown_position", position="²"),
                    id="²",
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close",
                    None,
                    error("unknown_position", position="²"),
                    id="²",
                    account=EUR,
                ),
            ],
        )


def test_other_scripts_digits_as_ids(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **limit())
        assert placed(d, **limit()) == "2"
        check(d, [cancelling("cancel", "٢", error("unknown_order", order="٢"))])


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
