"""In-memory fakes of each connector role, shipped for connector authors' own tests.

They satisfy the same contract the registry checks, so a test can register them, build a
gateway from YAML that names them, and drive ticks, fills and logins by hand. They are not
meant for production: nothing is persisted and nothing runs in the background.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from gateway.plugins.records import (
    Bar,
    ExecutionReport,
    OrderChange,
    OrderRequest,
    Principal,
    Rejected,
    Tick,
)
from gateway.plugins.roles import ConnectorContext, ExecutionSink, Role, TickSink


@dataclass(frozen=True)
class NoOptions:
    """Fakes take no YAML options."""


class _Lifecycle:
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any = None, context: ConnectorContext | None = None) -> None:
        self.options = options
        self.context = context
        self.started = False

    def start(self) -> None:
        """Mark started."""
        self.started = True

    def stop(self) -> None:
        """Mark stopped."""
        self.started = False


class FakeMarketData(_Lifecycle):
    """Ticks are pushed by the test with :meth:`emit`; back-fill bars are set up front."""

    kind: ClassVar[str] = "fake_market_data"
    roles: ClassVar[frozenset[Role]] = frozenset({Role.MARKET_DATA})

    def __init__(self, options: Any = None, context: ConnectorContext | None = None) -> None:
        super().__init__(options, context)
        self.sinks: list[TickSink] = []
        self.bars: list[Bar] = []

    def subscribe(self, sink: TickSink) -> None:
        """Remember the sink."""
        self.sinks.append(sink)

    def emit(self, tick: Tick) -> None:
        """Publish a tick to every subscriber."""
        for sink in self.sinks:
            sink.publish(tick)

    def backfill(self, symbol: str, start: int, end: int) -> Iterable[Bar]:
        """The preset bars of ``symbol`` within ``[start, end)``."""
        return [b for b in self.bars if b.symbol == symbol and start <= b.time < end]


class FakeExecution(_Lifecycle):
    """Records orders; the test decides fills and rejections."""

    kind: ClassVar[str] = "fake_execution"
    roles: ClassVar[frozenset[Role]] = frozenset({Role.EXECUTION})

    def __init__(self, options: Any = None, context: ConnectorContext | None = None) -> None:
        super().__init__(options, context)
        self.sinks: list[ExecutionSink] = []
        self.orders: dict[str, OrderRequest] = {}
        self.changes: list[tuple[str, OrderChange]] = []
        self.cancelled: list[str] = []
        self.reject_next: str | None = None
        self.recovered: list[OrderRequest] = []
        self._ids = itertools.count(1)

    def subscribe(self, sink: ExecutionSink) -> None:
        """Remember the sink."""
        self.sinks.append(sink)

    def _maybe_reject(self) -> None:
        if self.reject_next is not None:
            message, self.reject_next = self.reject_next, None
            raise Rejected(message)

    def place(self, order: OrderRequest) -> str:
        """Store the order and return a venue id."""
        self._maybe_reject()
        self.orders[order.client_order_id] = order
        return f"V{next(self._ids)}"

    def modify(self, client_order_id: str, change: OrderChange) -> None:
        """Record the change."""
        self._maybe_reject()
        if client_order_id not in self.orders:
            raise Rejected(f"unknown order {client_order_id}")
        self.changes.append((client_order_id, change))

    def cancel(self, client_order_id: str) -> None:
        """Record the cancel and report it."""
        self._maybe_reject()
        if client_order_id not in self.orders:
            raise Rejected(f"unknown order {client_order_id}")
        self.cancelled.append(client_order_id)
        self.send(ExecutionReport(client_order_id, "cancelled", time=0.0))

    def recover(self, orders: Sequence[OrderRequest]) -> None:
        """Take the orders back as if they had been placed."""
        self.recovered = list(orders)
        for order in orders:
            self.orders[order.client_order_id] = order

    def send(self, report: ExecutionReport) -> None:
        """Deliver a report, as a venue would."""
        for sink in self.sinks:
            sink.report(report)


class FakeAccountData(_Lifecycle):
    """Spec-shaped records held in dictionaries."""

    kind: ClassVar[str] = "fake_account_data"
    roles: ClassVar[frozenset[Role]] = frozenset({Role.ACCOUNT_DATA})

    def __init__(self, options: Any = None, context: ConnectorContext | None = None) -> None:
        super().__init__(options, context)
        self.account_records: dict[str, list[Mapping[str, Any]]] = {}
        self.records: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        self.commands: list[tuple[str, str, dict[str, Any]]] = []

    def accounts(self, principal: Principal) -> Sequence[Mapping[str, Any]]:
        """The records set for the principal's login."""
        return list(self.account_records.get(principal.login, []))

    def fetch(
        self, entity: str, account_id: str, params: Mapping[str, Any]
    ) -> Sequence[Mapping[str, Any]]:
        """The records set for ``(entity, account_id)``."""
        return list(self.records.get((entity, account_id), []))

    def command(self, action: str, account_id: str, params: Mapping[str, Any]) -> str | None:
        """Record the command; ``place`` answers a new id (1, 2, …)."""
        self.commands.append((action, account_id, dict(params)))
        return str(len(self.commands)) if action == "place" else None


class FakeIdentity(_Lifecycle):
    """Users with clear-text passwords: for tests only."""

    kind: ClassVar[str] = "fake_identity"
    roles: ClassVar[frozenset[Role]] = frozenset({Role.IDENTITY})

    def __init__(self, options: Any = None, context: ConnectorContext | None = None) -> None:
        super().__init__(options, context)
        self.users: dict[str, tuple[str, Principal]] = {}

    def add(
        self, login: str, password: str, accounts: Sequence[str] = (), groups: Sequence[str] = ()
    ) -> None:
        """Add a user."""
        self.users[login] = (password, Principal(login, tuple(accounts), tuple(groups)))

    def authenticate(self, login: str, password: str) -> Principal | None:
        """The principal if the password matches."""
        entry = self.users.get(login)
        return entry[1] if entry and entry[0] == password else None

    def lookup(self, login: str) -> Principal | None:
        """The principal of ``login``."""
        entry = self.users.get(login)
        return entry[1] if entry else None


FAKES: tuple[type, ...] = (FakeMarketData, FakeExecution, FakeAccountData, FakeIdentity)
"""All fakes, e.g. ``for f in FAKES: registry.register(f)``."""
