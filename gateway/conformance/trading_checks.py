"""The trading scenario: what the account's flags promise, done for real, then undone.

TradingView agrees its trading test cases with each broker from the account's flags
(tradingview-acceptance.md, "Trading integration"). These checks place every supported order
type with the instrument's smallest quantity, away from the market so that they rest, modify and
cancel them, place brackets and cancel their parent, buy at the market and close the position
again, and check each answer and each ``/orders`` and positions row against the spec.
``trading.cleanup`` runs last whatever happened: it cancels every order the scenario left open
and trades the instrument back to the position it had before.
"""

from __future__ import annotations

import math
from typing import Any

from gateway.conformance.model import Check, CheckFailed, CheckSkipped, Context
from gateway.conformance.trading_setup import (
    OPEN_STATUSES,
    TradingRun,
    cancel,
    net_qty,
    ok_data,
    orders,
    params,
    place,
    positions,
    price,
    quantity,
    refuses,
    scenario,
    wait_cancelled,
    wait_for_order,
    wait_for_qty,
)

SUITE = "trading"
DISTANCE = 0.02
"""How far from the market resting orders are placed (2 %), within the instrument's rules."""
RESTING = {"working"}


def _distance(run: TradingRun, instrument: str, rule_id: str) -> float:
    """``DISTANCE``, moved inside the instrument's ``validationRules`` for ``rule_id``."""
    rules = (run.instruments[instrument].get("ui") or {}).get("validationRules") or []
    distance = DISTANCE
    for rule in rules:
        if rule.get("id") == rule_id:
            options = rule.get("options") or {}
            low, high = options.get("min"), options.get("max")
            if isinstance(low, int | float):
                distance = max(distance, low / 100 * 1.5)
            if isinstance(high, int | float):
                distance = min(distance, high / 100 * 0.8)
    return distance


def _same(a: object, b: float) -> bool:
    return isinstance(a, int | float) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _expect(order: dict[str, Any], what: str, **fields: object) -> None:
    for name, value in fields.items():
        got = order.get(name)
        same = _same(got, value) if isinstance(value, float) else got == value
        if not same:
            raise CheckFailed(f"{what}: {name} is {got!r} in /orders, expected {value!r}")


def order_errors(ctx: Context) -> None:
    """Bad orders are refused with ``s: error`` and a readable ``errmsg``, and change nothing.

    An unknown instrument, a zero quantity and the cancellation of an order that does not exist.
    """
    run, instrument, quote = scenario(ctx)
    before = set(orders(ctx, run))
    base = {"qty": quantity(run, instrument), "side": "buy", "type": "market",
            "currentAsk": quote["ask"], "currentBid": quote["bid"]}  # fmt: skip
    unknown = ctx.client.send_form(
        "POST", run.path("/orders"), {**base, "instrument": "CONFORMANCE-NO-SUCH"}, params()
    )
    refuses(unknown, "an order for an unknown instrument")
    zero = ctx.client.send_form(
        "POST", run.path("/orders"), {**base, "instrument": instrument, "qty": 0}, params()
    )
    refuses(zero, "an order of quantity 0")
    missing = ctx.client.request("DELETE", run.path("/orders/conformance-no-such-order"), params())
    refuses(missing, "cancelling an order that does not exist")
    created = set(orders(ctx, run)) - before
    if created:
        run.placed.extend(created)
        raise CheckFailed(f"refused orders still appeared in /orders: {sorted(created)}")


def limit_order(ctx: Context) -> None:
    """A buy limit below the market rests ``working``, takes a new price, and cancels."""
    run, instrument, quote = scenario(ctx)
    if not run.flag("supportLimitOrders"):
        raise CheckSkipped("the account does not support limit orders")
    distance = _distance(run, instrument, "limitPercent")
    qty = quantity(run, instrument)
    limit = price(run, instrument, quote["bid"] * (1 - distance))
    order_id = place(ctx, run, {"qty": qty, "side": "buy", "type": "limit", "limitPrice": limit},
                     "a limit order")  # fmt: skip
    row = wait_for_order(ctx, run, order_id, RESTING, ctx.fill_seconds)
    _expect(row, f"limit order {order_id}", instrument=instrument, side="buy", type="limit",
            qty=qty, limitPrice=limit)  # fmt: skip
    if run.flag("supportModifyOrderPrice"):
        moved = price(run, instrument, quote["bid"] * (1 - distance * 1.5))
        got = ctx.client.send_form(
            "PUT", run.path(f"/orders/{order_id}"), {"qty": qty, "limitPrice": moved}, params()
        )
        ok_data(got, "modifyOrder", f"PUT /orders/{order_id}")
        row = wait_for_order(ctx, run, order_id, RESTING, ctx.fill_seconds)
        _expect(row, f"modified limit order {order_id}", limitPrice=moved)
    cancel(ctx, run, order_id, "the limit order")
    wait_cancelled(ctx, run, order_id, ctx.fill_seconds)


def stop_order(ctx: Context) -> None:
    """A buy stop above the market rests ``working`` and cancels."""
    _rest_and_cancel(ctx, "stop", "supportStopOrders")


