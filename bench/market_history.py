"""/history from a store of millions of one-minute bars, against the raw SQL it runs.

The store is generated inside the database (a recursive CTE on SQLite, ``generate_series`` on
PostgreSQL: no rows cross the client) into the gateway's own ``gw_bars`` table: ``symbols``
symbols ``B0``, ``B1``, … each with one bar per minute from 2023-01-02 00:00 UTC. It is built
once and reused: SQLite in a file under the temporary directory named after its size,
PostgreSQL in a database of its own (``gateway_bench`` by default) marked by a small table.

Three ways of reading the same one-day windows (1440 bars) are timed, interleaved in rounds:
the raw ``SELECT`` through the driver (``sqlite3``, ``psycopg``), the gateway's in-process path
(:func:`gateway.market.history.answer` on a :class:`BarStore`), and ``GET /history`` through HTTP
on a running gateway (one keep-alive connection, the body read but not parsed).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from gateway.market.barstore import BarStore
from gateway.market.history import HistoryRequest, answer
from gateway.market.sessions import SessionCalendar, parse_session
from gateway.store import migrate
from gateway.store.database import Database
from gateway.store.tables import metadata

FIRST_MINUTE = 1_672_617_600
"""2023-01-02 00:00 UTC: the first bar of every symbol."""
DAY_BARS = 1440
VERSION = 1
"""Bumped when the generated data changes, so that stale caches are not reused."""
MARKER = "gateway_bench_meta"
"""The table that marks a PostgreSQL database as the bench's own, with what it holds."""
SQLITE_SELECT = (
    "SELECT time, open, high, low, close, volume FROM gw_bars "
    "WHERE symbol = ? AND time >= ? AND time <= ? ORDER BY time"
)
POSTGRES_SELECT = SQLITE_SELECT.replace("?", "%s")
SPEC = (1, 4, 14)

# One bar of symbol s at minute i: prices wander between 100 and 110, bars are well formed.
_ROWS = """
SELECT 'B{s}', {first} + 60 * i, o, {greatest}(o, c) + 0.02, {least}(o, c) - 0.02, c,
       {mod_i_97} + 1
FROM (SELECT i, o, o + ({mod_c} - 10) * {cent} AS c
      FROM (SELECT i, 100 + {mod_o} * {cent} AS o FROM {series}) AS m) AS b
"""


_SQLITE_SERIES = (
    "(WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < LAST) "
    "SELECT i FROM n)"
)


class UnavailableError(Exception):
    """A backend that cannot be measured here (the message says why)."""


