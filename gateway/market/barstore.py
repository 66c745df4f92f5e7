"""One-minute bars in the SQL store: the single source of /history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from gateway.cooperative import pause
from gateway.plugins.records import Bar
from gateway.store.database import Database
from gateway.store.tables import bars

_COLUMNS = (bars.c.time, bars.c.open, bars.c.high, bars.c.low, bars.c.close, bars.c.volume)
_VALUES = ("open", "high", "low", "close", "volume")


def _row(bar: Bar) -> dict[str, Any]:
    return {
        "symbol": bar.symbol, "time": bar.time, "open": bar.open, "high": bar.high,
        "low": bar.low, "close": bar.close, "volume": bar.volume,
    }  # fmt: skip


class BarStore:
    """Reads and writes ``gw_bars``; writes are idempotent upserts."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _insert(self, dialect: str, rows: list[dict[str, Any]], replace: bool) -> Any:
        # Each dialect spells "insert or update" differently; SQLAlchemy has one per dialect.
        if dialect == "mysql" or dialect == "mariadb":
            stmt = mysql.insert(bars).values(rows)
            if replace:
                return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in _VALUES})
            return stmt.prefix_with("IGNORE")
        module = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(bars).values(rows)
        if replace:
            return stmt.on_conflict_do_update(
                index_elements=["symbol", "time"],
                set_={c: stmt.excluded[c] for c in _VALUES},
            )
        return stmt.on_conflict_do_nothing(index_elements=["symbol", "time"])

    def write(self, items: Iterable[Bar], *, replace: bool = True) -> None:
        """Store bars, replacing stored ones of the same minute.

        ``replace=False`` keeps bars already stored: back-fill never overwrites what was streamed.
        """
        rows = [_row(b) for b in items]
        if not rows:
            return
        engine = self._db.engine
        for start in range(0, len(rows), 500):
            if start:
                # Between transactions, never inside one: a greenlet that yields holding
                # SQLite's write lock stalls every other writer of its gevent worker in
                # SQLite's busy wait (orders failed with "database is locked"). Each batch is
                # whole; a back-fill cut between batches is written again without harm.
                pause()
            with engine.begin() as conn:
                conn.execute(self._insert(engine.dialect.name, rows[start : start + 500], replace))

    def range(self, symbol: str, start: int, end: int) -> list[Bar]:
        """Bars with ``start <= time <= end``, ascending."""
        return [Bar(symbol, int(r[0]), *r[1:]) for r in self.range_rows(symbol, start, end)]

    def last(self, symbol: str, end: int, count: int) -> list[Bar]:
        """The ``count`` latest bars with ``time <= end``, ascending."""
        return [Bar(symbol, int(r[0]), *r[1:]) for r in self.last_rows(symbol, end, count)]

    def range_rows(self, symbol: str, start: int, end: int) -> Sequence[Any]:
        """Rows ``(time, open, high, low, close, volume)`` with ``start <= time <= end``.

        Ascending; the /history hot path, without an object per bar.
        """
        query = (
            sa.select(*_COLUMNS)
            .where(bars.c.symbol == symbol, bars.c.time >= start, bars.c.time <= end)
            .order_by(bars.c.time)
        )
        with self._db.engine.connect() as conn:
            return conn.execute(query).all()

    def last_rows(self, symbol: str, end: int, count: int) -> Sequence[Any]:
        """The ``count`` latest rows with ``time <= end``, ascending."""
        query = (
            sa.select(*_COLUMNS)
            .where(bars.c.symbol == symbol, bars.c.time <= end)
            .order_by(bars.c.time.desc())
            .limit(count)
        )
        with self._db.engine.connect() as conn:
            return list(reversed(conn.execute(query).all()))

    def latest_before(self, symbol: str, time: int) -> int | None:
        """The time of the newest bar strictly before ``time``."""
        query = sa.select(sa.func.max(bars.c.time)).where(
            bars.c.symbol == symbol, bars.c.time < time
        )
        with self._db.engine.connect() as conn:
            value = conn.execute(query).scalar()
        return None if value is None else int(value)
