"""PostgreSQL LISTEN/NOTIFY: the broker's triggers tell the gateway that an account changed.

One connection per process listens on the configured channel. A notification's payload names
the account whose orders, positions or balances changed (empty: any account); its streams
re-read at once instead of waiting for the next poll. The connection is the writer pool's,
detached from the pool (it stays in autocommit, listening, for the life of the process).

A lost connection is re-opened with backoff, and every stream re-reads once it is back: the
notifications sent while it was down are gone, and polling covers the gap meanwhile.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine

from gateway.trading.events import Changes

log = logging.getLogger("gateway.connectors.sql")

WAIT_SECONDS = 1.0
"""How long one wait for notifications lasts before the thread checks whether to stop."""
MAX_BACKOFF = 30.0


def listen(
    engine: Engine, channel: str, changes: Changes, stopping: threading.Event, name: str
) -> None:
    """Listen on ``channel`` until ``stopping`` is set; bump ``changes`` per notification."""
    backoff = 1.0
    while not stopping.is_set():
        try:
            connection = _open(engine, channel)
        except Exception as exc:  # the thread must outlive any failure; polling goes on
            log.warning("connectors.%s.listen: cannot listen (%s); retrying", name, _line(exc))
            stopping.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            continue
        log.info("connectors.%s: listening on %s", name, channel)
        backoff = 1.0
        changes.touch_all()  # what changed while nobody listened: every stream re-reads
        try:
            _receive(connection, changes, stopping)
        except Exception as exc:  # a lost connection: open a new one
            if not stopping.is_set():
                log.warning("connectors.%s.listen: connection lost (%s)", name, _line(exc))
        finally:
            _close(connection)
        stopping.wait(backoff)  # a server that accepts and drops at once is not hammered


def _open(engine: Engine, channel: str) -> Any:
    import psycopg
    from psycopg import sql

    raw = engine.raw_connection()
    driver: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
    raw.detach()  # its session state (autocommit, LISTEN) must not go back to the pool
    try:
        driver.rollback()
        driver.autocommit = True
        # The channel is a validated identifier, and quoted as one: LISTEN takes no parameter.
        driver.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    except BaseException:
        _close(driver)
        raise
    return driver


def _receive(connection: Any, changes: Changes, stopping: threading.Event) -> None:
    while not stopping.is_set():
        for note in connection.notifies(timeout=WAIT_SECONDS):
            account = note.payload.strip()
            if account:
                changes.touch(account[:64])
            else:
                changes.touch_all()
            if stopping.is_set():
                return


def _close(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # a broken connection may fail to close; it is gone anyway
        log.debug("closing the listening connection failed", exc_info=True)


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
