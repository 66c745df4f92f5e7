"""Lazily opened SQLAlchemy engine, safe to build before gunicorn forks."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
import sqlalchemy.event
from sqlalchemy.engine import Engine

from gateway.store.tables import metadata


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers in other worker processes proceed while one writes; the busy timeout
    # makes a writer wait for another instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


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
        """The engine; tables are created the first time it is opened."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._open()
        return self._engine

    def _open(self) -> Engine:
        url = sa.engine.make_url(self._url)
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if url.get_backend_name() == "sqlite":
            kwargs = {"connect_args": {"check_same_thread": False, "timeout": 10}}
        engine = sa.create_engine(url, **kwargs)
        if url.get_backend_name() == "sqlite":
            sqlalchemy.event.listen(engine, "connect", _sqlite_pragmas)
        try:
            metadata.create_all(engine, checkfirst=True)
        except sa.exc.DBAPIError:
            # Another worker created the tables between our check and our CREATE; the second
            # pass finds them all.
            metadata.create_all(engine, checkfirst=True)
        return engine

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
