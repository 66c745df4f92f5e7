"""The trading integration's reads: configuration, accounts, instruments, mapping, quotes, shapes.

Every answer is validated against the spec's response shape of its operation
(``gateway.conformance.schemas``); each read the account's flags enable is called once, the way
TradingView's web page calls it.
"""

from __future__ import annotations

from typing import Any

from gateway.conformance.model import Check, CheckFailed, CheckSkipped, Context
from gateway.conformance.schemas import validation_errors
from gateway.conformance.streaming_checks import open_throughout
from gateway.conformance.trading_setup import TradingRun, ok_data, params, run_of, shaped

SUITE = "trading"


def accounts(ctx: Context) -> None:
    """``/config`` and ``/accounts`` answer their spec shapes; the account under test exists.

    The account is ``--account`` or the first listed; its flags decide what the later checks
    expect of the server.
    """
    ctx.require("data.authorize")
    if ctx.client.token is None:
        raise CheckSkipped("no token: give --login or --token")
    config = ok_data(ctx.client.get("/config", params()), "getConfiguration", "GET /config")
    listed = ok_data(ctx.client.get("/accounts", params()), "getAccounts", "GET /accounts")
    ids = [a["id"] for a in listed]
    chosen = ctx.account or ids[0]
    if chosen not in ids:
        raise CheckFailed(f"--account {chosen!r} is not among /accounts: {ids}")
    account = next(a for a in listed if a["id"] == chosen)
    ctx.trading = TradingRun(chosen, dict(account.get("config") or {}), config)


def instruments(ctx: Context) -> None:
    """``/accounts/{id}/instruments``: the spec's shape, at least one, unique names."""
    run = run_of(ctx)
    got = ctx.client.get(run.path("/instruments"), params())
    listed = ok_data(got, "getInstruments", "GET /instruments")
    if not listed:
        raise CheckFailed("GET /instruments: no instrument")
    names = [row["name"] for row in listed]
    if len(set(names)) != len(names):
        raise CheckFailed(f"GET /instruments: names repeat: {names}")
    run.instruments = {row["name"]: row for row in listed}
    if ctx.symbol is not None and ctx.symbol not in run.instruments:
        raise CheckFailed(f"--symbol {ctx.symbol!r} is not an instrument of {run.account}")


def mapping(ctx: Context) -> None:
    """``/mapping``: its shape; it maps only instruments, to ``EXCHANGE:SYMBOL`` names.

    With the data suite run, every instrument is either mapped or one of the broker's own data
    symbols (``/symbol_info``): TradingView needs a chart for each. Skipped when the server has
    no ``/mapping`` (a broker whose data all comes from its own data integration).
    """
    run = run_of(ctx)
    ctx.require("trading.instruments")
    got = ctx.client.get("/mapping", auth=False)
    if got.status == 404:
        raise CheckSkipped("no /mapping (404): TradingView's own data is not used")
    body = shaped(got, "getMapping", "GET /mapping")
    mapped: dict[str, str] = {}
    for row in body["symbols"]:
        if ":" not in row["s"]:
            raise CheckFailed(f"/mapping: {row['s']!r} is not an EXCHANGE:SYMBOL name")
        mapped[row["f"][0]] = row["s"]
    unknown = sorted(set(mapped) - set(run.instruments))
    if unknown:
        raise CheckFailed(f"/mapping maps symbols that are not instruments: {unknown[:5]}")
    if ctx.symbols:
        charted = set(mapped) | {n for n in run.instruments if _data_row(ctx, n) is not None}
        chartless = sorted(set(run.instruments) - charted)
        if chartless:
            raise CheckFailed(
                f"instruments neither mapped nor in /symbol_info (no chart): {chartless[:5]}"
            )


def quotes(ctx: Context) -> None:
    """``/quotes`` of every instrument: the spec's shape, each answered, bid ≤ ask.

    A per-symbol ``s: error`` is excused only for an instrument whose session is closed by
    ``/symbol_info`` (with the data suite run).

    The scenario's instrument is ``--symbol``, else the first with a two-sided quote, an
    instrument in session (by ``/symbol_info``) first.
    """
    run = run_of(ctx)
    ctx.require("trading.instruments")
    names = list(run.instruments)
    got = ctx.client.get("/quotes", params(accountId=run.account, symbols=",".join(names)))
    data = ok_data(got, "getQuotes", "GET /quotes")
    by_name = {row["n"]: row for row in data}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise CheckFailed(f"GET /quotes: no quote for {missing[:5]}")
    # Outside its session an instrument may have no price yet (a feed without history):
    # excused only where /symbol_info says the session is closed.
    failed = [n for n, row in by_name.items() if row["s"] != "ok" and not _closed_now(ctx, n)]
    if failed:
        raise CheckFailed(f"GET /quotes: s: error for {failed[:5]}")
    for name, row in by_name.items():
        if row["s"] != "ok":
            continue
        values = row["v"]
        bid, ask = values.get("bid"), values.get("ask")
        if bid is not None and ask is not None and bid > ask:
            raise CheckFailed(f"GET /quotes: {name} bid {bid} above ask {ask}")
        run.quotes[name] = values
    two_sided = [n for n in names if _two_sided(run.quotes.get(n, {}))]
    if ctx.symbol is not None:
        if ctx.symbol not in two_sided:
            raise CheckFailed(f"--symbol {ctx.symbol}: no two-sided quote: {by_name[ctx.symbol]}")
        run.instrument = ctx.symbol
    elif two_sided:
        open_now = [n for n in two_sided if _in_session(ctx, n)]
        run.instrument = (open_now or two_sided)[0]