def stop_limit_order(ctx: Context) -> None:
    """A buy stop-limit above the market rests ``working`` and cancels."""
    _rest_and_cancel(ctx, "stoplimit", "supportStopLimitOrders")


def _rest_and_cancel(ctx: Context, order_type: str, flag: str) -> None:
    run, instrument, quote = scenario(ctx)
    if not run.flag(flag):
        raise CheckSkipped(f"the account does not support {order_type} orders ({flag})")
    distance = _distance(run, instrument, "stopPercent")
    stop = price(run, instrument, quote["ask"] * (1 + distance))
    form: dict[str, object] = {"qty": quantity(run, instrument), "side": "buy",
                               "type": order_type, "stopPrice": stop}  # fmt: skip
    expected: dict[str, object] = {"type": order_type, "stopPrice": stop}
    if order_type == "stoplimit":
        limit = price(run, instrument, quote["ask"] * (1 + distance * 1.1))
        form["limitPrice"] = expected["limitPrice"] = limit
    order_id = place(ctx, run, form, f"a {order_type} order")
    row = wait_for_order(ctx, run, order_id, RESTING, ctx.fill_seconds)
    _expect(row, f"{order_type} order {order_id}", **expected)
    cancel(ctx, run, order_id, f"the {order_type} order")
    wait_cancelled(ctx, run, order_id, ctx.fill_seconds)


def order_brackets(ctx: Context) -> None:
    """A resting order with stop-loss and take-profit shows both brackets; cancelling cancels them.

    Each bracket is ``inactive`` while its parent rests, with ``parentId`` the parent's id,
    ``parentType: order``, the opposite side and the parent's quantity (the spec's 9.5).
    """
    run, instrument, quote = scenario(ctx)
    if not run.flag("supportOrderBrackets"):
        raise CheckSkipped("the account does not support order brackets")
    distance = _distance(run, instrument, "limitPercent")
    qty = quantity(run, instrument)
    entry = price(run, instrument, quote["bid"] * (1 - distance))
    stop_loss = price(run, instrument, entry * (1 - _distance(run, instrument, "slPercent")))
    take_profit = price(run, instrument, entry * (1 + _distance(run, instrument, "tpPercent")))
    form = {"qty": qty, "side": "buy", "type": "limit", "limitPrice": entry,
            "stopLoss": stop_loss, "takeProfit": take_profit}  # fmt: skip
    parent = place(ctx, run, form, "an order with brackets")
    wait_for_order(ctx, run, parent, RESTING, ctx.fill_seconds)
    brackets = [o for o in orders(ctx, run).values() if o.get("parentId") == parent]
    run.placed.extend(o["id"] for o in brackets)
    by_type = {o.get("type"): o for o in brackets}
    if len(brackets) != 2 or set(by_type) != {"stop", "limit"}:
        kinds = [o.get("type") for o in brackets]
        raise CheckFailed(f"order {parent}: brackets {kinds} in /orders, expected stop and limit")
    for kind, level, field in (
        ("stop", stop_loss, "stopPrice"),
        ("limit", take_profit, "limitPrice"),
    ):
        _expect(by_type[kind], f"{kind} bracket of {parent}", status="inactive", side="sell",
                qty=qty, parentType="order", **{field: level})  # fmt: skip
    cancel(ctx, run, parent, "the bracketed order")
    for order_id in (parent, *(o["id"] for o in brackets)):
        wait_cancelled(ctx, run, order_id, ctx.fill_seconds)


def market_order(ctx: Context) -> None:
    """A buy at the market fills, the position grows by its quantity, an execution appears."""
    run, instrument, _quote = scenario(ctx)
    if not run.flag("supportMarketOrders"):
        raise CheckSkipped("the account does not support market orders")
    tracked = _positions_tracked(run)
    if tracked and run.start_qty is None:
        run.start_qty = net_qty(ctx, run, instrument)
    before = _execution_ids(ctx, run, instrument)
    qty = quantity(run, instrument)
    order_id = place(ctx, run, {"qty": qty, "side": "buy", "type": "market"}, "a market order")
    try:
        row = wait_for_order(ctx, run, order_id, {"filled", "rejected"}, ctx.fill_seconds)
    except CheckFailed as exc:
        hint = "is its market open? --symbol chooses an instrument in session"
        raise CheckFailed(f"{exc} ({hint})") from None
    if row.get("status") == "rejected":
        raise CheckFailed(f"market order {order_id} was rejected: {row.get('message')}")
    _expect(row, f"market order {order_id}", filledQty=qty)
    if tracked and run.start_qty is not None:
        wait_for_qty(ctx, run, instrument, run.start_qty + qty, ctx.fill_seconds)
    if before is not None:
        after = _execution_ids(ctx, run, instrument) or set()
        if not after - before:
            raise CheckFailed(f"market order {order_id} filled but /executions shows nothing new")


def _positions_tracked(run: TradingRun) -> bool:
    return run.flag("supportPositions") or run.flag("supportPositionNetting")


