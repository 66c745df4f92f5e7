"""What the trading resources share: the account and its runtime, and the spec's shapes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import falcon

from gateway.api.accounts import account_for
from gateway.config.accounts import Account
from gateway.errors import ApiError
from gateway.http.forms import Form, read_form
from gateway.services import Services
from gateway.trading.accounting import Snapshot
from gateway.trading.journal import Journal
from gateway.trading.ledger import load_fields
from gateway.trading.mapped import MappedTrading
from gateway.trading.model import Execution, Order, Position
from gateway.trading.setup import TradingRuntime


def mapped_account(
    services: Services, req: falcon.Request, account_id: str, flag: str | None = None
) -> tuple[MappedTrading, Account, str] | None:
    """In mapped mode: the reader, the account and the user's login; None in managed mode."""
    if services.mapped is None:
        return None
    account = account_for(services, req.context.principal, account_id)
    if flag is not None and not getattr(account.flags, flag):
        raise ApiError("not_supported", feature=_FEATURES.get(flag, flag))
    return services.mapped, account, req.context.principal.login


def transaction(journal: Journal | None, account: Account, kind: str) -> dict[str, str] | None:
    """A transaction id for the answer, where the account tracks latency (spec §4.7)."""
    if journal is None or not account.flags.support_track_latency:
        return None
    return {"transactionId": journal.new_transaction(account.id, kind)}


def day_start(now: float) -> float:
    """00:00 UTC of the day of ``now``: where mapped mode's /orders stops showing final ones."""
    return now - now % 86400


def trading_account(
    services: Services, req: falcon.Request, account_id: str, flag: str | None = None
) -> tuple[TradingRuntime, Account]:
    """The runtime and the account, if this user may trade in it.

    With ``flag`` (an :class:`AccountFlags` attribute), the account must also offer it.
    """
    account = account_for(services, req.context.principal, account_id)
    if services.trading is None:
        raise ApiError("trading_unavailable")
    if flag is not None and not getattr(account.flags, flag):
        raise ApiError("not_supported", feature=_FEATURES.get(flag, flag))
    return services.trading, account


_FEATURES = {
    "support_positions": "the positions endpoints",
    "support_position_netting": "net and individual positions",
    "support_close_position": "closing positions",
    "support_balances": "balances",
    "support_executions": "executions",
    "support_orders_history": "order history",
    "support_leverage": "leverage",
    "support_track_latency": "latency tracking",
}


def form_of(services: Services, req: falcon.Request) -> Form:
    """The request body (bounded by ``server.max_body_bytes``)."""
    return read_form(req, services.config.server.max_body_bytes)


def entity_id(raw: str, what: str) -> int:
    """An order or position id from the path (ours are decimal integers)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        if what == "order":
            raise ApiError("unknown_order", order=raw)
        raise ApiError("unknown_position", position=raw)
    return int(raw)


def _custom(text: str | None) -> list[dict[str, str]] | None:
    values = load_fields(text)
    return [{"id": k, "value": v} for k, v in values.items()] or None


def order_wire(order: Order) -> dict[str, Any]:
    """The spec's Order object."""
    out: dict[str, Any] = {
        "id": str(order.id),
        "instrument": order.instrument,
        "qty": order.qty,
        "side": order.side,
        "type": order.type,
        "status": order.status,
        "filledQty": order.filled_qty,
        "lastModified": int(order.updated_at),
    }
    if order.avg_price is not None:
        out["avgPrice"] = order.avg_price
    if order.type in ("limit", "stoplimit") and order.limit_price is not None:
        out["limitPrice"] = order.limit_price
    if order.type in ("stop", "stoplimit") and order.stop_price is not None:
        out["stopPrice"] = order.stop_price
    if order.trailing_pips is not None:
        out["trailingStopPips"] = order.trailing_pips
        out["isTrailingStop"] = True
    if order.guaranteed:
        out["isGuaranteedStop"] = True
    if order.bracket is not None:
        if order.parent_type == "order" and order.parent_id is not None:
            out["parentId"], out["parentType"] = str(order.parent_id), "order"
        elif order.parent_type == "position" and order.position_id is not None:
            out["parentId"], out["parentType"] = str(order.position_id), "position"
    if order.duration_type:
        duration: dict[str, Any] = {"type": order.duration_type}
        if order.duration_datetime is not None:
            duration["datetime"] = order.duration_datetime
        out["duration"] = duration
    custom = _custom(order.custom_fields)
    if custom:
        out["customFields"] = custom
    if order.message:
        out["message"] = {"text": order.message, "type": order.message_type or "information"}
    return out


