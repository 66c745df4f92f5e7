"""Orders: list, place, modify, cancel, preview, history, executions (spec §4.3–4.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import falcon

from gateway.api._trading import (
    day_start,
    entity_id,
    execution_wire,
    form_of,
    mapped_account,
    order_wire,
    trading_account,
    transaction,
)
from gateway.config.accounts import Account
from gateway.errors import ApiError
from gateway.http.forms import Form
from gateway.http.render import locale_of, ok
from gateway.services import Services
from gateway.trading.journal import Journal, fingerprint
from gateway.trading.model import Order, OrderSpec
from gateway.trading.money import Prices
from gateway.trading.setup import TradingRuntime

_MAX_COUNT = 1000


def max_count(req: falcon.Request, default: int = 100) -> int:
    """The ``maxCount`` query parameter, clipped to a sane maximum."""
    raw = req.get_param("maxCount")
    if raw is None or raw == "":
        return default
    try:
        value = int(float(raw))
    except (ValueError, OverflowError):
        raise ApiError("invalid_field", field="maxCount", reason="not a number") from None
    if value < 1:
        raise ApiError("invalid_field", field="maxCount", reason="must be at least 1")
    return min(value, _MAX_COUNT)


def current_orders(runtime: TradingRuntime, account: Account) -> list[Order]:
    """Open orders and those that became final during their instrument's current session."""
    cutoffs = {name: runtime.session_start(name) for name in runtime.prices.instruments}
    since = min(cutoffs.values(), default=runtime.clock() - 86400)
    with runtime.ledger.read(account.id) as tx:
        found = runtime.ledger.orders_for(tx.conn, account.id, since)
    return [
        o for o in found if not o.is_final or (o.final_at or 0) >= cutoffs.get(o.instrument, since)
    ]


def _check_confirm(
    journal: Journal | None, account: Account, req: falcon.Request, form: Form
) -> None:
    confirm_id = req.get_param("confirmId")
    if confirm_id and "\x00" in confirm_id:
        raise ApiError("invalid_field", field="confirmId", reason="contains a NUL character")
    if confirm_id and not (
        journal is not None
        and journal.use_preview(account.id, confirm_id, fingerprint(account.id, form))
    ):
        raise ApiError("preview_expired")


def _request_id(req: falcon.Request) -> str | None:
    value = req.get_param("requestId")
    if value is None or value == "":
        return None
    if len(value) > 64:
        raise ApiError("invalid_field", field="requestId", reason="longer than 64 characters")
    if "\x00" in value:
        raise ApiError("invalid_field", field="requestId", reason="contains a NUL character")
    return value