def _two_sided(values: dict[str, Any]) -> bool:
    bid, ask = values.get("bid"), values.get("ask")
    return isinstance(bid, int | float) and isinstance(ask, int | float) and 0 < bid <= ask


def _data_row(ctx: Context, name: str) -> dict[str, Any] | None:
    """The /symbol_info row of instrument ``name`` (by its ticker or by its symbol)."""
    if name in ctx.symbols:
        return ctx.symbols[name]
    return next((row for row in ctx.symbols.values() if row.get("symbol") == name), None)


def _closed_now(ctx: Context, name: str) -> bool:
    row = _data_row(ctx, name)
    now = ctx.clock()
    return row is not None and not open_throughout(row, now, now)


def _in_session(ctx: Context, name: str) -> bool:
    row = _data_row(ctx, name)
    now = ctx.clock()
    return row is not None and open_throughout(row, now, now + 600)


def reads(ctx: Context) -> None:
    """Every read the account's flags enable answers the spec's shape.

    ``/state``, ``/orders``, positions (``/positions``, or ``/netPositions`` and
    ``/individualPositions`` with netting), ``/executions``, ``/ordersHistory``, ``/balances``,
    ``/depth`` and ``/getLeverage``, each only when its flag says TradingView calls it.
    """
    run = run_of(ctx)
    instrument = run.instrument or next(iter(run.instruments), None)
    calls: list[tuple[str, str, str, dict[str, object]]] = [
        ("getState", "GET", run.path("/state"), {}),
        ("getOrders", "GET", run.path("/orders"), {}),
    ]
    if run.flag("supportPositionNetting"):
        calls += [
            ("getNetPositions", "GET", run.path("/netPositions"), {}),
            ("getIndividualPositions", "GET", run.path("/individualPositions"), {}),
        ]
    elif run.flag("supportPositions"):
        calls.append(("getPositions", "GET", run.path("/positions"), {}))
    if run.flag("supportExecutions") and instrument:
        calls.append(("getExecutions", "GET", run.path("/executions"), {"instrument": instrument}))
    if run.flag("supportOrdersHistory"):
        calls.append(("getOrdersHistory", "GET", run.path("/ordersHistory"), {"maxCount": 20}))
    if run.flag("supportBalances"):
        calls.append(("getBalances", "GET", run.path("/balances"), {}))
    if run.flag("supportLevel2Data") and instrument:
        calls.append(
            ("getDepth", "GET", "/depth", {"accountId": run.account, "symbol": instrument})
        )
    broken = []
    for operation_id, method, path, extra in calls:
        got = ctx.client.request(method, path, params(**extra))
        problem = _problem(got.status, got.json, operation_id)
        if problem:
            broken.append(f"{method} {path}: {problem}")
    if run.flag("supportLeverage") and instrument:
        form = {"instrument": instrument, "side": "buy", "orderType": "limit"}
        got = ctx.client.send_form("POST", run.path("/getLeverage"), form, params())
        problem = _problem(got.status, got.json, "getLeverage")
        if problem:
            broken.append(f"POST /getLeverage: {problem}")
    if broken:
        raise CheckFailed("; ".join(broken[:4]))


def _problem(status: int, body: Any, operation_id: str) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    if body is None:
        return "not JSON"
    errors = validation_errors(operation_id, body)
    if errors:
        return f"breaks the {operation_id} shape: {errors[0]}"
    if isinstance(body, dict) and body.get("s") == "error":
        return f"s: error: {body.get('errmsg')!r}"
    return None


CHECKS = (
    Check(SUITE, "trading.accounts", accounts),
    Check(SUITE, "trading.instruments", instruments),
    Check(SUITE, "trading.mapping", mapping),
    Check(SUITE, "trading.quotes", quotes),
    Check(SUITE, "trading.reads", reads),
)