def position_wire(runtime: TradingRuntime, account: Account, position: Position) -> dict[str, Any]:
    """The spec's Position object."""
    out: dict[str, Any] = {
        "id": str(position.id),
        "instrument": position.instrument,
        "qty": position.qty,
        "side": position.side,
        "avgPrice": position.avg_price,
    }
    if account.flags.support_pl_update:
        pl = runtime.accounting.unrealized(position, account)
        if pl is not None:
            out["unrealizedPl"] = round(pl, 8)
    return out


def individual_wire(
    runtime: TradingRuntime, account: Account, position: Position
) -> dict[str, Any]:
    """The spec's IndividualPosition object (``date`` is a string of Unix milliseconds)."""
    out: dict[str, Any] = {
        "id": str(position.id),
        "instrument": position.instrument,
        "date": str(int(position.opened_at * 1000)),
        "qty": position.qty,
        "side": position.side,
        "price": position.avg_price,
    }
    if account.flags.support_pl_update:
        pl = runtime.accounting.unrealized(position, account)
        if pl is not None:
            out["unrealizedPl"] = round(pl, 8)
    return out


def net_wires(positions: Iterable[Position]) -> list[dict[str, Any]]:
    """NetPosition objects: one per instrument, id = instrument, qty signed (long > 0)."""
    by_instrument: dict[str, list[Position]] = {}
    for position in positions:
        by_instrument.setdefault(position.instrument, []).append(position)
    out = []
    for instrument, held in by_instrument.items():
        long_qty = sum(p.qty for p in held if p.side == "buy")
        short_qty = sum(p.qty for p in held if p.side == "sell")
        total = long_qty + short_qty
        avg = sum(p.avg_price * p.qty for p in held) / total if total else 0.0
        net = long_qty - short_qty
        out.append({
            "id": instrument,
            "instrument": instrument,
            "qty": net,
            "side": "buy" if net >= 0 else "sell",
            "longQty": long_qty,
            "shortQty": short_qty,
            "avgPrice": avg,
        })  # fmt: skip
    return out


def execution_wire(execution: Execution) -> dict[str, Any]:
    """The spec's Execution object."""
    out: dict[str, Any] = {
        "id": str(execution.id),
        "instrument": execution.instrument,
        "price": execution.price,
        "time": int(execution.time),
        "qty": execution.qty,
        "side": execution.side,
        "orderId": str(execution.order_id),
        "isClose": execution.is_close,
    }
    if execution.position_id is not None:
        out["positionId"] = str(execution.position_id)
    if execution.commission is not None:
        out["commission"] = execution.commission
    return out


def money(value: float | int | None, currency: str | None) -> str:
    """A figure as the account manager shows it."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    text = f"{value:,.2f}"
    return f"{text} {currency}" if currency else text


def state_wire(services: Services, account: Account, snap: Snapshot) -> dict[str, Any]:
    """The spec's AccountState, with the configured summary row and tables filled."""
    # Rounded like the positions' unrealizedPl (8 places), so that their sum is this figure:
    # TradingView formats them for display itself.
    out: dict[str, Any] = {
        "balance": round(snap.balance, 8),
        "unrealizedPl": round(snap.unrealized_pl, 8),
        "equity": round(snap.equity, 8),
        "marginAvailable": round(snap.margin_available, 8),
    }
    ui = services.config.ui
    row = (account.ui.account_summary_row if account.ui else None) or ui.account_summary_row
    if row and account.flags.support_custom_account_summary_row:
        out["accountSummaryRowData"] = [
            money(snap.metric(item.id), account.currency) for item in row
        ]
    tables = (account.ui.account_manager if account.ui else None) or ui.account_manager
    if tables:
        out["amData"] = [
            [[money(snap.metric(c.id), account.currency) for c in table.columns]]
            for table in tables
        ]
    return out
