"""The data integration's first checks: authorization, 401 without a token, groups, symbol info.

What they test is TradingView's catalogue (tradingview-acceptance.md, "Data integration"); the
later checks (history) build on the symbols these find.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from gateway.config.instruments import SymbolType
from gateway.config.symbols import TIMEZONES, is_power
from gateway.conformance.model import Check, CheckFailed, CheckSkipped, Context
from gateway.market.sessions import SessionError, parse_session

SUITE = "data"
TOKENS_IN_A_ROW = 10
_GROUP_ID = re.compile(r"^[a-z_]+$")
_SYMBOL_TYPES = frozenset(typing.get_args(SymbolType))


def authorize(ctx: Context) -> None:
    """``/authorize``: 200, ok, a token, an expiration in the future; ten calls, ten tokens.

    Each answer has a non-empty ``access_token`` and an integer ``expiration``. The last token
    is the one later checks use.
    """
    if ctx.login is None:
        if ctx.token_given:
            raise CheckSkipped("a token was given (--token): /authorize is not called")
        raise CheckSkipped("no --login given")
    tokens = []
    for n in range(TOKENS_IN_A_ROW):
        answer = ctx.client.post_form(
            "/authorize", {"login": ctx.login, "password": ctx.password or ""}
        )
        body = answer.ok_json(f"POST /authorize (call {n + 1})")
        data = body.get("d")
        if not isinstance(data, dict):
            raise CheckFailed(f"POST /authorize: no object d: {body}")
        token, expiration = data.get("access_token"), data.get("expiration")
        if not isinstance(token, str) or not token:
            raise CheckFailed(f"POST /authorize: access_token is {token!r}, not a string")
        if not isinstance(expiration, int) or isinstance(expiration, bool):
            raise CheckFailed(f"POST /authorize: expiration is {expiration!r}, not an integer")
        if expiration <= ctx.clock():
            raise CheckFailed(f"POST /authorize: expiration {expiration} is not in the future")
        tokens.append(token)
    if len(set(tokens)) != len(tokens):
        raise CheckFailed(
            f"{TOKENS_IN_A_ROW} calls gave {len(set(tokens))} different tokens, not "
            f"{TOKENS_IN_A_ROW}"
        )
    ctx.client.token = tokens[-1]


def unauthorized(ctx: Context) -> None:
    """With authorization on, the data endpoints answer 401 without a token.

    A server whose data endpoints all answer without a token has no authorization for data
    (the gateway's ``auth.data.mode: none``): the check is skipped. Some answering and some
    refusing is a failure.
    """
    statuses = {}
    for path in ("/groups", "/symbol_info", "/history", "/streaming"):
        if path == "/streaming":
            statuses[path] = _streaming_status(ctx)
        else:
            statuses[path] = ctx.client.get(path, auth=False).status
    if all(status == 401 for status in statuses.values()):
        return
    if 401 not in statuses.values() and statuses["/groups"] in (200, 404):
        raise CheckSkipped("the data endpoints answer without a token: no authorization for data")
    wrong = ", ".join(f"{path} {status}" for path, status in statuses.items() if status != 401)
    raise CheckFailed(f"without a token, not 401: {wrong}")


def _streaming_status(ctx: Context) -> int:
    """The status of ``/streaming`` without a token, without reading its endless body."""
    conn = ctx.client.connection()
    try:
        conn.request("GET", ctx.client.path("/streaming"))
        return conn.getresponse().status
    except OSError as exc:
        raise CheckFailed(f"GET /streaming: {type(exc).__name__}: {exc}") from None
    finally:
        conn.close()


def groups(ctx: Context) -> None:
    """``/groups``: 200, JSON, ok; ids of lower-case latin letters and ``_``, one prefix.

    The prefix (the broker's name) ends in ``_``. A server without groups (404, or an empty
    list: groups only restrict access) passes with none, and ``/symbol_info`` is then asked
    without a group.
    """
    answer = ctx.client.get("/groups")
    if answer.status == 404:
        ctx.groups = []
        return
    _json_type(answer.headers, "/groups")
    body = answer.ok_json("GET /groups")
    data = body.get("d")
    listed = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        raise CheckFailed(f"GET /groups: d.groups is not a list: {body}")
    ids = [g.get("id") if isinstance(g, dict) else None for g in listed]
    for group_id in ids:
        if not isinstance(group_id, str) or not _GROUP_ID.match(group_id):
            raise CheckFailed(f"group id {group_id!r} is not lower-case latin letters and '_'")
    prefixes = {str(group_id).split("_", 1)[0] for group_id in ids}
    if ids and (any("_" not in str(group_id) for group_id in ids) or len(prefixes) != 1):
        raise CheckFailed(f"group ids {ids} do not share one prefix ending in '_'")
    ctx.groups = [str(group_id) for group_id in ids]


def _json_type(headers: dict[str, str], what: str) -> None:
    kind = headers.get("content-type", "")
    if "application/json" not in kind:
        raise CheckFailed(f"{what}: Content-Type is {kind!r}, not application/json")


def symbol_info(ctx: Context) -> None:
    """``/symbol_info`` (per group when there are groups): every field as the tests want it."""
    ctx.require("data.groups")
    queries: list[dict[str, object]] = [{"group": g} for g in ctx.groups] or [{}]
    for params in queries:
        what = f"GET /symbol_info{'?group=' + str(params['group']) if params else ''}"
        answer = ctx.client.get("/symbol_info", params)
        _json_type(answer.headers, what)
        body = answer.ok_json(what)
        for row in _rows(body, what):
            _check_symbol(row, what)
            name = str(row.get("ticker") or row["symbol"])
            ctx.symbols[name] = row
    if not ctx.symbols:
        raise CheckFailed("/symbol_info lists no symbol")


def _rows(body: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """One dict per symbol: array fields split by index, scalars applied to every symbol."""
    names = body.get("symbol")
    if not isinstance(names, list) or not names:
        raise CheckFailed(f"{what}: symbol is not a non-empty array")
    rows: list[dict[str, Any]] = [{} for _ in names]
    for key, value in body.items():
        if key == "s":
            continue
        if isinstance(value, list):
            if len(value) != len(names):
                raise CheckFailed(f"{what}: {key} has {len(value)} items for {len(names)} symbols")
            for row, item in zip(rows, value, strict=True):
                row[key] = item
        else:
            for row in rows:
                row[key] = value
    return rows


def _check_symbol(row: dict[str, Any], what: str) -> None:
    symbol = row.get("symbol")
    where = f"{what}: {symbol!r}"
    for key in ("symbol", "description"):
        if not isinstance(row.get(key), str):
            raise CheckFailed(f"{where}: {key} is {row.get(key)!r}, not a string")
    for key in ("exchange-listed", "exchange-traded"):
        value = row.get(key)
        if not isinstance(value, str) or value != value.upper() or not value:
            raise CheckFailed(f"{where}: {key} is {value!r}, not an upper-case name")
    if "currency" not in row:
        raise CheckFailed(f"{where}: currency is missing")
    minmovement, pricescale = row.get("minmovement"), row.get("pricescale")
    if not _integral(minmovement):
        raise CheckFailed(f"{where}: minmovement {minmovement!r} is not an integer")
    if not isinstance(pricescale, int | float) or not _integral(pricescale):
        raise CheckFailed(f"{where}: pricescale {pricescale!r} is not an integer")
    base = 2 if row.get("fractional") is True else 10  # fractional prices: 2^n
    if not is_power(int(pricescale), base):
        raise CheckFailed(f"{where}: pricescale {pricescale!r} is not a power of {base}")
    if row.get("type") not in _SYMBOL_TYPES:
        raise CheckFailed(f"{where}: type {row.get('type')!r} is not one the spec allows")
    if row.get("timezone") not in TIMEZONES:
        raise CheckFailed(f"{where}: timezone {row.get('timezone')!r} is not one the spec allows")
    for key in ("session-regular", "session-extended", "session-premarket", "session-postmarket"):
        value = row.get(key)
        if key != "session-regular" and value is None:
            continue
        if not isinstance(value, str):
            raise CheckFailed(f"{where}: {key} is {value!r}, not a session string")
        try:
            parse_session(value)
        except SessionError as exc:
            raise CheckFailed(f"{where}: {key} {value!r}: {exc}") from None
    ticker = row.get("ticker")
    if ticker is not None and (not isinstance(ticker, str) or "," in ticker):
        raise CheckFailed(f"{where}: ticker {ticker!r} is not a string without commas")


def _integral(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return float(value).is_integer()


CHECKS = (
    Check(SUITE, "data.authorize", authorize),
    Check(SUITE, "data.unauthorized", unauthorized),
    Check(SUITE, "data.groups", groups),
    Check(SUITE, "data.symbol_info", symbol_info),
)
