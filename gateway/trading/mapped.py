"""Mapped mode: the broker's systems own the accounts, and a connector reads them.

Records come from an account_data connector in the spec's field names (the sql connector maps
the broker's columns to them). This module checks and normalizes them to the spec's shapes, so
that a mapping mistake — a status the spec does not know, a missing price — is reported with the
record that has it instead of reaching TradingView.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gateway.config.accounts import Account
from gateway.config.model import GatewayConfig
from gateway.errors import ApiError
from gateway.http.forms import Form
from gateway.market.pipeline import MarketRuntime
from gateway.plugins.roles import AccountData
from gateway.store.database import Database
from gateway.trading.events import Changes
from gateway.trading.journal import Journal
from gateway.trading.model import BracketSpec, OrderSpec, Position
from gateway.trading.money import Prices
from gateway.trading.validation import Validator

log = logging.getLogger("gateway.trading.mapped")

ORDER_STATUSES = frozenset({"placing", "inactive", "working", "rejected", "filled", "cancelled"})
FINAL_STATUSES = frozenset({"rejected", "filled", "cancelled"})
ORDER_TYPES = frozenset({"market", "limit", "stop", "stoplimit"})
SIDES = frozenset({"buy", "sell"})


class RecordError(ValueError):
    """A record from the connector does not fit the spec."""


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or value is None:
        raise RecordError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value) if isinstance(value, int | float | Decimal | str) else math.nan
    except ValueError:
        raise RecordError(f"{name} must be a number, got {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise RecordError(f"{name} must be a finite number, got {str(value)[:40]!r}")
    return number


def _text(value: Any, name: str) -> str:
    if value is None or (isinstance(value, str) and not value):
        raise RecordError(f"{name} is missing")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _choice(value: Any, name: str, allowed: frozenset[str]) -> str:
    text = str(value) if value is not None else ""
    if text not in allowed:
        raise RecordError(f"{name} is {str(value)[:40]!r}, not one of {', '.join(sorted(allowed))}")
    return text


def unix_seconds(number: float) -> int:
    """Unix seconds from seconds or milliseconds (a common column unit, above 10^11)."""
    return int(number / 1000) if number > 1e11 else int(number)


def _seconds(value: Any, name: str) -> int:
    return unix_seconds(_number(value, name))


_ORDER_NUMBERS = ("filledQty", "avgPrice", "limitPrice", "stopPrice", "trailingStopPips")


def order(record: Mapping[str, Any], history: bool = False) -> dict[str, Any]:
    """A spec Order (or OrderHistory) from a mapped record."""
    status = _choice(record.get("status"), "status", FINAL_STATUSES if history else ORDER_STATUSES)
    out: dict[str, Any] = {
        "id": _text(record.get("id"), "id"),
        "instrument": _text(record.get("instrument"), "instrument"),
        "qty": _number(record.get("qty"), "qty"),
        "side": _choice(record.get("side"), "side", SIDES),
        "type": _choice(record.get("type"), "type", ORDER_TYPES),
        "status": status,
    }
    for name in _ORDER_NUMBERS:
        if record.get(name) is not None:
            out[name] = _number(record[name], name)
    if out["type"] not in ("limit", "stoplimit"):
        out.pop("limitPrice", None)  # the spec: only on limit and stop-limit orders
    if out["type"] not in ("stop", "stoplimit"):
        out.pop("stopPrice", None)
    if record.get("lastModified") is not None:
        out["lastModified"] = _seconds(record["lastModified"], "lastModified")
    for name in ("parentId", "parentType"):
        if record.get(name) is not None:
            out[name] = _text(record[name], name)
    if out.get("trailingStopPips"):
        out["isTrailingStop"] = True
    else:
        out.pop("trailingStopPips", None)  # a column that is 0 or null: not a trailing stop
    if record.get("isGuaranteedStop"):  # a flag column: true, 1
        out["isGuaranteedStop"] = True
    if record.get("durationType") is not None:
        duration: dict[str, Any] = {"type": _text(record["durationType"], "durationType")}
        if record.get("durationDateTime") is not None:
            duration["datetime"] = _seconds(record["durationDateTime"], "durationDateTime")
        out["duration"] = duration
    if record.get("message"):
        kind = "error" if status == "rejected" else "information"
        out["message"] = {"text": str(record["message"]), "type": kind}
    return out


def position(record: Mapping[str, Any]) -> dict[str, Any]:
    """A spec Position. A signed ``qty`` without ``side`` gives the side (long +, short −)."""
    qty = _number(record.get("qty"), "qty")
    side = record.get("side")
    if side is None:
        side = "buy" if qty >= 0 else "sell"
    out: dict[str, Any] = {
        "id": _text(record.get("id"), "id"),
        "instrument": _text(record.get("instrument"), "instrument"),
        "qty": abs(qty),
        "side": _choice(side, "side", SIDES),
        "avgPrice": _number(record.get("avgPrice"), "avgPrice"),
    }
    if record.get("unrealizedPl") is not None:
        out["unrealizedPl"] = _number(record["unrealizedPl"], "unrealizedPl")
    return out


def individual_position(record: Mapping[str, Any]) -> dict[str, Any]:
    """A spec IndividualPosition: a position with its opening ``price`` and ``date``.

    ``price`` may be mapped as ``avgPrice``; ``date`` is Unix seconds or milliseconds (the spec
    wants milliseconds, as a string).
    """
    held = position({**record, "avgPrice": record.get("price", record.get("avgPrice"))})
    opened = _number(record.get("date"), "date")
    out: dict[str, Any] = {
        "id": held["id"],
        "instrument": held["instrument"],
        "date": str(int(opened if opened > 1e11 else opened * 1000)),
        "qty": held["qty"],
        "side": held["side"],
        "price": held["avgPrice"],
    }
    if "unrealizedPl" in held:
        out["unrealizedPl"] = held["unrealizedPl"]
    return out


def execution(record: Mapping[str, Any]) -> dict[str, Any]:
    """A spec Execution."""
    out: dict[str, Any] = {
        "id": _text(record.get("id"), "id"),
        "instrument": _text(record.get("instrument"), "instrument"),
        "price": _number(record.get("price"), "price"),
        "time": _seconds(record.get("time"), "time"),
        "qty": abs(_number(record.get("qty"), "qty")),
        "side": _choice(record.get("side"), "side", SIDES),
        "orderId": _text(record.get("orderId"), "orderId"),
        "isClose": bool(record.get("isClose", False)),
    }
    if record.get("positionId") is not None:
        out["positionId"] = _text(record["positionId"], "positionId")
    if record.get("commission") is not None:
        out["commission"] = _number(record["commission"], "commission")
    return out


def state(record: Mapping[str, Any]) -> dict[str, Any]:
    """A spec AccountState: balance and unrealized P&L (0 when not mapped), equity if given."""
    out: dict[str, Any] = {
        "balance": _number(record.get("balance"), "balance"),
        "unrealizedPl": _number(record.get("unrealizedPl", 0), "unrealizedPl"),
    }
    for name in ("equity", "marginAvailable"):
        if record.get(name) is not None:
            out[name] = _number(record[name], name)
    return out


def leverage_info(record: Mapping[str, Any]) -> dict[str, Any]:
    """A spec GetLeverageResponse: the leverage, and the range the user may choose from."""
    out: dict[str, Any] = {
        name: _number(record.get(name), name) for name in ("leverage", "min", "max", "step")
    }
    if not 0 < out["min"] <= out["max"] or out["step"] <= 0:
        raise RecordError(f"min {out['min']:g}, max {out['max']:g}, step {out['step']:g}")
    if record.get("title") is not None:
        out["title"] = str(record["title"])
    return out


def balance(record: Mapping[str, Any]) -> dict[str, Any]:
    """A spec CryptoBalance."""
    out: dict[str, Any] = {
        "symbol": _text(record.get("symbol"), "symbol"),
        "total": _number(record.get("total"), "total"),
        "available": _number(record.get("available"), "available"),
    }
    for name in ("reserved", "btcValue", "value"):
        if record.get(name) is not None:
            out[name] = _number(record[name], name)
    for name in ("longName", "valueCurrency"):
        if record.get(name) is not None:
            out[name] = str(record[name])
    return out


@dataclass
class MappedTrading:
    """The trading endpoints served from an account_data connector: reads and order commands."""

    name: str
    source: AccountData
    validator: Validator | None = None
    clock: Callable[[], float] = time.time
    poll_seconds: float = 1.0
    """How often the streams re-read the connector at the latest (change detection by polling)."""
    journal: Journal | None = None
    """Previews' confirmIds and latency transactions, kept in the gateway's own store."""
    changes: Changes = field(default_factory=Changes)
    """Wakes the streams of an account at once: on this process's own commands, and on the
    connector's notifications when it has them (PostgreSQL LISTEN). Closed when the gateway
    stops: streams end."""

    def _records(
        self,
        entity: str,
        account_id: str,
        params: Mapping[str, Any],
        shape: Callable[[Mapping[str, Any]], dict[str, Any]],
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i, record in enumerate(self.source.fetch(entity, account_id, params)):
            try:
                out.append(shape(record))
            except RecordError as exc:
                # The broker's mapping is wrong: say which record and why, in the log.
                log.error(
                    "connectors.%s: %s of account %s, record %d: %s",
                    self.name, entity, account_id, i, exc,
                )  # fmt: skip
                raise ApiError("unavailable") from None
        return out

    def orders(self, account_id: str, login: str, since: float) -> list[dict[str, Any]]:
        """``/orders``: working orders and the final ones since the session opened."""
        params = {"login": login, "since": since}
        return self._records("orders", account_id, params, order)

    def orders_history(
        self, account_id: str, login: str, before: float, max_count: int
    ) -> list[dict[str, Any]]:
        """``/ordersHistory``: final orders before today."""
        params = {"login": login, "before": before, "max_count": max_count}
        return self._records("ordersHistory", account_id, params, lambda r: order(r, history=True))

    def positions(self, account_id: str, login: str) -> list[dict[str, Any]]:
        """``/positions``: open positions (a zero quantity is no position)."""
        found = self._records("positions", account_id, {"login": login}, position)
        return [p for p in found if p["qty"] != 0]

    def individual_positions(self, account_id: str, login: str) -> list[dict[str, Any]]:
        """``/individualPositions`` of a netting account: its ``positions`` records, dated."""
        found = self._records("positions", account_id, {"login": login}, individual_position)
        return [p for p in found if p["qty"] != 0]

    def held(self, account: Account, login: str) -> list[Position]:
        """A netting account's individual positions as the core's Positions (to net them)."""
        return [
            _held(account, {**p, "avgPrice": p["price"]})
            for p in self.individual_positions(account.id, login)
        ]

    def executions(
        self, account_id: str, login: str, instrument: str, max_count: int
    ) -> list[dict[str, Any]]:
        """``/executions`` of one instrument."""
        params = {"login": login, "instrument": instrument, "max_count": max_count}
        return self._records("executions", account_id, params, execution)

    def state(self, account_id: str, login: str) -> dict[str, Any]:
        """``/state``: the first record of the state query."""
        found = self._records("state", account_id, {"login": login}, state)
        if not found:
            log.error("connectors.%s: state of account %s: no row", self.name, account_id)
            raise ApiError("unavailable")
        return found[0]

    def balances(self, account_id: str, login: str) -> list[dict[str, Any]]:
        """``/balances``."""
        return self._records("balances", account_id, {"login": login}, balance)

    def leverage(
        self, account_id: str, login: str, instrument: str, side: str, order_type: str
    ) -> dict[str, Any]:
        """``getLeverage``: the first record of the leverage query."""
        params = {"login": login, "instrument": instrument, "side": side, "order_type": order_type}
        found = self._records("leverage", account_id, params, leverage_info)
        if not found:
            log.error("connectors.%s: leverage of account %s: no row", self.name, account_id)
            raise ApiError("unavailable")
        return found[0]

    # Order commands ---------------------------------------------------------------------------

    def set_leverage(
        self,
        account: Account,
        login: str,
        choice: tuple[str, str, str],
        value: float,
    ) -> None:
        """``setLeverage`` of (instrument, side, order type), checked against its bounds."""
        instrument, side, order_type = choice
        params = {
            "login": login,
            "instrument": instrument,
            "side": side,
            "order_type": order_type,
            "leverage": value,
            "now_ms": int(self.clock() * 1000),
        }
        self.source.command("set_leverage", account.id, params)
        self.changes.touch(account.id)  # the margin, and so /state, may change

    def checker(self) -> Validator:
        """The validator orders are checked with (trading unavailable without one)."""
        if self.validator is None:
            raise ApiError("trading_unavailable")
        return self.validator

    def place(self, account: Account, login: str, form: Form, request_id: str | None) -> str:
        """``placeOrder``: validated like managed mode's, then handed to the connector."""
        spec = self.checker().new_order(account, form)
        params = {
            **bracket_params(spec.brackets),
            "login": login,
            "instrument": spec.instrument,
            "qty": spec.qty,
            "side": spec.side,
            "type": spec.type,
            "limit_price": spec.limit_price,
            "stop_price": spec.stop_price,
            "duration_type": spec.duration_type,
            "duration_date_time": spec.duration_datetime,
            "request_id": request_id,
            # A value of its own for each placement, for brokers who need a unique reference
            # when TradingView sends no requestId.
            "nonce": uuid.uuid4().hex,
            "now_ms": int(self.clock() * 1000),
        }
        new_id = self.source.command("place", account.id, params)
        self.changes.touch(account.id)
        if not new_id:
            raise ApiError("unavailable")
        return new_id

    def _working(self, account: Account, login: str, order_id: str) -> dict[str, Any]:
        for found in self.orders(account.id, login, 0.0):
            if found["id"] == order_id:
                if found["status"] in FINAL_STATUSES:
                    raise ApiError("order_final", order=order_id, state=found["status"])
                return found
        raise ApiError("unknown_order", order=order_id[:64])

    @property
    def prices(self) -> Prices:
        """The quotes orders are checked against."""
        return self.checker().prices

    def preview(self, account: Account, login: str, form: Form) -> OrderSpec:
        """``previewOrder``: the order validated as placing (or, with ``id``, modifying) it."""
        order_id = form.get("id")
        if order_id:
            return self._edited(account, self._working(account, login, order_id), form)
        return self.checker().new_order(account, form)

    def _edited(self, account: Account, current: Mapping[str, Any], form: Form) -> OrderSpec:
        # What may change in a working order; instrument, side and type stay.
        return self.checker().new_order(
            account,
            {
                "instrument": current["instrument"],
                "side": current["side"],
                "type": current["type"],
                **{k: v for k, v in form.items() if k not in ("instrument", "side", "type")},
            },
        )

    def modify(self, account: Account, login: str, order_id: str, form: Form) -> None:
        """``modifyOrder``: new quantity and prices of a working order."""
        current = self._working(account, login, order_id)
        spec = self._edited(account, current, form)
        params = {
            # The brackets as the form now has them: absent ones are to be removed.
            **bracket_params(spec.brackets if current.get("parentId") is None else ()),
            "login": login,
            "order_id": order_id,
            "instrument": spec.instrument,
            "qty": spec.qty,
            "side": spec.side,
            "type": spec.type,
            "limit_price": spec.limit_price,
            "stop_price": spec.stop_price,
            "duration_type": spec.duration_type,
            "duration_date_time": spec.duration_datetime,
            "now_ms": int(self.clock() * 1000),
        }
        self.source.command("modify", account.id, params)
        self.changes.touch(account.id)

    def cancel(self, account: Account, login: str, order_id: str) -> None:
        """``cancelOrder`` of a working order."""
        self._working(account, login, order_id)
        params = {"login": login, "order_id": order_id, "now_ms": int(self.clock() * 1000)}
        self.source.command("cancel", account.id, params)
        self.changes.touch(account.id)

    def close_position(
        self,
        account: Account,
        login: str,
        position_id: str,
        form: Form,
        *,
        individual: bool = False,
    ) -> None:
        """``closePosition`` (``closeIndividualPosition``): all, or ``amount`` of it if allowed."""
        found = self._position(account, login, position_id)
        amount = self.checker().close_amount(
            account, _held(account, found), form, individual=individual
        )
        if amount is None:
            amount = found["qty"]
        elif amount > found["qty"]:
            raise ApiError("close_amount", qty=f"{found['qty']:g}")
        params = {
            "login": login,
            "position_id": position_id,
            "amount": amount,
            "now_ms": int(self.clock() * 1000),
            "nonce": uuid.uuid4().hex,
        }
        self.source.command("close_position", account.id, params)
        self.changes.touch(account.id)

    def modify_position(
        self,
        account: Account,
        login: str,
        position_id: str,
        form: Form,
        *,
        individual: bool = False,
    ) -> None:
        """``modifyPosition``: brackets as the form has them, or a reversal.

        ``modifyIndividualPosition`` (``individual``) sets brackets only.
        """
        found = self._position(account, login, position_id)
        held = _held(account, found)
        brackets, side = self.checker().position_change(account, held, form, individual=individual)
        if side is not None:  # a native reversal: the other side, the same size
            params = {
                "login": login,
                "position_id": position_id,
                "qty": found["qty"],
                "side": side,
                "now_ms": int(self.clock() * 1000),
                "nonce": uuid.uuid4().hex,
            }
            self.source.command("reverse_position", account.id, params)
            self.changes.touch(account.id)
            return
        if brackets is None:
            return  # the account has no position brackets and the form asked for none
        params = {
            **bracket_params(brackets),
            "login": login,
            "position_id": position_id,
            "now_ms": int(self.clock() * 1000),
            "nonce": uuid.uuid4().hex,
        }
        self.source.command("modify_position", account.id, params)
        self.changes.touch(account.id)

    def close_net_position(self, account: Account, login: str, instrument: str) -> None:
        """``closeNetPosition``: each individual position of ``instrument``, closed whole.

        One ``close_position`` command (one transaction) per individual position.
        """
        lots = [p for p in self.positions(account.id, login) if p["instrument"] == instrument]
        if not lots:
            raise ApiError("unknown_position", position=instrument[:64])
        try:
            for lot in lots:
                params = {
                    "login": login,
                    "position_id": lot["id"],
                    "amount": lot["qty"],
                    "now_ms": int(self.clock() * 1000),
                    "nonce": uuid.uuid4().hex,
                }
                self.source.command("close_position", account.id, params)
        finally:  # a refusal half way: what was closed is closed, the streams must see it
            self.changes.touch(account.id)

    def _position(self, account: Account, login: str, position_id: str) -> dict[str, Any]:
        for found in self.positions(account.id, login):
            if found["id"] == position_id:
                return found
        raise ApiError("unknown_position", position=position_id[:64])


