"""Bearer tokens: random, stored hashed in the shared store, valid on every worker and instance."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.store.database import Database
from gateway.store.tables import tokens

Clock = Callable[[], float]
# Expired rows are kept a day for forensics, then deleted by later issues of new tokens.
_KEEP_EXPIRED_SECONDS = 86400.0


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    """256 bits from the OS's CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class IssuedToken:
    """What /authorize returns: the token and its absolute expiry (Unix seconds)."""

    access_token: str
    expiration: int


class TokenStore:
    """Issues, resolves and revokes tokens.

    Every check reads the store, so a logout on one instance is seen by all of them at once.
    """

    def __init__(self, db: Database, clock: Clock, generate: Callable[[], str] = new_token) -> None:
        self._db = db
        self._clock = clock
        self._generate = generate

    def issue(self, login: str, ttl_seconds: float, kind: str = "password") -> IssuedToken:
        """Mint a new token for ``login``."""
        now = self._clock()
        expiration = math.floor(now + ttl_seconds)
        token = self._generate()
        with self._db.engine.begin() as conn:
            conn.execute(
                tokens.insert().values(
                    token_hash=token_hash(token),
                    login=login,
                    kind=kind,
                    issued_at=now,
                    expires_at=float(expiration),
                    revoked_at=None,
                )
            )
            conn.execute(tokens.delete().where(tokens.c.expires_at < now - _KEEP_EXPIRED_SECONDS))
        return IssuedToken(token, expiration)

    def resolve(self, token: str) -> str | None:
        """The login a live token belongs to; None if unknown, expired or revoked."""
        with self._db.engine.connect() as conn:
            row = conn.execute(
                sa.select(tokens.c.login, tokens.c.expires_at, tokens.c.revoked_at).where(
                    tokens.c.token_hash == token_hash(token)
                )
            ).first()
        if row is None or row.revoked_at is not None or row.expires_at <= self._clock():
            return None
        return str(row.login)

    def revoke(self, token: str) -> bool:
        """Revoke a live token; False when it was not live."""
        with self._db.engine.begin() as conn:
            result = conn.execute(
                tokens.update()
                .where(tokens.c.token_hash == token_hash(token), tokens.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        return result.rowcount == 1
