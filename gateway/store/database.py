"""Lazily opened SQLAlchemy engine, safe to build before gunicorn forks."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.event
from sqlalchemy.engine import Engine

# How long a SQLite connection waits for another's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT = 10
SQLITE_WAL_SWITCH_TIMEOUT = 60
"""How long a new connection waits to switch the database to WAL (see _sqlite_pragmas)."""
SQLITE_OPEN_ATTEMPTS = 5
"""How often opening a SQLite store is tried when SQLite answers "database is locked" at once."""

log = logging.getLogger(__name__)


def _sqlite_busy(exc: BaseException, url: str) -> bool:
    return (
        isinstance(exc, sa.exc.OperationalError)
        and "database is locked" in str(exc.orig)
        and sa.engine.make_url(url).get_backend_name() == "sqlite"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers in other worker processes proceed while one writes; the busy timeout
    # makes a writer wait for another instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    # Switching a new database to WAL takes its exclusive lock, which a worker migrating the
    # fresh store holds for as long as the migration lasts (seconds on a loaded machine): this
    # one statement waits as long as a migration may take.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_WAL_SWITCH_TIMEOUT * 1000}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def anchor_sqlite_url(url: str, base_dir: Path) -> str:
    """``url`` with a relative SQLite path made relative to ``base_dir`` (the config's folder).

    Other URLs, in-memory and ``file:`` databases are returned as they are.
    """
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if Path(database).is_absolute() or database.startswith("file:"):
        return url
    return parsed.set(database=str(base_dir / database)).render_as_string(hide_password=False)


def engine_options(url: str) -> dict[str, Any]:
    """Pool settings for ``url``: SQLite shared across threads, waiting for locks; others pinged."""
    if sa.engine.make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}}
    return {"pool_pre_ping": True}


def create_engine(url: str) -> Engine:
    """An engine for the store at ``url`` with the gateway's settings; the schema is untouched.

    :class:`Database` opens its engine with this; :mod:`gateway.store.migrate` uses it too, so
    that migrations run with the same SQLite pragmas as the gateway.
    """
    parsed = sa.engine.make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    engine = sa.create_engine(parsed, **engine_options(url))
    if sqlite:
        sqlalchemy.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """The store's engine, opened on first use in the process that uses it.

    Opening lazily means a ``Database`` built in gunicorn's master never hands an open
    connection to forked workers.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The engine; the schema is migrated to the newest revision when it is first opened."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._open()
        return self._engine

    def _open(self) -> Engine:
        # Imported here because migrate builds its engines with create_engine() above.
        from gateway.store import migrate

        attempt = 1
        while True:
            engine = create_engine(self._url)
            try:
                # Cheap when the schema is current (one query); otherwise it takes the
                # database's migration lock, so workers opening a fresh store together wait
                # for the first one instead of racing it.
                migrate.upgrade_engine(engine)
            except BaseException as exc:
                engine.dispose()
                # SQLite documents moments when a WAL database answers SQLITE_BUSY without
                # consulting the busy timeout: while the last connection closing it cleans
                # up, and while a new one recovers it. A worker opening the store just then
                # (CI saw it once, four workers racing a fresh store) tries again rather than
                # failing to start; every migration step is transactional, so nothing is
                # half-done.
                if attempt >= SQLITE_OPEN_ATTEMPTS or not _sqlite_busy(exc, self._url):
                    raise
                log.warning("the store is busy (%s); opening it again", str(exc).splitlines()[0])
                time.sleep(0.2 * attempt)
                attempt += 1
            else:
                return engine

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
