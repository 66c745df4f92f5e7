"""Failed-login throttling per login and per client address, shared through the store.

Counting in the store rather than in memory means an attacker gains nothing by spreading
guesses over workers or instances behind the load balancer.
"""

from __future__ import annotations

import hashlib
import math

import sqlalchemy as sa

from gateway.auth.tokens import Clock
from gateway.config.model import LoginThrottle
from gateway.store.database import Database
from gateway.store.tables import login_failures


def _key(scope: str, value: str) -> str:
    return f"{scope}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


class Throttle:
    """Sliding-window counters of failed logins."""

    def __init__(self, db: Database, settings: LoginThrottle, clock: Clock) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock

    def retry_after(self, login: str, address: str) -> int | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        now = self._clock()
        window = self._settings.window.seconds
        limits = (
            (_key("login", login), self._settings.max_failures_per_login),
            (_key("addr", address), self._settings.max_failures_per_address),
        )
        waits: list[float] = []
        with self._db.engine.connect() as conn:
            for key, limit in limits:
                times = (
                    conn.execute(
                        sa.select(login_failures.c.at)
                        .where(login_failures.c.key == key, login_failures.c.at > now - window)
                        .order_by(login_failures.c.at.desc())
                        .limit(limit)
                    )
                    .scalars()
                    .all()
                )
                if len(times) >= limit:
                    # Allowed again when the oldest of the last `limit` failures leaves the window.
                    waits.append(min(times) + window - now)
        return math.ceil(max(waits)) if waits else None

    def record_failure(self, login: str, address: str) -> None:
        """Count one failed attempt against both the login and the address."""
        now = self._clock()
        with self._db.engine.begin() as conn:
            conn.execute(
                login_failures.insert(),
                [
                    {"key": _key("login", login), "at": now},
                    {"key": _key("addr", address), "at": now},
                ],
            )
            conn.execute(
                login_failures.delete().where(
                    login_failures.c.at < now - self._settings.window.seconds
                )
            )

    def clear_login(self, login: str) -> None:
        """Forget a login's failures after it succeeds (the address keeps its count)."""
        with self._db.engine.begin() as conn:
            conn.execute(
                login_failures.delete().where(login_failures.c.key == _key("login", login))
            )
