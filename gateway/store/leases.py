"""Leases in the store: exactly one process of a deployment holds a resource at a time.

A FIX session admits one logon per comp-id pair, and its numbers live in the store: two
processes sharing the store (two workers, two containers) must never both run it. The holder
of a lease renews it well before it expires; once it has expired, any process may take it
over, so a holder that died is replaced after at most one ``ttl``.

Both steps are single conditional statements, atomic on every supported database: an UPDATE
that succeeds only when the lease is ours or expired, else an INSERT that the primary key
refuses when another process got there first. Expiry is judged by the clock of the process
that writes, so hosts sharing a store need synchronized clocks (NTP) with skew well below the
``ttl``. A holder stops using the resource once its own view of the lease runs out
(:attr:`Lease.held`), before anyone else may take it.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from gateway.store.database import Database
from gateway.store.tables import leases

__all__ = ["Lease", "process_identity"]


def process_identity() -> str:
    """A name for the calling process, readable and unique: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """One named lease, as seen by one would-be holder."""

    def __init__(
        self,
        database: Database,
        name: str,
        ttl: float = 10.0,
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.name = name
        self.ttl = ttl
        self.holder = holder or process_identity()
        self._clock = clock
        self._held_until = 0.0

    @property
    def held(self) -> bool:
        """Whether this holder may use the resource now (a renewal succeeded recently enough).

        A third of the ``ttl`` is kept in hand: the holder stops before the lease expires in
        the store, so a process taking it over never overlaps with one still using it.
        """
        return self._clock() < self._held_until - self.ttl / 3

    def acquire(self) -> bool:
        """Take the lease, or renew it if it is ours; whether we hold it now."""
        now = self._clock()
        values = {"holder": self.holder, "expires_at": now + self.ttl}
        with self.database.engine.begin() as conn:
            renewed = conn.execute(
                leases.update()
                .where(leases.c.name == self.name)
                .where(leases.c.holder == self.holder)
                .values(**values)
            ).rowcount
            taken = (
                0
                if renewed
                else conn.execute(
                    leases.update()
                    .where(leases.c.name == self.name)
                    .where(leases.c.expires_at < now)
                    .values(**values, acquired_at=now)
                ).rowcount
            )
        if not (renewed or taken):
            try:
                with self.database.engine.begin() as conn:
                    conn.execute(leases.insert().values(name=self.name, acquired_at=now, **values))
            except IntegrityError:  # someone else holds it (or just took it)
                self._held_until = 0.0
                return False
        self._held_until = now + self.ttl
        return True

    def release(self) -> None:
        """Give the lease up at once (a clean stop), if it is ours."""
        self._held_until = 0.0
        with self.database.engine.begin() as conn:
            conn.execute(
                leases.delete()
                .where(leases.c.name == self.name)
                .where(leases.c.holder == self.holder)
            )

    def owner(self) -> str | None:
        """Who holds the lease now, if anyone does (an expired lease has no owner)."""
        with self.database.engine.connect() as conn:
            row = conn.execute(
                sa.select(leases.c.holder, leases.c.expires_at).where(leases.c.name == self.name)
            ).first()
        if row is None or row.expires_at < self._clock():
            return None
        return str(row.holder)
