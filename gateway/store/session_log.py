"""The durable state of a sequenced session with an upstream (a FIX session).

A session's sequence numbers and the application messages it sent live in the gateway's store,
not in a file of one machine: a restarted process resumes where it stopped, and a process that
takes the session over from a dead owner (scaled out) finds the same numbers.

Writes are ordered for safety, not speed: a message is journaled, with the next outgoing
number, *before* it goes on the wire, so that anything the counterparty may ask to be resent is
here; the next incoming number is recorded *after* the message was handled, so that a crash in
between makes the message come again (and handlers are idempotent), never get lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.store.database import Database
from gateway.store.tables import session_messages, session_state, session_values


@dataclass(frozen=True)
class SessionNumbers:
    """Where a session stands: the next sequence number each way, and its period."""

    next_out: int
    next_in: int
    period_start: float | None


class SessionLog:
    """One session's numbers, sent messages and remembered values in the store."""

    def __init__(
        self, database: Database, session_id: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.database = database
        self.session_id = session_id
        self._clock = clock

    def load(self) -> SessionNumbers:
        """The stored numbers; a session never seen before starts at 1 and 1."""
        with self.database.engine.begin() as conn:
            row = self._row(conn)
            if row is None:
                self._insert(conn, None)
                return SessionNumbers(1, 1, None)
            return SessionNumbers(int(row.next_out), int(row.next_in), row.period_start)

    def _insert(self, conn: Connection, period_start: float | None) -> None:
        conn.execute(
            session_state.insert().values(
                session_id=self.session_id,
                next_out=1,
                next_in=1,
                period_start=period_start,
                updated_at=self._clock(),
            )
        )

    def _row(self, conn: Connection) -> Any:
        query = sa.select(
            session_state.c.next_out, session_state.c.next_in, session_state.c.period_start
        ).where(session_state.c.session_id == self.session_id)
        return conn.execute(query).first()

    def _set(self, conn: Connection, **values: object) -> None:
        conn.execute(
            session_state.update()
            .where(session_state.c.session_id == self.session_id)
            .values(updated_at=self._clock(), **values)
        )

    def record_sent(self, seq: int, payload: bytes | None) -> None:
        """A message numbered ``seq`` is about to go out: journal it (if given), move on.

        Admin messages (heartbeats, logons) pass no payload: a resend replaces them with a
        gap fill, so only their number is recorded.
        """
        with self.database.engine.begin() as conn:
            if payload is not None:
                conn.execute(
                    session_messages.insert().values(
                        session_id=self.session_id, seq=seq, sent_at=self._clock(), payload=payload
                    )
                )
            self._set(conn, next_out=seq + 1)

    def set_next_in(self, seq: int) -> None:
        """The next number expected from the counterparty (after a message was handled)."""
        with self.database.engine.begin() as conn:
            self._set(conn, next_in=seq)

    def sent(self, begin: int, end: int | None) -> list[tuple[int, bytes]]:
        """Journaled messages with ``begin <= seq <= end`` (``end`` None: to the last)."""
        query = (
            sa.select(session_messages.c.seq, session_messages.c.payload)
            .where(session_messages.c.session_id == self.session_id)
            .where(session_messages.c.seq >= begin)
            .order_by(session_messages.c.seq)
        )
        if end is not None:
            query = query.where(session_messages.c.seq <= end)
        with self.database.engine.connect() as conn:
            return [(int(seq), bytes(payload)) for seq, payload in conn.execute(query)]

    def reset(self, period_start: float | None) -> None:
        """Start again from 1 both ways (a new session period, or an agreed reset).

        The journal goes too: its numbers belong to the ended sequence.
        """
        with self.database.engine.begin() as conn:
            if self._row(conn) is None:
                self._insert(conn, period_start)
            else:
                self._set(conn, next_out=1, next_in=1, period_start=period_start)
            conn.execute(
                session_messages.delete().where(session_messages.c.session_id == self.session_id)
            )

    def prune(self, older_than: float) -> int:
        """Forget journaled messages sent before ``older_than``; returns how many."""
        with self.database.engine.begin() as conn:
            result = conn.execute(
                session_messages.delete()
                .where(session_messages.c.session_id == self.session_id)
                .where(session_messages.c.sent_at < older_than)
            )
            return int(result.rowcount or 0)

    def remember(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` for this session (replacing what was there)."""
        with self.database.engine.begin() as conn:
            updated = conn.execute(
                session_values.update()
                .where(session_values.c.session_id == self.session_id)
                .where(session_values.c.key == key)
                .values(value=value, updated_at=self._clock())
            )
            if not updated.rowcount:
                conn.execute(
                    session_values.insert().values(
                        session_id=self.session_id, key=key, value=value, updated_at=self._clock()
                    )
                )

    def recall(self, key: str) -> str | None:
        """The value kept under ``key``, if any."""
        query = sa.select(session_values.c.value).where(
            session_values.c.session_id == self.session_id, session_values.c.key == key
        )
        with self.database.engine.connect() as conn:
            value = conn.execute(query).scalar()
        return None if value is None else str(value)

    def forget(self, key: str) -> None:
        """Drop the value under ``key`` (an order that ended)."""
        with self.database.engine.begin() as conn:
            conn.execute(
                session_values.delete()
                .where(session_values.c.session_id == self.session_id)
                .where(session_values.c.key == key)
            )
