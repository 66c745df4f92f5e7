"""Orders, positions and executions as the trading core holds them (rows of the store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Side = Literal["buy", "sell"]
OrderType = Literal["market", "stop", "limit", "stoplimit"]
Status = Literal["placing", "inactive", "working", "filled", "cancelled", "rejected"]
BracketKind = Literal["take_profit", "stop_loss"]

FINAL: frozenset[str] = frozenset({"filled", "cancelled", "rejected"})
"""Statuses an order never leaves (the spec: status only moves transitional → final)."""

OPEN: tuple[str, ...] = ("placing", "inactive", "working")
"""Transitional statuses."""

EPSILON = 1e-9
"""Quantities closer than this are equal: they are sums of user-entered decimals."""


def tidy(qty: float) -> float:
    """A quantity computed from others, rounded to 10 decimals (below ``EPSILON``'s scale).

    Quantities are sums of user-entered decimals: 0.4 - 0.1 must be stored and shown as 0.3,
    not 0.30000000000000004.
    """
    return round(qty, 10)


def opposite(side: str) -> Side:
    """The other side."""
    return "sell" if side == "buy" else "buy"


def direction(side: str) -> int:
    """+1 for buy, -1 for sell."""
    return 1 if side == "buy" else -1


@dataclass
class Order:
    """An order (or bracket) of the store."""

    id: int
    account_id: str
    instrument: str
    side: str
    type: str
    qty: float
    status: str
    created_at: float
    updated_at: float
    filled_qty: float = 0.0
    avg_price: float | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    bracket: str | None = None
    trailing_pips: float | None = None
    guaranteed: bool = False
    parent_id: int | None = None
    parent_type: str | None = None
    position_id: int | None = None
    duration_type: str | None = None
    duration_datetime: int | None = None
    custom_fields: str | None = None
    message: str | None = None
    message_type: str | None = None
    request_id: str | None = None
    at_venue: bool = False
    native: bool = False
    """A bracket the venue works itself (see ``BracketVenue``)."""
    final_at: float | None = None

    @property
    def is_final(self) -> bool:
        """Whether the order reached filled, cancelled or rejected."""
        return self.status in FINAL

    @property
    def remaining(self) -> float:
        """Quantity still to fill."""
        return tidy(max(self.qty - self.filled_qty, 0.0))

    @property
    def price(self) -> float | None:
        """The order's own price: limit for limit orders, stop for stop and stop-limit."""
        if self.type == "limit":
            return self.limit_price
        if self.type in ("stop", "stoplimit"):
            return self.stop_price
        return None

    @classmethod
    def from_row(cls, row: Any) -> Order:
        """Build from a SQLAlchemy row of ``gw_orders``."""
        # /orders reads every order of the session: skip __init__'s per-field work (the row
        # has exactly the dataclass's fields, as the table and the class are kept in step).
        order = cls.__new__(cls)
        order.__dict__.update(row._mapping)
        return order


@dataclass
class Position:
    """A position (in netting mode: an individual position, i.e. one lot)."""

    id: int
    account_id: str
    instrument: str
    side: str
    qty: float
    avg_price: float
    opened_at: float
    updated_at: float
    realized_pl: float = 0.0
    closed_at: float | None = None

    @property
    def signed_qty(self) -> float:
        """Positive long, negative short."""
        return self.qty * direction(self.side)

    @classmethod
    def from_row(cls, row: Any) -> Position:
        """Build from a SQLAlchemy row of ``gw_positions``."""
        position = cls.__new__(cls)
        position.__dict__.update(row._mapping)
        return position


@dataclass
class Execution:
    """A fill."""

    id: int
    account_id: str
    order_id: int
    instrument: str
    side: str
    qty: float
    price: float
    time: float
    is_close: bool
    position_id: int | None = None
    commission: float | None = None
    realized_pl: float = 0.0

    @classmethod
    def from_row(cls, row: Any) -> Execution:
        """Build from a SQLAlchemy row of ``gw_executions``."""
        return cls(**dict(row._mapping))


@dataclass(frozen=True)
class BracketSpec:
    """A bracket as requested: take-profit price, stop-loss price or trailing distance."""

    kind: BracketKind
    price: float | None
    trailing_pips: float | None = None
    guaranteed: bool = False


@dataclass(frozen=True)
class OrderSpec:
    """A validated new order (what placeOrder and previewOrder carry)."""

    instrument: str
    side: Side
    type: OrderType
    qty: float
    limit_price: float | None = None
    stop_price: float | None = None
    duration_type: str | None = None
    duration_datetime: int | None = None
    brackets: tuple[BracketSpec, ...] = ()
    custom_fields: tuple[tuple[str, str], ...] = ()
    ask: float | None = None
    bid: float | None = None


@dataclass(frozen=True)
class OrderEdit:
    """A validated modifyOrder: new values, and the complete set of brackets wanted.

    ``brackets`` is None when the request says nothing about brackets (the account cannot edit
    them), so existing brackets stay as they are.
    """

    qty: float
    limit_price: float | None = None
    stop_price: float | None = None
    duration_type: str | None = None
    duration_datetime: int | None = None
    brackets: tuple[BracketSpec, ...] | None = None
    custom_fields: tuple[tuple[str, str], ...] = ()


@dataclass
class Effects:
    """What a committed change asks of the venue afterwards (never inside the transaction)."""

    place: list[int] = field(default_factory=list)
    cancel: list[int] = field(default_factory=list)
    modify_qty: list[int] = field(default_factory=list)
    modify_price: list[int] = field(default_factory=list)

    def merge(self, other: Effects) -> None:
        """Add another change's effects."""
        self.place += other.place
        self.cancel += other.cancel
        self.modify_qty += other.modify_qty
        self.modify_price += other.modify_price