@dataclass(frozen=True)
class Layout:
    """What a store holds: ``symbols`` × ``minutes`` bars."""

    symbols: int
    minutes: int

    @classmethod
    def for_rows(cls, rows: int) -> Layout:
        """Ten symbols for big stores; fewer for small ones, each with at least two days."""
        symbols = max(1, min(10, rows // (2 * DAY_BARS)))
        return cls(symbols, max(2 * DAY_BARS, rows // symbols))

    @property
    def rows(self) -> int:
        """Bars in the store."""
        return self.symbols * self.minutes

    @property
    def key(self) -> str:
        """Names the cache: layout and data version."""
        return f"{self.symbols}x{self.minutes}-v{VERSION}"


def _insert(dialect: str, symbol: int, minutes: int) -> str:
    def mod(a: str, b: int) -> str:
        return f"(({a}) % {b})" if dialect == "sqlite" else f"mod({a}, {b})"

    if dialect == "sqlite":
        series = _SQLITE_SERIES.replace("LAST", str(minutes - 1))
        greatest, least, cent = "max", "min", "0.01"
    else:
        series = f"generate_series(0::bigint, {minutes - 1}) AS i"
        greatest, least, cent = "greatest", "least", "0.01::float8"
    rows = _ROWS.format(
        s=symbol, first=FIRST_MINUTE, greatest=greatest, least=least, cent=cent, series=series,
        mod_i_97=mod("i", 97), mod_c=mod(f"i * 104729 + {symbol}", 21),
        mod_o=mod(f"i * 7919 + {symbol * 13}", 1000),
    )  # fmt: skip
    return f"INSERT INTO gw_bars (symbol, time, open, high, low, close, volume) {rows}"


def sqlite_store(layout: Layout, directory: Path | None = None) -> tuple[Path, float | None]:
    """The cached SQLite store of ``layout`` (built now if missing); build seconds or None."""
    directory = directory or Path(tempfile.gettempdir())
    path = directory / f"gateway-bench-bars-{layout.key}.sqlite"
    if path.exists():
        return path, None
    began = time.perf_counter()
    building = path.with_name(f"{path.name}.building-{os.getpid()}")
    building.unlink(missing_ok=True)
    engine = sa.create_engine(f"sqlite:///{building}")
    # Migrated, not create_all(): a store without a version table is taken for one made
    # before migrations existed, and later revisions would find their tables already there.
    migrate.upgrade_engine(engine)
    engine.dispose()
    db = sqlite3.connect(building)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-200000"):
            db.execute(f"PRAGMA {pragma}")
        for symbol in range(layout.symbols):
            db.execute(_insert("sqlite", symbol, layout.minutes))
            db.commit()
        db.execute("ANALYZE")
    finally:
        db.close()
    os.replace(building, path)
    return path, time.perf_counter() - began


def _reachable(url: sa.engine.URL) -> None:
    host, port = url.host or "127.0.0.1", url.port or 5432
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError as exc:
        raise UnavailableError(f"PostgreSQL at {host}:{port} is unreachable ({exc})") from None


def ensure_database(url: sa.engine.URL) -> None:
    """Create the PostgreSQL database of ``url`` if it does not exist (UnavailableError if that
    cannot be done)."""
    name = url.database or "gateway_bench"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.DBAPIError as exc:
        raise UnavailableError(f"cannot create or open database {name!r}: {exc.orig}") from None
    finally:
        admin.dispose()


def postgres_store(url_text: str, layout: Layout) -> tuple[str, float | None]:
    """Make the database of ``url_text`` hold ``layout`` (creating it if needed).

    Returns the URL and the build seconds (None when reused). Only a database that is missing,
    empty or marked as the bench's own is written to.
    """
    url = sa.engine.make_url(url_text)
    _reachable(url)
    name = url.database or "gateway_bench"
    ensure_database(url)
    engine = sa.create_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        ours = {t.name for t in metadata.sorted_tables} | {MARKER, migrate.VERSION_TABLE}
        if tables - ours or (tables and MARKER not in tables):
            raise UnavailableError(
                f"database {name!r} holds tables the bench did not make; "
                "point --postgres-url at a database of its own"
            )
        if MARKER in tables:
            with engine.connect() as conn:
                query = f"SELECT value FROM {MARKER} WHERE key = 'layout'"  # noqa: S608
                held = conn.execute(sa.text(query))
                if held.scalar() == layout.key:
                    return url.render_as_string(hide_password=False), None
        began = time.perf_counter()
        migrate.upgrade_engine(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {MARKER} (key text PRIMARY KEY, value text)"
            )
            conn.exec_driver_sql(f"DELETE FROM {MARKER}")  # noqa: S608 - a constant
            conn.exec_driver_sql("TRUNCATE gw_bars")
            # Loading without the primary key and building it afterwards is several times faster.
            conn.exec_driver_sql("ALTER TABLE gw_bars DROP CONSTRAINT gw_bars_pkey")
            for symbol in range(layout.symbols):
                conn.exec_driver_sql(_insert("postgresql", symbol, layout.minutes))
            conn.exec_driver_sql("ALTER TABLE gw_bars ADD PRIMARY KEY (symbol, time)")
            mark = f"INSERT INTO {MARKER} VALUES ('layout', :v)"  # noqa: S608 - a constant
            conn.execute(sa.text(mark), {"v": layout.key})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE gw_bars")
        return url.render_as_string(hide_password=False), time.perf_counter() - began
    finally:
        engine.dispose()


Window = tuple[str, int, int]
"""Symbol, first and last minute (inclusive) of one day."""


def windows(layout: Layout, count: int, seed: int = 7) -> list[Window]:
    """``count`` random one-day windows inside the store."""
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    out: list[Window] = []
    for _ in range(count):
        start = FIRST_MINUTE + 60 * rng.randrange(layout.minutes - DAY_BARS + 1)
        out.append((f"B{rng.randrange(layout.symbols)}", start, start + 60 * (DAY_BARS - 1)))
    return out


Reader = Callable[[Window], int]
"""Reads one window; returns the number of bars (or bytes, for HTTP)."""


def raw_reader(url: str) -> tuple[Reader, Callable[[], None]]:
    """The raw SELECT through the driver; and how to close it."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = sqlite3.connect(parsed.database or "", check_same_thread=False)

        def read_sqlite(w: Window) -> int:
            return len(db.execute(SQLITE_SELECT, w).fetchall())

        return read_sqlite, db.close
    pg = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(False))
    pg.autocommit = True

    def read_postgres(w: Window) -> int:
        with pg.cursor() as cur:
            cur.execute(POSTGRES_SELECT, w)
            return len(cur.fetchall())

    return read_postgres, pg.close


def gateway_reader(url: str) -> tuple[Reader, Callable[[], None]]:
    """The gateway's /history path in process (store, answer), without HTTP."""
    database = Database(url)
    store = BarStore(database)
    calendar = SessionCalendar(parse_session("24x7"), "Etc/UTC")

    def read(w: Window) -> int:
        request = HistoryRequest(w[0], "1", w[1], w[2])
        return len(answer(store, calendar, request, time.time(), SPEC)["t"])

    return read, database.dispose


def history_path(w: Window) -> str:
    """The /history request of a window."""
    return f"/history?symbol={w[0]}&resolution=1&from={w[1]}&to={w[2]}"


def http_reader(host: str, port: int) -> tuple[Reader, Callable[[], None]]:
    """``GET /history`` on a running gateway, one keep-alive connection."""
    conn = http.client.HTTPConnection(host, port, timeout=30)

    def read(w: Window) -> int:
        conn.request("GET", history_path(w))
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET /history answered {response.status}: {body[:200]!r}")
        return len(body)

    return read, conn.close


def check_http(host: str, port: int, window: Window) -> None:
    """One /history request, parsed: it must answer the day's 1440 bars."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", history_path(window))
        data: Any = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    if not isinstance(data, dict) or data.get("s") != "ok" or len(data["t"]) != DAY_BARS:
        raise RuntimeError(f"/history did not answer {DAY_BARS} bars: {str(data)[:200]}")


def timed(read: Reader, chunk: Sequence[Window], expected: int | None) -> list[float]:
    """Milliseconds per window."""
    out: list[float] = []
    for w in chunk:
        began = time.perf_counter()
        got = read(w)
        out.append((time.perf_counter() - began) * 1000)
        if expected is not None and got != expected:
            raise RuntimeError(f"{w}: expected {expected} bars, read {got}")
    return out


def measure(
    readers: dict[str, tuple[Reader, int | None]],
    sample: Sequence[Window],
    rounds: int,
    warm: int = 20,
) -> dict[str, list[float]]:
    """Each reader over the same windows, interleaved: round r reads chunk r with every one.

    Before that, the first reader reads every window once (so that the pages are cached for
    all) and the others read ``warm`` windows (pools, imports, the server's first requests).
    """
    for number, (read, expected) in enumerate(readers.values()):
        timed(read, sample if number == 0 else sample[:warm], expected)
    times: dict[str, list[float]] = {name: [] for name in readers}
    size = max(1, len(sample) // rounds)
    for r in range(rounds):
        chunk = sample[r * size : (r + 1) * size]
        for name, (read, expected) in readers.items():
            times[name] += timed(read, chunk, expected)
    return times