def _execution_ids(ctx: Context, run: TradingRun, instrument: str) -> set[str] | None:
    if not run.flag("supportExecutions"):
        return None
    got = ctx.client.get(run.path("/executions"), params(instrument=instrument))
    rows = ok_data(got, "getExecutions", "GET /executions")
    return {f"{r.get('id')}|{r.get('time')}|{r.get('qty')}|{r.get('price')}" for r in rows}


def close_position(ctx: Context) -> None:
    """The position the market order opened closes: partly, then wholly, where flags allow.

    With ``supportClosePosition`` (or netting) through its DELETE, with ``amount`` first when
    partial closing is supported; without it by a sell at the market, as TradingView does.
    """
    run, instrument, _quote = scenario(ctx)
    ctx.require("trading.marketOrder")
    if not _positions_tracked(run) or run.start_qty is None:
        raise CheckSkipped("the account shows no positions (supportPositions is false)")
    qty = quantity(run, instrument)
    netting = run.flag("supportPositionNetting")
    closable = netting or run.flag("supportClosePosition")
    partial = run.flag(
        "supportPartialCloseIndividualPosition" if netting else "supportPartialClosePosition"
    )
    target = run.start_qty
    if not closable or run.start_qty != 0:
        # Closing would also close what the account held before: sell the bought quantity.
        if closable and partial and not netting:
            _close(ctx, run, instrument, {"amount": qty})
        else:
            place(ctx, run, {"qty": qty, "side": "sell", "type": "market"}, "the closing sale")
        wait_for_qty(ctx, run, instrument, target, ctx.fill_seconds)
        return
    if partial and not netting:
        place(ctx, run, {"qty": qty, "side": "buy", "type": "market"}, "a second market order")
        wait_for_qty(ctx, run, instrument, 2 * qty, ctx.fill_seconds)
        _close(ctx, run, instrument, {"amount": qty})
        wait_for_qty(ctx, run, instrument, qty, ctx.fill_seconds)
    _close(ctx, run, instrument, {})
    wait_for_qty(ctx, run, instrument, 0.0, ctx.fill_seconds)


def _close(ctx: Context, run: TradingRun, instrument: str, form: dict[str, object]) -> None:
    netting = run.flag("supportPositionNetting")
    rows = [p for p in positions(ctx, run) if p.get("instrument") == instrument]
    if not rows:
        raise CheckFailed(f"no position of {instrument} to close")
    collection, operation = ("/netPositions", "closeNetPosition") if netting else (
        "/positions", "closePosition")  # fmt: skip
    path = run.path(f"{collection}/{rows[0]['id']}")
    got = (
        ctx.client.send_form("DELETE", path, form, params())
        if form
        else ctx.client.request("DELETE", path, params())
    )
    ok_data(got, operation, f"DELETE {collection}/{rows[0]['id']}")


def cleanup(ctx: Context) -> None:
    """Cancel what the scenario left open; trade the instrument back to its starting position.

    Runs whatever failed before it; fails when something could not be undone, naming it.
    """
    if not isinstance(ctx.trading, TradingRun) or not ctx.trading.placed:
        raise CheckSkipped("the scenario placed nothing")
    run = ctx.trading
    left = []
    listed = orders(ctx, run)
    for order_id in dict.fromkeys(run.placed):
        row = listed.get(order_id)
        if row is not None and row.get("status") in OPEN_STATUSES and not row.get("parentId"):
            cancel(ctx, run, order_id, "the clean-up")
    listed = orders(ctx, run)
    for order_id in dict.fromkeys(run.placed):
        row = listed.get(order_id)
        if row is not None and row.get("status") in OPEN_STATUSES:
            cancel(ctx, run, order_id, "the clean-up")
    if run.instrument is not None and run.start_qty is not None:
        gap = run.start_qty - net_qty(ctx, run, run.instrument)
        if abs(gap) > 1e-12:
            side = "buy" if gap > 0 else "sell"
            place(ctx, run, {"qty": abs(gap), "side": side, "type": "market"}, "the clean-up")
            try:
                wait_for_qty(ctx, run, run.instrument, run.start_qty, ctx.fill_seconds)
            except CheckFailed as exc:
                left.append(str(exc))
    listed = orders(ctx, run)
    still = [
        i for i in dict.fromkeys(run.placed) if listed.get(i, {}).get("status") in OPEN_STATUSES
    ]
    if still:
        left.append(f"orders still open: {still}")
    if left:
        raise CheckFailed("could not undo the scenario: " + "; ".join(left))


CHECKS = (
    Check(SUITE, "trading.orderErrors", order_errors),
    Check(SUITE, "trading.limitOrder", limit_order),
    Check(SUITE, "trading.stopOrder", stop_order),
    Check(SUITE, "trading.stopLimitOrder", stop_limit_order),
    Check(SUITE, "trading.orderBrackets", order_brackets),
    Check(SUITE, "trading.marketOrder", market_order),
    Check(SUITE, "trading.closePosition", close_position),
    Check(SUITE, "trading.cleanup", cleanup),
)
