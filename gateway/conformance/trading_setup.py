"""What the trading checks share: the account under test, its flags, requests and waiting.

The trading half of the API is called by TradingView's web page with the user's token; every
request carries ``locale`` (required by the spec on the trading endpoints). The scenario places
real orders in the chosen account, so everything it places is recorded here and
``trading.cleanup`` cancels what is still open and trades the instrument's position back to
what it was before the run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.conformance.client import Answer
from gateway.conformance.model import CheckFailed, CheckSkipped, Context
from gateway.conformance.schemas import ACCOUNT_FLAG_DEFAULTS, validation_errors

LOCALE = "en"
POLL_SECONDS = 0.25
OPEN_STATUSES = frozenset({"placing", "working", "inactive"})
"""Order statuses that the clean-up cancels."""


@dataclass
class TradingRun:
    """The account under test and what the scenario did to it."""

    account: str
    flags: dict[str, bool]
    """The account's flags over TradingView's defaults."""
    config: dict[str, Any]
    """``/config``'s ``d``."""
    instruments: dict[str, dict[str, Any]] = field(default_factory=dict)
    quotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each instrument's quote values (``v`` of ``/quotes``)."""
    instrument: str | None = None
    """The instrument the scenario trades."""
    placed: list[str] = field(default_factory=list)
    """Ids of the orders the scenario placed, brackets included once seen."""
    start_qty: float | None = None
    """The instrument's signed position before the scenario traded it."""

    def flag(self, name: str) -> bool:
        """The flag's value, TradingView's default when the account does not set it."""
        return self.flags.get(name, bool(ACCOUNT_FLAG_DEFAULTS.get(name)))

    def path(self, rest: str) -> str:
        """``/accounts/{id}`` + ``rest``."""
        return f"/accounts/{self.account}{rest}"


def run_of(ctx: Context) -> TradingRun:
    """The run's trading state (set by ``trading.accounts``)."""
    ctx.require("trading.accounts")
    if not isinstance(ctx.trading, TradingRun):
        raise CheckSkipped("needs trading.accounts, which did not run")
    return ctx.trading


def scenario(ctx: Context) -> tuple[TradingRun, str, dict[str, Any]]:
    """The run, the scenario's instrument and that instrument's quote; skip when none."""
    run = run_of(ctx)
    ctx.require("trading.instruments", "trading.quotes")
    if run.instrument is None:
        raise CheckSkipped("no instrument with a two-sided quote to trade")
    return run, run.instrument, run.quotes[run.instrument]


def params(**extra: object) -> dict[str, object]:
    """A trading request's query: ``locale`` and ``extra``."""
    return {"locale": LOCALE, **extra}


def shaped(answer: Answer, operation_id: str, what: str) -> Any:
    """The body of a 200 answer that is a valid ``operation_id`` response; CheckFailed if not."""
    if answer.status != 200:
        raise CheckFailed(f"{what}: HTTP {answer.status} (expected 200): {answer.body[:200]!r}")
    if answer.json is None:
        raise CheckFailed(f"{what}: the body is not JSON: {answer.body[:200]!r}")
    errors = validation_errors(operation_id, answer.json)
    if errors:
        raise CheckFailed(
            f"{what}: breaks the spec's {operation_id} shape: {'; '.join(errors[:3])}"
        )
    return answer.json


def ok_data(answer: Answer, operation_id: str, what: str) -> Any:
    """``d`` of a valid, successful ``operation_id`` answer."""
    body = shaped(answer, operation_id, what)
    if isinstance(body, dict) and body.get("s") == "error":
        raise CheckFailed(f"{what}: s is 'error': {body.get('errmsg')!r}")
    return body.get("d") if isinstance(body, dict) else body


def orders(ctx: Context, run: TradingRun) -> dict[str, dict[str, Any]]:
    """``/orders`` by id, checked against the spec."""
    got = ctx.client.get(run.path("/orders"), params())
    return {o["id"]: o for o in ok_data(got, "getOrders", "GET /orders")}


T = TypeVar("T")


def poll(read: Callable[[], T], done: Callable[[T], bool], seconds: float) -> tuple[bool, T]:
    """``read()`` every ``POLL_SECONDS`` until ``done`` says so or ``seconds`` pass.

    Whether it got there, and the last value read (for the failure's reason).
    """
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value):
            return True, value
        if time.monotonic() >= deadline:
            return False, value
        time.sleep(POLL_SECONDS)


def wait_for_order(
    ctx: Context, run: TradingRun, order_id: str, statuses: set[str], seconds: float
) -> dict[str, Any]:
    """Poll ``/orders`` until the order has one of ``statuses``; CheckFailed after ``seconds``."""
    reached, last = poll(
        lambda: orders(ctx, run).get(order_id),
        lambda order: order is not None and order.get("status") in statuses,
        seconds,
    )
    if reached and last is not None:
        return last
    seen = "not in /orders" if last is None else f"status {last.get('status')!r}"
    raise CheckFailed(
        f"order {order_id}: {seen} after {seconds:g} s, expected {' or '.join(sorted(statuses))}"
    )


