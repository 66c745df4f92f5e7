"""The values that cross the connector seam: ticks, bars, principals, orders, reports.

They are plain frozen dataclasses in the core's own terms (not TradingView's wire format and not
any upstream's), so a connector never needs to know how the API renders them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Side = Literal["buy", "sell"]
OrderType = Literal["market", "stop", "limit", "stoplimit"]


@dataclass(frozen=True)
class Trade:
    """A trade print: time in Unix seconds (float for sub-second order)."""

    symbol: str
    time: float
    price: float
    size: float


@dataclass(frozen=True)
class Quote:
    """Best bid and ask."""

    symbol: str
    time: float
    bid: float
    bid_size: float
    ask: float
    ask_size: float


@dataclass(frozen=True)
class Depth:
    """An order-book snapshot: (price, volume) levels, each side ascending by price."""

    symbol: str
    time: float
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]


Tick = Trade | Quote | Depth


@dataclass(frozen=True)
class Bar:
    """A bar; ``time`` is the Unix second of its open."""

    symbol: str
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class Listing:
    """Configuration records a connector read from the broker's systems (symbols, instruments).

    ``records`` are (row number from 1, record keyed like the YAML's entries); ``where``
    names their source for messages (``file:line:col: connectors.x.market_data.symbols``);
    ``problems`` are the rows the connector could not turn into records, each with its reason.
    """

    records: tuple[tuple[int, Mapping[str, Any]], ...]
    where: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountListing:
    """What an identity connector knows of one account besides its id.

    Accounts without an entry in the YAML's ``accounts`` are served from the profile this
    names (``account_profiles``), with the listing's name, currency and type.
    """

    id: str
    name: str | None = None
    currency: str | None = None
    type: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who a token speaks for, and what they may see."""

    login: str
    accounts: tuple[str, ...]
    groups: tuple[str, ...] = ()
    listings: tuple[AccountListing, ...] = ()
    """Details of some of ``accounts`` (identity connectors that read a broker's tables)."""

    def listing(self, account_id: str) -> AccountListing | None:
        """The listing of one of the accounts, if the identity gave one."""
        for found in self.listings:
            if found.id == account_id:
                return found
        return None


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class OrderRequest:
    """A new order as the core hands it to an execution connector."""

    client_order_id: str
    account_id: str
    instrument: str
    side: Side
    type: OrderType
    qty: float
    limit_price: float | None = None
    stop_price: float | None = None
    duration_type: str | None = None
    duration_datetime: int | None = None
    custom_fields: Mapping[str, str] = field(default_factory=_empty)
    guaranteed: bool = False
    """A guaranteed stop: once triggered it fills at exactly ``stop_price``."""
    filled_qty: float = 0.0
    """Already filled before (non-zero only when orders are handed back by ``recover``): the
    venue counts its cumulative ``filled_qty`` on from here."""


@dataclass(frozen=True)
class OrderChange:
    """A modification of a working order; None leaves a value unchanged."""

    qty: float | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    duration_type: str | None = None
    duration_datetime: int | None = None
    custom_fields: Mapping[str, str] = field(default_factory=_empty)


ReportStatus = Literal["working", "partially_filled", "filled", "cancelled", "rejected"]


@dataclass(frozen=True)
class ExecutionReport:
    """What a venue says happened to an order; fills carry last quantity and price.

    ``filled_qty`` is cumulative for the order: the core applies only the part beyond what it
    has already recorded, so a report delivered twice (a resend, a replay after a restart)
    never fills twice.
    """

    client_order_id: str
    status: ReportStatus
    time: float
    filled_qty: float = 0.0
    avg_price: float | None = None
    last_qty: float | None = None
    last_price: float | None = None
    text: str | None = None
    venue_order_id: str | None = None
    commission: float | None = None
    """Commission of this fill, in the instrument's quote currency."""


class Rejected(Exception):  # noqa: N818 - reads as the venue's verdict
    """Raised by a connector that refuses a request; the message is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def dump_record(record: OrderRequest | OrderChange) -> dict[str, Any]:
    """An order request or change as JSON-ready values (relayed between processes, or kept)."""
    values = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    values["custom_fields"] = dict(record.custom_fields)  # a read-only mapping in the record
    return values


def load_order(values: dict[str, Any]) -> OrderRequest:
    """The order request :func:`dump_record` wrote (TypeError for other keys)."""
    return OrderRequest(**values)


def load_change(values: dict[str, Any]) -> OrderChange:
    """The order change :func:`dump_record` wrote (TypeError for other keys)."""
    return OrderChange(**values)
