"""The trading store: one transaction per change of an account, serialized per account.

Every write transaction starts by bumping the account's ``version``. That UPDATE takes the
account row's lock on PostgreSQL and MariaDB and the database write lock on SQLite, so two
changes of one account (a modify racing a fill, a retried placement) never interleave: each
reads what the previous one committed. The counter also tells streams in other processes that
something changed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.store.database import Database
from gateway.store.tables import executions, orders, positions, trading_accounts
from gateway.trading.model import OPEN, Execution, Order, Position


class Tx:
    """Reads and writes of one account inside one transaction."""

    def __init__(self, conn: Connection, account_id: str, now: float) -> None:
        self.conn = conn
        self.account_id = account_id
        self.now = now

    # -- orders --------------------------------------------------------------------------

    def order(self, order_id: int) -> Order | None:
        """An order of this account."""
        row = self.conn.execute(
            sa.select(orders).where(orders.c.id == order_id, orders.c.account_id == self.account_id)
        ).first()
        return Order.from_row(row) if row else None

    def order_by_request(self, request_id: str) -> Order | None:
        """The order placed earlier with this requestId."""
        row = self.conn.execute(
            sa.select(orders).where(
                orders.c.account_id == self.account_id, orders.c.request_id == request_id
            )
        ).first()
        return Order.from_row(row) if row else None

    def open_orders(self, instrument: str | None = None) -> list[Order]:
        """Transitional orders, oldest first."""
        query = sa.select(orders).where(
            orders.c.account_id == self.account_id, orders.c.status.in_(OPEN)
        )
        if instrument is not None:
            query = query.where(orders.c.instrument == instrument)
        return _orders(self.conn, query.order_by(orders.c.id))

    def brackets_of(self, parent_id: int) -> list[Order]:
        """Open brackets of a parent order."""
        query = sa.select(orders).where(
            orders.c.account_id == self.account_id,
            orders.c.parent_id == parent_id,
            orders.c.bracket.is_not(None),
            orders.c.status.in_(OPEN),
        )
        return _orders(self.conn, query.order_by(orders.c.id))

    def position_brackets(self, position_id: int) -> list[Order]:
        """Open brackets protecting a position."""
        query = sa.select(orders).where(
            orders.c.account_id == self.account_id,
            orders.c.position_id == position_id,
            orders.c.bracket.is_not(None),
            orders.c.status.in_(OPEN),
        )
        return _orders(self.conn, query.order_by(orders.c.id))

    def insert_order(self, **values: Any) -> Order:
        """Store a new order; returns it with its id."""
        values.setdefault("created_at", self.now)
        values.setdefault("updated_at", self.now)
        values.setdefault("filled_qty", 0.0)
        values.setdefault("guaranteed", False)
        values.setdefault("at_venue", False)
        values.setdefault("native", False)
        values["account_id"] = self.account_id
        result = self.conn.execute(sa.insert(orders).values(**values))
        order_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return Order(id=order_id, **values)

    def update_order(self, order: Order, **values: Any) -> None:
        """Change an order (and the in-memory copy), stamping lastModified."""
        values["updated_at"] = self.now
        if values.get("status") in ("filled", "cancelled", "rejected"):
            values["final_at"] = self.now
        self.conn.execute(sa.update(orders).where(orders.c.id == order.id).values(**values))
        for key, value in values.items():
            setattr(order, key, value)

    # -- positions -----------------------------------------------------------------------

    def position(self, position_id: int) -> Position | None:
        """A position of this account (open or closed)."""
        row = self.conn.execute(
            sa.select(positions).where(
                positions.c.id == position_id, positions.c.account_id == self.account_id
            )
        ).first()
        return Position.from_row(row) if row else None

    def open_positions(self, instrument: str | None = None) -> list[Position]:
        """Open positions, oldest first."""
        query = sa.select(positions).where(
            positions.c.account_id == self.account_id, positions.c.closed_at.is_(None)
        )
        if instrument is not None:
            query = query.where(positions.c.instrument == instrument)
        return [Position.from_row(r) for r in self.conn.execute(query.order_by(positions.c.id))]

    def insert_position(self, instrument: str, side: str, qty: float, price: float) -> Position:
        """Open a position."""
        result = self.conn.execute(
            sa.insert(positions).values(
                account_id=self.account_id,
                instrument=instrument,
                side=side,
                qty=qty,
                avg_price=price,
                realized_pl=0.0,
                opened_at=self.now,
                updated_at=self.now,
            )
        )
        position_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        found = self.position(position_id)
        assert found is not None
        return found

    def update_position(self, position: Position, **values: Any) -> None:
        """Change a position (and the in-memory copy)."""
        values["updated_at"] = self.now
        self.conn.execute(
            sa.update(positions).where(positions.c.id == position.id).values(**values)
        )
        for key, value in values.items():
            setattr(position, key, value)

    # -- executions and balance ------------------------------------------------------------

    def insert_execution(self, **values: Any) -> None:
        """Record a fill."""
        values["account_id"] = self.account_id
        self.conn.execute(sa.insert(executions).values(**values))

    def add_to_balance(self, amount: float, realized: float) -> None:
        """Book realized P&L and commissions (both already in the account currency)."""
        self.conn.execute(
            sa.update(trading_accounts)
            .where(trading_accounts.c.id == self.account_id)
            .values(
                balance=trading_accounts.c.balance + amount,
                realized_pl=trading_accounts.c.realized_pl + realized,
            )
        )


class Ledger:
    """Opens account transactions on the store."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], float],
        initial_balances: Mapping[str, float],
    ) -> None:
        self.database = database
        self.clock = clock
        self._initial = dict(initial_balances)
        self._known: set[str] = set()
        self._locks: dict[str, threading.RLock] = {}
        self._locks_lock = threading.Lock()

    def _lock(self, account_id: str) -> threading.RLock:
        with self._locks_lock:
            lock = self._locks.get(account_id)
            if lock is None:
                lock = self._locks[account_id] = threading.RLock()
            return lock

    def ensure_accounts(self) -> None:
        """Create the rows of configured accounts that have none yet (with their balance)."""
        engine = self.database.engine
        with engine.connect() as conn:
            present = {r[0] for r in conn.execute(sa.select(trading_accounts.c.id))}
        for account_id, balance in self._initial.items():
            if account_id in present:
                continue
            try:
                with engine.begin() as conn:
                    conn.execute(
                        sa.insert(trading_accounts).values(
                            id=account_id,
                            balance=balance,
                            realized_pl=0.0,
                            version=0,
                            updated_at=self.clock(),
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # another worker created it first: same initial balance
        self._known = set(self._initial)

    @contextmanager
    def account(self, account_id: str) -> Iterator[Tx]:
        """A write transaction holding the account's lock; commits on success."""
        if account_id not in self._known:
            self.ensure_accounts()
        # Threads of this process queue here rather than in the database: SQLite makes a
        # waiting writer sleep and retry, which turns a short queue into long tail latencies.
        # The row lock below still serializes writers of other processes.
        with self._lock(account_id), self.database.engine.begin() as conn:
            conn.execute(
                sa.update(trading_accounts)
                .where(trading_accounts.c.id == account_id)
                .values(version=trading_accounts.c.version + 1, updated_at=self.clock())
            )
            yield Tx(conn, account_id, self.clock())

    @contextmanager
    def read(self, account_id: str) -> Iterator[Tx]:
        """A read-only view (no lock): one consistent snapshot where the database gives one."""
        with self.database.engine.connect() as conn:
            yield Tx(conn, account_id, self.clock())

    def version(self, account_id: str) -> int:
        """The account's change counter (0 before its first change)."""
        with self.database.engine.connect() as conn:
            value = conn.execute(
                sa.select(trading_accounts.c.version).where(trading_accounts.c.id == account_id)
            ).scalar()
        return int(value or 0)

    def balance(self, conn: Connection, account_id: str) -> tuple[float, float]:
        """(balance, realized P&L) of an account."""
        row = conn.execute(
            sa.select(trading_accounts.c.balance, trading_accounts.c.realized_pl).where(
                trading_accounts.c.id == account_id
            )
        ).first()
        if row is None:
            return self._initial.get(account_id, 0.0), 0.0
        return float(row[0]), float(row[1])

    def order_account(self, order_id: int) -> str | None:
        """The account an order belongs to (for reports, which name only the order)."""
        with self.database.engine.connect() as conn:
            value = conn.execute(
                sa.select(orders.c.account_id).where(orders.c.id == order_id)
            ).scalar()
        return str(value) if value is not None else None

    def orders_for(self, conn: Connection, account_id: str, since: float) -> list[Order]:
        """Open orders, and final ones that became final at or after ``since``."""
        query = (
            sa.select(orders)
            .where(
                orders.c.account_id == account_id,
                sa.or_(orders.c.status.in_(OPEN), orders.c.final_at >= since),
            )
            .order_by(orders.c.id)
        )
        return _orders(conn, query)

    def history(self, conn: Connection, account_id: str, before: float, limit: int) -> list[Order]:
        """Final orders that became final before ``before``, newest first."""
        query = (
            sa.select(orders)
            .where(orders.c.account_id == account_id, orders.c.final_at < before)
            .order_by(orders.c.final_at.desc(), orders.c.id.desc())
            .limit(limit)
        )
        return _orders(conn, query)

    def executions(
        self, conn: Connection, account_id: str, instrument: str, limit: int
    ) -> list[Execution]:
        """Fills of one instrument, newest first."""
        query = (
            sa.select(executions)
            .where(executions.c.account_id == account_id, executions.c.instrument == instrument)
            .order_by(executions.c.time.desc(), executions.c.id.desc())
            .limit(limit)
        )
        return [Execution.from_row(r) for r in conn.execute(query)]

    def working_everywhere(self) -> list[Order]:
        """Every order the venue should be working (after a restart).

        With the inactive brackets a venue holds for their parent (native brackets).
        """
        with self.database.engine.connect() as conn:
            query = sa.select(orders).where(
                orders.c.status.in_(("placing", "working"))
                | ((orders.c.status == "inactive") & orders.c.at_venue.is_(True))
            )
            return _orders(conn, query.order_by(orders.c.id))


def dump_fields(fields: Sequence[tuple[str, str]]) -> str | None:
    """Custom fields as stored (JSON), None when there are none."""
    return json.dumps(dict(fields), ensure_ascii=False) if fields else None


def load_fields(text: str | None) -> dict[str, str]:
    """Custom fields from the store."""
    if not text:
        return {}
    value = json.loads(text)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _orders(conn: Connection, query: sa.Select[Any]) -> list[Order]:
    """Orders of a query, built without ``__init__``'s per-field work.

    /orders reads every order of the session; the columns are exactly the dataclass's fields.
    """
    result = conn.execute(query)
    keys = list(result.keys())
    out = []
    for row in result:
        order = Order.__new__(Order)
        order.__dict__ = dict(zip(keys, row, strict=True))
        out.append(order)
    return out
