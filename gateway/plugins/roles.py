"""The four connector roles as narrow ``typing.Protocol`` interfaces.

A connector declares the roles it fills; the registry checks, when the connector is loaded, that
its class has every method of those roles, so a mistake fails at startup and names the
connector author's class, never in the middle of a request.

Designed with the planned connectors in view: ``csv_replay`` (market data), ``paper`` (execution,
fed by a market-data connector), ``sql`` (identity, account data, market data, execution through
declared statements) and ``fix`` (execution and market data over a FIX session).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from gateway.plugins.records import (
    Bar,
    ExecutionReport,
    OrderChange,
    OrderRequest,
    Principal,
    Quote,
    Tick,
)
from gateway.store.database import Database


class Role(StrEnum):
    """What a connector can be bound to in the YAML."""

    MARKET_DATA = "market_data"
    EXECUTION = "execution"
    ACCOUNT_DATA = "account_data"
    IDENTITY = "identity"


class MarketView(Protocol):
    """Prices, sessions and time of tradable instruments, as an execution venue needs them.

    Instruments are the broker's instrument names (``OrderRequest.instrument``); the gateway
    maps them to its market-data symbols. Quotes arrive after the market-data gate, so only in
    session and only for known symbols.
    """

    def on_quote(self, handler: Callable[[str, Quote], None]) -> None:
        """Call ``handler(instrument, quote)`` for every new quote (must return quickly)."""

    def quote(self, instrument: str) -> Quote | None:
        """The latest quote of an instrument, if any."""

    def is_open(self, instrument: str, ts: float) -> bool:
        """Whether the instrument's regular session is open at ``ts``."""

    def session_close(self, instrument: str, ts: float) -> float | None:
        """End of the session that is open at ``ts`` (or of the next one); None if unknown."""

    def min_tick(self, instrument: str) -> float:
        """The instrument's minimum price increment."""

    def now(self) -> float:
        """The gateway's clock (Unix seconds); tests inject their own."""


@dataclass(frozen=True)
class ConnectorContext:
    """What the gateway gives a connector when it builds it."""

    name: str
    base_dir: Path
    connectors: Mapping[str, Any]
    market: MarketView | None = field(default=None, compare=False)
    """Quotes and sessions of the instruments, for venues that price orders themselves."""
    store: Database | None = field(default=None, compare=False)
    """The gateway's own store, for connectors whose state must outlive a process (a FIX
    session's sequence numbers: :class:`gateway.store.session_log.SessionLog`)."""


@runtime_checkable
class Connector(Protocol):
    """What every connector class has, whatever its roles.

    The constructor ``(options, context)`` must be cheap and open nothing: connectors are built
    before gunicorn forks its workers; connections and threads start in :meth:`start`.
    """

    kind: ClassVar[str]
    roles: ClassVar[frozenset[Role]]
    Options: ClassVar[type]

    def start(self) -> None:
        """Open connections, start threads (called in each worker after fork)."""

    def stop(self) -> None:
        """Release everything; called on shutdown."""


class TickSink(Protocol):
    """Where a market-data connector publishes (the core's tick bus)."""

    def publish(self, tick: Tick) -> None:
        """Take one tick; must not block for long."""


@runtime_checkable
class MarketData(Protocol):
    """A source of trades, quotes and depth, and of recorded history."""

    def subscribe(self, sink: TickSink) -> None:
        """Send every tick from now on to ``sink`` (once started)."""

    def backfill(self, symbol: str, start: int, end: int) -> Iterable[Bar]:
        """Recorded 1-minute bars with ``start <= time < end`` (may be empty)."""


class ExecutionSink(Protocol):
    """Where an execution connector reports what happened to orders."""

    def report(self, report: ExecutionReport) -> None:
        """Take one execution report."""