class OrdersResource:
    """``GET`` and ``POST /accounts/{accountId}/orders``."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Orders (spec operation ``getOrders``)."""
        if mapped := mapped_account(self._s, req, account_id):
            source, account, login = mapped
            ok(resp, source.orders(account.id, login, day_start(self._s.clock())))
            return
        runtime, account = trading_account(self._s, req, account_id)
        ok(resp, [order_wire(o) for o in current_orders(runtime, account)])

    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Place an order (spec operation ``placeOrder``)."""
        if mapped := mapped_account(self._s, req, account_id):
            source, account, login = mapped
            form = form_of(self._s, req)
            request_id = _request_id(req)
            _check_confirm(source.journal, account, req, form)
            order_id = source.place(account, login, form, request_id)
            answer: dict[str, Any] = {"orderId": order_id}
            ok(resp, answer | (transaction(source.journal, account, "place_order") or {}))
            return
        runtime, account = trading_account(self._s, req, account_id)
        form = form_of(self._s, req)
        request_id = _request_id(req)
        spec = runtime.validator.new_order(account, form)
        _check_confirm(runtime.journal, account, req, form)
        order = runtime.engine.place(account, spec, request_id)
        data: dict[str, Any] = {"orderId": str(order.id)}
        data |= transaction(runtime.journal, account, "place_order") or {}
        ok(resp, data)


class OrderResource:
    """``PUT`` and ``DELETE /accounts/{accountId}/orders/{orderId}``."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_put(
        self, req: falcon.Request, resp: falcon.Response, account_id: str, order_id: str
    ) -> None:
        """Modify an order (spec operation ``modifyOrder``)."""
        if mapped := mapped_account(self._s, req, account_id):
            source, account, login = mapped
            form = form_of(self._s, req)
            _check_confirm(source.journal, account, req, form)
            source.modify(account, login, order_id, form)
            ok(resp, transaction(source.journal, account, "modify_order"))
            return
        runtime, account = trading_account(self._s, req, account_id)
        form = form_of(self._s, req)
        oid = entity_id(order_id, "order")
        with runtime.ledger.read(account.id) as tx:
            order = tx.order(oid)
        if order is None:
            raise ApiError("unknown_order", order=order_id)
        if order.is_final:
            raise ApiError("order_final", order=order_id, state=order.status)
        edit = runtime.validator.edit(account, order, form)
        _check_confirm(runtime.journal, account, req, form)
        runtime.engine.modify(account, oid, edit)
        ok(resp, transaction(runtime.journal, account, "modify_order"))

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, account_id: str, order_id: str
    ) -> None:
        """Cancel an order (spec operation ``cancelOrder``)."""
        if mapped := mapped_account(self._s, req, account_id):
            source, account, login = mapped
            source.cancel(account, login, order_id)
            ok(resp, transaction(source.journal, account, "cancel_order"))
            return
        runtime, account = trading_account(self._s, req, account_id)
        runtime.engine.cancel(account, entity_id(order_id, "order"))
        ok(resp, transaction(runtime.journal, account, "cancel_order"))


class PreviewOrderResource:
    """``POST /accounts/{accountId}/previewOrder``: what the order would do, and a confirmId."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Preview an order (spec operation ``previewOrder``)."""
        if mapped := mapped_account(self._s, req, account_id):
            source, account, login = mapped
            form = form_of(self._s, req)
            self._check_flag(account, form)

            def mapped_rows() -> list[dict[str, str]]:
                # The broker's margin rules are its own: value and prices, no margin.
                return _rows(source.prices, account, source.preview(account, login, form))

            ok(resp, self._answer(req, account, form, mapped_rows, source.journal))
            return
        runtime, account = trading_account(self._s, req, account_id)
        form = form_of(self._s, req)
        self._check_flag(account, form)

        def rows() -> list[dict[str, str]]:
            if form.get("id"):
                oid = entity_id(form["id"], "order")
                with runtime.ledger.read(account.id) as tx:
                    order = tx.order(oid)
                if order is None:
                    raise ApiError("unknown_order", order=form["id"])
                if order.is_final:
                    raise ApiError("order_final", order=form["id"], state=order.status)
                runtime.validator.edit(account, order, form)
            spec = runtime.validator.new_order(account, form)
            with runtime.ledger.read(account.id) as tx:
                from gateway.trading.accounting import chosen_leverage

                chosen = chosen_leverage(tx.conn, account.id)
            return _rows(
                runtime.prices,
                account,
                spec,
                lambda price: runtime.accounting.margin(
                    spec.instrument, spec.side, spec.qty, price, account, chosen
                ),
            )

        ok(resp, self._answer(req, account, form, rows, runtime.journal))

    @staticmethod
    def _check_flag(account: Account, form: Form) -> None:
        modifying = bool(form.get("id"))
        flag = "support_modify_order_preview" if modifying else "support_place_order_preview"
        if not getattr(account.flags, flag):
            raise ApiError("not_supported", feature="order previews")

    def _answer(
        self,
        req: falcon.Request,
        account: Account,
        form: Form,
        rows_of: Callable[[], list[dict[str, str]]],
        journal: Journal | None,
    ) -> dict[str, Any]:
        errors: list[str] = []
        try:
            rows = rows_of()
        except ApiError as exc:
            errors.append(self._s.messages.text(exc.code, locale_of(req), exc.params))
            shown = (("Instrument", "instrument"), ("Side", "side"), ("Quantity", "qty"))
            rows = [{"title": title, "value": form.get(key, "")[:80]} for title, key in shown]
        data: dict[str, Any] = {"sections": [{"rows": rows}]}
        if errors or journal is None:
            data["errors"] = errors or ["Previews are not available."]
        else:
            ttl = self._s.config.trading.preview_ttl.seconds
            data["confirmId"] = journal.new_preview(account.id, fingerprint(account.id, form), ttl)
        return data


