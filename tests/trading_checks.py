"""Shared helpers of the trading validation tests (tests/test_trading_validation*.py).

Each of those tests starts one paper-trading desk (tests/trading_app.py) and sends it a table
of bad requests, built here as :class:`Call` values. :func:`check` sends them: every answer
must be the whole expected answer (the spec's ErrorResponse carrying the English text of
:data:`gateway.errors.CATALOGUE` with its placeholders filled, built by :func:`error` and its
kin) and must leave orders, positions, account states and the store's row counts exactly as
they were (:func:`world`). Also here: the request bodies the tests vary (:func:`limit`,
:func:`market`, :func:`stop`, :data:`LEVERAGE`, :data:`LATENCY`) and the raw request helpers.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import webtest

from gateway.api.routes import ROUTES
from gateway.conformance.schemas import (
    STREAM_MESSAGES,
    WITHOUT_ERROR_BRANCH,
    assert_stream_message,
    assert_valid,
)
from gateway.errors import CATALOGUE
from tests.market_app import WEDNESDAY_15H
from tests.trading_app import ACCOUNT, PRICES, Desk

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