@runtime_checkable
class Execution(Protocol):
    """A venue that works orders: the paper simulator, a FIX upstream, declared SQL.

    The core owns the order lifecycle (brackets, OCO, positions); a venue only works the single
    orders it is handed and reports what happens to them. ``place``, ``modify`` and ``cancel``
    may report synchronously, on the caller's thread and before returning (a market order
    filled at once); a venue must therefore never call the sink while holding a lock those
    methods take.
    """

    def subscribe(self, sink: ExecutionSink) -> None:
        """Send every execution report from now on to ``sink``."""

    def place(self, order: OrderRequest) -> str:
        """Accept an order and return the venue's id; raise ``Rejected`` to refuse it."""

    def modify(self, client_order_id: str, change: OrderChange) -> None:
        """Change a working order; raise ``Rejected`` to refuse."""

    def cancel(self, client_order_id: str) -> None:
        """Cancel a working order (reported as ``cancelled``); raise ``Rejected`` to refuse."""

    def recover(self, orders: Sequence[OrderRequest]) -> None:
        """After a restart: the orders the gateway holds as working at this venue.

        A venue that keeps its own book (an upstream) reconciles and reports differences; a
        venue without memory (the paper simulator) works them again.
        """


@runtime_checkable
class BracketVenue(Protocol):
    """An execution venue that can work brackets itself (optional, beside ``Execution``).

    When ``works_brackets()`` is true, an order placed with its take-profit and stop-loss goes
    to the venue in one call, and the venue does what the core does for other venues: it
    activates the legs when the parent fills, cancels one leg when the other fills (resizing
    it on a partial fill) and drops the legs when an unfilled parent is cancelled. It reports
    each leg under the leg's own ``client_order_id``. The core then only follows those reports;
    it still cancels or resizes legs for reasons the venue cannot know (the position they
    protect was closed or reduced by another order, the user changed the brackets).
    """

    def works_brackets(self) -> bool:
        """Whether brackets are to be sent with their parent (the connector's configuration)."""

    def place_bracket(self, parent: OrderRequest, legs: Sequence[OrderRequest]) -> str:
        """Place ``parent`` with its inactive ``legs``; the venue's id of the parent.

        Raise ``Rejected`` to refuse the whole group (nothing of it is then working).
        """


@runtime_checkable
class HealthReporting(Protocol):
    """A connector that can tell whether it works (optional, any role): shown by ``/readyz``."""

    def health(self) -> tuple[bool, str]:
        """Whether this connector can serve now, and a short reason (never a secret)."""


@runtime_checkable
class AccountData(Protocol):
    """Account state owned by the broker's systems (mapped mode).

    ``entity`` names a spec collection (``state``, ``orders``, ``ordersHistory``, ``positions``,
    ``executions``, ``balances``...); records come back in the spec's field names, and the core
    validates and renders them.
    """

    def accounts(self, principal: Principal) -> Sequence[Mapping[str, Any]]:
        """The accounts this user may trade in."""

    def fetch(
        self, entity: str, account_id: str, params: Mapping[str, Any]
    ) -> Sequence[Mapping[str, Any]]:
        """The records of one collection of one account."""

    def command(self, action: str, account_id: str, params: Mapping[str, Any]) -> str | None:
        """Carry out an order command in the broker's systems, validated by the core.

        ``action`` is ``place``, ``modify``, ``cancel`` or ``close_position``; ``params`` hold
        the order's values (``instrument``, ``qty``, ``side``, ``type``, ``limit_price``,
        ``stop_price``, ``order_id``, ``position_id``, ``amount``…). Returns the new order's id
        for ``place``. Raise :class:`gateway.errors.ApiError` to refuse (``not_supported`` for
        a command the connector does not offer, ``rejected`` with the broker's reason).
        """


@runtime_checkable
class Identity(Protocol):
    """Who may log in and which accounts and data groups they see."""

    def authenticate(self, login: str, password: str) -> Principal | None:
        """The principal for valid credentials, else None (never raise for bad ones)."""

    def lookup(self, login: str) -> Principal | None:
        """The principal of a login that holds a token (None once the user is gone)."""


ROLE_PROTOCOLS: dict[Role, type] = {
    Role.MARKET_DATA: MarketData,
    Role.EXECUTION: Execution,
    Role.ACCOUNT_DATA: AccountData,
    Role.IDENTITY: Identity,
}


def role_methods(role: Role) -> list[str]:
    """The method names a class must have to fill ``role``."""
    proto = ROLE_PROTOCOLS[role]
    return sorted(
        name for name, value in vars(proto).items() if callable(value) and not name.startswith("_")
    )
