"""Account state, balances, leverage and latency tracking (spec §4.3, §4.4, §5.8, §7.1)."""

from __future__ import annotations

from typing import Any, ClassVar

import falcon

from gateway.api._trading import form_of, mapped_account, state_wire, trading_account
from gateway.api.orders import current_orders
from gateway.config.accounts import Account
from gateway.errors import ApiError
from gateway.http.forms import Form
from gateway.http.render import ok
from gateway.services import Services
from gateway.trading.accounting import LeverageBounds, Snapshot, chosen_leverage
from gateway.trading.journal import Journal
from gateway.trading.setup import TradingRuntime
from gateway.trading.validation import Validator, choice, number, positive


def snapshot(runtime: TradingRuntime, account: Account) -> Snapshot:
    """The account's figures now."""
    orders = current_orders(runtime, account)
    with runtime.ledger.read(account.id) as tx:
        positions = tx.open_positions()
        balance = runtime.ledger.balance(tx.conn, account.id)
        return runtime.accounting.snapshot(tx.conn, account, balance, positions, orders)


class StateResource:
    """``GET /accounts/{accountId}/state``."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Account state (spec operation ``getState``)."""
        if mapped := mapped_account(self._s, req, account_id):
            source, account, login = mapped
            ok(resp, source.state(account.id, login))
            return
        runtime, account = trading_account(self._s, req, account_id)
        ok(resp, state_wire(self._s, account, snapshot(runtime, account)))


class BalancesResource:
    """``GET /accounts/{accountId}/balances``: cash and holdings of a crypto-spot account.

    The account currency is cash: its total is the balance less the cost of the coins held.
    Each base currency of the account's instruments is a holding: its total is the long
    quantity held; working sell orders reserve coins and working buy orders reserve cash.
    """

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Balances (spec operation ``getBalances``)."""
        if mapped := mapped_account(self._s, req, account_id, "support_balances"):
            source, account, login = mapped
            ok(resp, source.balances(account.id, login))
            return
        runtime, account = trading_account(self._s, req, account_id, "support_balances")
        orders = [o for o in current_orders(runtime, account) if not o.is_final]
        with runtime.ledger.read(account.id) as tx:
            positions = tx.open_positions()
            balance, _ = runtime.ledger.balance(tx.conn, account.id)
        holdings: dict[str, dict[str, float]] = {}
        cash, cash_reserved = balance, 0.0
        for name, priced in runtime.prices.instruments.items():
            base = priced.instrument.base_currency
            if not base or (account.instruments is not None and name not in account.instruments):
                continue
            entry = holdings.setdefault(base, {"total": 0.0, "reserved": 0.0})
            for p in positions:
                if p.instrument == name and p.side == "buy":
                    entry["total"] += p.qty
                    cash -= runtime.prices.to_account(name, p.qty * p.avg_price, account.currency)
            for o in orders:
                if o.instrument != name:
                    continue
                if o.side == "sell":
                    entry["reserved"] += o.remaining
                else:
                    price = (
                        o.limit_price or o.stop_price or (runtime.prices.sides(name) or (0, 0))[1]
                    )
                    cash_reserved += runtime.prices.to_account(
                        name, o.remaining * price, account.currency
                    )
        out: list[dict[str, Any]] = []
        if account.currency:
            out.append({
                "symbol": account.currency,
                "total": round(cash, 8),
                "available": round(cash - cash_reserved, 8),
                "reserved": round(cash_reserved, 8),
            })  # fmt: skip
        for symbol, entry in holdings.items():
            out.append({
                "symbol": symbol,
                "total": entry["total"],
                "available": entry["total"] - entry["reserved"],
                "reserved": entry["reserved"],
            })  # fmt: skip
        ok(resp, out)


def _leverage_form(validator: Validator, account: Account, form: Form) -> tuple[str, str, str]:
    name = form.get("instrument") or ""
    if not name:
        raise ApiError("missing_field", field="instrument")
    validator.instrument(account, name)
    side = choice(form, "side", ("buy", "sell"))
    order_type = choice(form, "orderType", ("market", "stop", "limit", "stoplimit"))
    assert side is not None and order_type is not None
    return name, side, order_type


def _bounded(b: LeverageBounds, form: Form) -> tuple[float, str | None]:
    value = positive(form, "leverage", required=True)
    assert value is not None
    steps = (value - b.min) / b.step
    if value < b.min - 1e-9 or value > b.max + 1e-9 or abs(steps - round(steps)) > 1e-9:
        return value, f"{b.min:g}|{b.max:g}|{b.step:g}"
    return value, None


class LeverageResource:
    """``POST /accounts/{accountId}/getLeverage``, ``setLeverage`` and ``previewLeverage``.

    In mapped mode the broker's leverage query gives the value and its bounds, and its
    ``set_leverage`` statements store the user's choice; the checks are the same.
    """

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services, action: str) -> None:
        self._s = services
        self._action = action

    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Leverage (spec operations ``getLeverage``, ``setLeverage``, ``previewLeverage``)."""
        if mapped := mapped_account(self._s, req, account_id, "support_leverage"):
            source, account, login = mapped
            form = form_of(self._s, req)
            choice_ = _leverage_form(source.checker(), account, form)
            instrument, side, order_type = choice_
            current = source.leverage(account.id, login, instrument, side, order_type)
            bounds = LeverageBounds(
                current["min"], current["max"], current["step"], current["leverage"]
            )
            if self._answered(req, resp, form, instrument, current["leverage"], bounds):
                return
            value, _ = _bounded(bounds, form)
            source.set_leverage(account, login, choice_, value)
            ok(resp, {"leverage": value})
            return
        runtime, account = trading_account(self._s, req, account_id, "support_leverage")
        form = form_of(self._s, req)
        instrument, side, _ = _leverage_form(runtime.validator, account, form)
        bounds = runtime.accounting.bounds[instrument]
        with runtime.ledger.read(account.id) as tx:
            chosen = chosen_leverage(tx.conn, account.id)
        leverage = runtime.accounting.leverage(chosen, instrument, side)
        if self._answered(req, resp, form, instrument, leverage, bounds):
            return
        value, _ = _bounded(bounds, form)
        runtime.journal.set_leverage(account.id, instrument, side, value)
        runtime.changes.touch(account.id)  # margin, and so /state, changed
        ok(resp, {"leverage": value})

    def _answered(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        form: Form,
        instrument: str,
        leverage: float,
        bounds: LeverageBounds,
    ) -> bool:
        """Answer get and preview, refuse a value out of bounds; False when it is to be set."""
        if self._action == "get":
            ok(resp, {
                "title": f"{instrument} leverage",
                "leverage": leverage,
                "min": bounds.min,
                "max": bounds.max,
                "step": bounds.step,
            })  # fmt: skip
            return True
        value, problem = _bounded(bounds, form)
        if self._action == "preview":
            if problem:
                low, high, step = problem.split("|")
                text = self._s.messages.text(
                    "leverage_range",
                    req.context.locale,
                    {"leverage": f"{value:g}", "min": low, "max": high, "step": step},
                )
                ok(resp, {"errors": [text]})
                return True
            margin = 100.0 / value
            infos = [f"Margin: {margin:.4g}% of the position's value"]
            data: dict[str, Any] = {"infos": infos}
            if value >= bounds.max and bounds.max > 1:
                data["warnings"] = ["The highest leverage also multiplies losses."]
            ok(resp, data)
            return True
        if problem:
            low, high, step = problem.split("|")
            raise ApiError("leverage_range", leverage=f"{value:g}", min=low, max=high, step=step)
        return False