def _held(account: Account, found: Mapping[str, Any]) -> Position:
    """A mapped position record as the validator's Position (ids are the broker's, not ours)."""
    return Position(
        id=0,
        account_id=account.id,
        instrument=found["instrument"],
        side=found["side"],
        qty=found["qty"],
        avg_price=found["avgPrice"],
        opened_at=0.0,
        updated_at=0.0,
    )


def bracket_params(brackets: Sequence[BracketSpec]) -> dict[str, Any]:
    """The statements' bracket parameters: a price each, or null for none."""
    out: dict[str, Any] = {
        "take_profit": None,
        "stop_loss": None,
        "trailing_stop_pips": None,
        "guaranteed_stop": False,
    }
    for bracket in brackets:
        if bracket.kind == "take_profit":
            out["take_profit"] = bracket.price
        else:
            out["stop_loss"] = bracket.price
            out["trailing_stop_pips"] = bracket.trailing_pips
            out["guaranteed_stop"] = bracket.guaranteed
    return out


def mapped_trading(
    config: GatewayConfig,
    connectors: Mapping[str, Any],
    clock: Callable[[], float],
    market: MarketRuntime | None = None,
    database: Database | None = None,
) -> MappedTrading | None:
    """The mapped-mode reader named by ``trading.mapped``, if any.

    Orders are validated as in managed mode; their prices are checked against the market-data
    pipeline's quotes when there is one (the broker's quotes table, say), else against the
    quotes the order ticket sends.
    """
    name = config.trading.mapped
    if name is None:
        return None
    instruments = {i.name: i for i in config.instruments}
    currencies = {s.symbol: s.currency for s in config.symbols}
    prices = Prices(market, instruments, currencies)
    source = connectors[name]
    # The connector's own polling interval when it has one (the sql connector's poll_interval).
    interval = getattr(getattr(source, "options", None), "poll_interval", None)
    poll = interval.seconds if interval is not None else config.trading.stream_interval.seconds
    # A connector that learns of changes itself (the sql connector's LISTEN) shares its signal.
    changes = getattr(source, "changes", None)
    if not isinstance(changes, Changes):
        changes = Changes()
    journal = Journal(database, clock) if database is not None else None
    validator = Validator(config, prices, clock)
    return MappedTrading(name, source, validator, clock, poll, journal, changes)