def _rows(
    prices: Prices,
    account: Account,
    spec: OrderSpec,
    margin: Callable[[float], float] | None = None,
) -> list[dict[str, str]]:
    """The preview's rows: the order, its estimated price and value, margin where known."""
    currency = account.currency or ""
    sides = prices.sides(spec.instrument)
    price = spec.limit_price or spec.stop_price
    if price is None and sides is not None:
        price = sides[1] if spec.side == "buy" else sides[0]
    rows = [
        ("Instrument", spec.instrument),
        ("Side", spec.side),
        ("Type", spec.type),
        ("Quantity", f"{spec.qty:g}"),
    ]
    if price is not None:
        priced = prices.priced(spec.instrument)
        notional = prices.to_account(
            spec.instrument, spec.qty * price * priced.multiplier, account.currency
        )
        rows += [
            ("Estimated price", f"{price:g}"),
            ("Order value", f"{notional:,.2f} {currency}".strip()),
        ]
        if margin is not None:
            rows.append(("Margin required", f"{margin(price):,.2f} {currency}".strip()))
    for bracket in spec.brackets:
        title = "Take profit" if bracket.kind == "take_profit" else "Stop loss"
        rows.append((title, f"{bracket.price:g}"))
    return [{"title": t, "value": v} for t, v in rows]


class OrdersHistoryResource:
    """``GET /accounts/{accountId}/ordersHistory``: final orders of earlier sessions."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Order history (spec operation ``getOrdersHistory``)."""
        limit = max_count(req)
        if mapped := mapped_account(self._s, req, account_id, "support_orders_history"):
            source, account, login = mapped
            before = day_start(self._s.clock())
            ok(resp, source.orders_history(account.id, login, before, limit)[:limit])
            return
        runtime, account = trading_account(self._s, req, account_id, "support_orders_history")
        cutoffs = {name: runtime.session_start(name) for name in runtime.prices.instruments}
        before = max(cutoffs.values(), default=runtime.clock())
        with runtime.ledger.read(account.id) as tx:
            found = runtime.ledger.history(tx.conn, account.id, before, _MAX_COUNT)
        older = [o for o in found if (o.final_at or 0) < cutoffs.get(o.instrument, before)]
        ok(resp, [order_wire(o) for o in older[:limit]])


class ExecutionsResource:
    """``GET /accounts/{accountId}/executions``: fills of one instrument."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Executions (spec operation ``getExecutions``)."""
        name = req.get_param("instrument") or ""
        if mapped := mapped_account(self._s, req, account_id, "support_executions"):
            source, account, login = mapped
            if not name:
                raise ApiError("missing_field", field="instrument")
            _known_instrument(self._s, account, name)
            limit = max_count(req)
            ok(resp, source.executions(account.id, login, name, limit)[:limit])
            return
        runtime, account = trading_account(self._s, req, account_id, "support_executions")
        if not name:
            raise ApiError("missing_field", field="instrument")
        runtime.validator.instrument(account, name)
        limit = max_count(req)
        with runtime.ledger.read(account.id) as tx:
            found = runtime.ledger.executions(tx.conn, account.id, name, limit)
        ok(resp, [execution_wire(e) for e in found])


def _known_instrument(services: Services, account: Account, name: str) -> None:
    """Mapped mode: the instrument must be one the account trades (configured in YAML)."""
    names = account.instruments
    if names is None:
        names = tuple(i.name for i in services.config.instruments)
    if name not in names:
        raise ApiError("unknown_instrument", instrument=name[:64])