_TRANSACTION_TYPES = (
    "place_order",
    "modify_order",
    "cancel_order",
    "modify_position",
    "close_position",
    "modify_individual_position",
    "close_individual_position",
    "close_net_position",
)


class TrackLatencyResource:
    """``POST /accounts/{accountId}/trackLatency``: TradingView's measured round trip."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Record latency (spec operation ``trackLatency``)."""
        journal: Journal | None
        if mapped := mapped_account(self._s, req, account_id, "support_track_latency"):
            account, journal = mapped[1], mapped[0].journal
        else:
            runtime, account = trading_account(self._s, req, account_id, "support_track_latency")
            journal = runtime.journal
        form = form_of(self._s, req)
        transaction_id = form.get("transactionId") or ""
        if not transaction_id:
            raise ApiError("missing_field", field="transactionId")
        kind = choice(form, "transactionType", _TRANSACTION_TYPES)
        instrument = form.get("instrument") or ""
        if not instrument:
            raise ApiError("missing_field", field="instrument")
        side = choice(form, "side", ("buy", "sell"))
        values: dict[str, object] = {
            "reported_type": kind,
            "instrument": instrument[:64],
            "side": side,
            "qty": number(form, "qty"),
            "ask": number(form, "ask", required=True),
            "bid": number(form, "bid", required=True),
            "quote_time_ms": int(number(form, "timestamp", required=True) or 0),
            "round_trip_ms": number(form, "roundTripDuration", required=True),
        }
        start = number(form, "roundTripStartTime")
        values["round_trip_start_ms"] = int(start) if start is not None else None
        if journal is None or not journal.report_latency(account.id, transaction_id, **values):
            raise ApiError("unknown_transaction", transaction=transaction_id)
        ok(resp)