def wait_cancelled(ctx: Context, run: TradingRun, order_id: str, seconds: float) -> None:
    """The order shows ``cancelled`` in ``/orders``, or (gone from it) in ``/ordersHistory``."""

    def cancelled(order: dict[str, Any] | None) -> bool:
        if order is None:
            return _cancelled_in_history(ctx, run, order_id)
        return order.get("status") == "cancelled"

    reached, order = poll(lambda: orders(ctx, run).get(order_id), cancelled, seconds)
    if not reached:
        seen = "gone from /orders" if order is None else f"status {order.get('status')!r}"
        raise CheckFailed(
            f"order {order_id}: {seen} {seconds:g} s after its cancellation, not shown "
            "cancelled (TradingView keeps showing an order it never sees cancelled)"
        )


def _cancelled_in_history(ctx: Context, run: TradingRun, order_id: str) -> bool:
    if not run.flag("supportOrdersHistory"):
        return False
    got = ctx.client.get(run.path("/ordersHistory"), params(maxCount=100))
    history = ok_data(got, "getOrdersHistory", "GET /ordersHistory")
    return any(o.get("id") == order_id and o.get("status") == "cancelled" for o in history)


def place(ctx: Context, run: TradingRun, form: dict[str, object], what: str) -> str:
    """POST an order; its id, recorded for the clean-up."""
    _, instrument, quote = scenario(ctx)
    body = {
        "instrument": instrument,
        "currentAsk": quote["ask"],
        "currentBid": quote["bid"],
        **duration_for(run, str(form["type"])),
        **form,
    }
    got = ctx.client.send_form("POST", run.path("/orders"), body, params())
    data = ok_data(got, "placeOrder", f"{what}: POST /orders")
    order_id = data.get("orderId")
    if not isinstance(order_id, str) or not order_id:
        raise CheckFailed(f"{what}: POST /orders gave no orderId: {got.json}")
    run.placed.append(order_id)
    return order_id


def cancel(ctx: Context, run: TradingRun, order_id: str, what: str) -> None:
    """DELETE the order; CheckFailed unless the answer is a valid success."""
    got = ctx.client.request("DELETE", run.path(f"/orders/{order_id}"), params())
    ok_data(got, "cancelOrder", f"{what}: DELETE /orders/{order_id}")


def duration_for(run: TradingRun, order_type: str) -> dict[str, object]:
    """The ``durationType`` TradingView would send: the default duration for ``order_type``."""
    durations = [
        d
        for d in run.config.get("durations") or []
        if order_type in (d.get("supportedOrderTypes") or [order_type])
        and not d.get("hasDatePicker")
        and not d.get("hasTimePicker")
    ]
    if not durations:
        return {}
    chosen = next((d for d in durations if d.get("default")), durations[0])
    return {"durationType": chosen["id"]}


def quantity(run: TradingRun, instrument: str, multiple: int = 1) -> float:
    """``multiple`` times the instrument's smallest quantity (``minQty``, else ``qtyStep``)."""
    row = run.instruments[instrument]
    smallest = float(row.get("minQty") or row.get("qtyStep") or 1)
    step = float(row.get("qtyStep") or smallest)
    return _on_grid(smallest * multiple, step)


def price(run: TradingRun, instrument: str, value: float) -> float:
    """``value`` on the instrument's price grid (``minTick``)."""
    return _on_grid(value, float(run.instruments[instrument].get("minTick") or 0.01))


def _on_grid(value: float, step: float) -> float:
    if step <= 0 or not math.isfinite(step):
        return value
    decimals = max(0, -math.floor(math.log10(step)) + 2)
    return round(round(value / step) * step, decimals)


def positions(ctx: Context, run: TradingRun) -> list[dict[str, Any]]:
    """The account's positions (net positions in netting mode), checked against the spec."""
    if run.flag("supportPositionNetting"):
        got = ctx.client.get(run.path("/netPositions"), params())
        listed = ok_data(got, "getNetPositions", "GET /netPositions")
    else:
        got = ctx.client.get(run.path("/positions"), params())
        listed = ok_data(got, "getPositions", "GET /positions")
    return [p for p in listed if isinstance(p, dict)]


def net_qty(ctx: Context, run: TradingRun, instrument: str) -> float:
    """The instrument's signed position: bought minus sold, over all its positions."""
    total = 0.0
    for p in positions(ctx, run):
        if p.get("instrument") == instrument:
            sign = 1 if p.get("side") == "buy" else -1
            total += sign * float(p.get("qty") or 0)
    return total


def wait_for_qty(
    ctx: Context, run: TradingRun, instrument: str, expected: float, seconds: float
) -> None:
    """Poll the positions until the instrument's signed quantity is ``expected``."""
    reached, qty = poll(
        lambda: net_qty(ctx, run, instrument),
        lambda qty: math.isclose(qty, expected, rel_tol=1e-9, abs_tol=1e-9),
        seconds,
    )
    if not reached:
        raise CheckFailed(
            f"{instrument}: position {qty:g} after {seconds:g} s, expected {expected:g}"
        )


def refuses(answer: Answer, what: str) -> str:
    """The ``errmsg`` of an ``s: error`` answer; CheckFailed when the server accepted instead."""
    body = answer.json
    if not isinstance(body, dict) or body.get("s") != "error":
        raise CheckFailed(f"{what}: not refused with s: error (HTTP {answer.status}): {body!r}")
    errmsg = body.get("errmsg")
    if not isinstance(errmsg, str) or not errmsg.strip():
        raise CheckFailed(f"{what}: the error has no readable errmsg: {body}")
    if set(body) - {"s", "errmsg"}:
        raise CheckFailed(f"{what}: the error has fields beyond s and errmsg: {body}")
    return errmsg
