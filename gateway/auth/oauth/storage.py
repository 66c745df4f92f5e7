"""What the OAuth flows keep in the shared store: codes, refresh tokens, sessions, assertions.

Everything secret is stored as its SHA-256 (like access tokens), and every single-use item is
claimed by one conditional UPDATE, so two workers racing with the same code or refresh token
cannot both win: the loser sees a replay, and a replay revokes the whole grant.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc

from gateway.auth.tokens import Clock, token_hash
from gateway.store.database import Database
from gateway.store.tables import assertions, oauth_codes, refresh_tokens, sessions, tokens

log = logging.getLogger("gateway.auth")


def new_grant_id() -> str:
    """An id for one authorization, shared by every token that descends from it."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class CodeRecord:
    """A claimed authorization code (Authlib's AuthorizationCodeMixin)."""

    grant_id: str
    client_id: str
    login: str
    redirect_uri: str
    scope: str
    session_hash: str | None

    def get_redirect_uri(self) -> str:
        """The redirect URI of the authorization request ('' when it named none)."""
        return self.redirect_uri

    def get_scope(self) -> str:
        """The granted scope."""
        return self.scope


@dataclass(frozen=True)
class RefreshRecord:
    """A refresh token (Authlib's TokenMixin, as far as the refresh grant uses it)."""

    grant_id: str
    client_id: str
    login: str
    scope: str
    session_hash: str | None
    access_hash: str

    def check_client(self, client: object) -> bool:
        """Issued to this client."""
        return getattr(client, "client_id", None) == self.client_id

    def get_scope(self) -> str:
        """The granted scope."""
        return self.scope


class OAuthStore:
    """Codes, refresh tokens, login sessions and seen assertions, in the shared store."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # Sessions of the login page -----------------------------------------------------------

    def new_session(self, login: str, ttl_seconds: float) -> str:
        """Start a login session; returns the cookie value."""
        value = secrets.token_urlsafe(32)
        now = self._clock()
        with self._db.engine.begin() as conn:
            conn.execute(
                sessions.insert().values(
                    session_hash=token_hash(value),
                    login=login,
                    created_at=now,
                    expires_at=now + ttl_seconds,
                    revoked_at=None,
                )
            )
            conn.execute(sessions.delete().where(sessions.c.expires_at < now - 86400))
        return value

    def session_login(self, cookie: str) -> str | None:
        """The login of a live session cookie."""
        with self._db.engine.connect() as conn:
            row = conn.execute(
                sa.select(sessions.c.login, sessions.c.expires_at, sessions.c.revoked_at).where(
                    sessions.c.session_hash == token_hash(cookie)
                )
            ).first()
        if row is None or row.revoked_at is not None or row.expires_at <= self._clock():
            return None
        return str(row.login)

    def end_session(self, cookie: str) -> int:
        """End a session and revoke every token it produced; returns how many were live."""
        hashed = token_hash(cookie)
        now = self._clock()
        with self._db.engine.begin() as conn:
            conn.execute(
                sessions.update()
                .where(sessions.c.session_hash == hashed, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            done = conn.execute(
                tokens.update()
                .where(tokens.c.session_hash == hashed, tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
            conn.execute(
                refresh_tokens.update()
                .where(
                    refresh_tokens.c.session_hash == hashed, refresh_tokens.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
            # A code issued before the logout and not yet exchanged must not outlive it.
            conn.execute(
                oauth_codes.update()
                .where(oauth_codes.c.session_hash == hashed, oauth_codes.c.used_at.is_(None))
                .values(used_at=now)
            )
        return int(done)

    # Authorization codes --------------------------------------------------------------------

    def save_code(
        self,
        code: str,
        *,
        grant_id: str,
        client_id: str,
        login: str,
        redirect_uri: str,
        scope: str,
        session_hash: str | None,
        ttl_seconds: float,
    ) -> None:
        """Remember a freshly issued code."""
        now = self._clock()
        with self._db.engine.begin() as conn:
            conn.execute(
                oauth_codes.insert().values(
                    code_hash=token_hash(code),
                    grant_id=grant_id,
                    client_id=client_id,
                    login=login,
                    redirect_uri=redirect_uri,
                    scope=scope,
                    session_hash=session_hash,
                    expires_at=now + ttl_seconds,
                    used_at=None,
                )
            )
            conn.execute(oauth_codes.delete().where(oauth_codes.c.expires_at < now - 86400))

    def claim_code(self, code: str, client_id: str) -> CodeRecord | None:
        """Use a code once. A second use revokes what the first one produced (RFC 6749 §4.1.2)."""
        c = oauth_codes.c
        row = self._spend(
            oauth_codes,
            c.code_hash,
            token_hash(code),
            c.used_at,
            (c.client_id == client_id,),
            "authorization code used twice",
        )
        if row is None:
            return None
        return CodeRecord(
            str(row.grant_id),
            str(row.client_id),
            str(row.login),
            str(row.redirect_uri),
            str(row.scope),
            row.session_hash,
        )

    def _spend(
        self,
        table: sa.Table,
        key: sa.Column[Any],
        hashed: str,
        spent: sa.Column[Any],
        also: tuple[sa.ColumnElement[bool], ...],
        replay: str,
    ) -> Any:
        """Claim a single-use row by one conditional UPDATE; its row, or None.

        Live means not spent, not revoked (where the table says so) and not expired. A row
        already spent is a replay: the whole grant it belongs to is revoked.
        """
        now = self._clock()
        live = [key == hashed, spent.is_(None), table.c.expires_at > now, *also]
        if "revoked_at" in table.c:
            live.append(table.c.revoked_at.is_(None))
        with self._db.engine.begin() as conn:
            claimed = conn.execute(table.update().where(*live).values({spent: now})).rowcount
            row = conn.execute(sa.select(table).where(key == hashed)).first()
        if row is None:
            return None
        if claimed != 1:
            if getattr(row, spent.name) is not None:
                log.warning("%s: revoking its grant [client %s]", replay, row.client_id)
                self.revoke_grant(str(row.grant_id))
            return None
        return row

    # Refresh tokens ---------------------------------------------------------------------------

    def save_refresh(
        self,
        token: str,
        *,
        grant_id: str,
        client_id: str,
        login: str,
        scope: str,
        session_hash: str | None,
        access_hash: str,
        ttl_seconds: float,
    ) -> None:
        """Remember a refresh token issued with the access token ``access_hash``."""
        now = self._clock()
        with self._db.engine.begin() as conn:
            conn.execute(
                refresh_tokens.insert().values(
                    token_hash=token_hash(token),
                    grant_id=grant_id,
                    client_id=client_id,
                    login=login,
                    scope=scope,
                    session_hash=session_hash,
                    access_hash=access_hash,
                    issued_at=now,
                    expires_at=now + ttl_seconds,
                    rotated_at=None,
                    revoked_at=None,
                )
            )
            conn.execute(refresh_tokens.delete().where(refresh_tokens.c.expires_at < now - 86400))

    def refresh_client(self, token: str) -> str | None:
        """The client a refresh token was issued to (TradingView's refresh omits client_id)."""
        with self._db.engine.connect() as conn:
            value = conn.execute(
                sa.select(refresh_tokens.c.client_id).where(
                    refresh_tokens.c.token_hash == token_hash(token)
                )
            ).scalar()
        return None if value is None else str(value)

    def rotate_refresh(self, token: str) -> RefreshRecord | None:
        """Spend a live refresh token. Reusing a spent one revokes its whole grant."""
        c = refresh_tokens.c
        row = self._spend(
            refresh_tokens,
            c.token_hash,
            token_hash(token),
            c.rotated_at,
            (),
            "refresh token reused after rotation",
        )
        if row is None:
            return None
        return RefreshRecord(
            str(row.grant_id),
            str(row.client_id),
            str(row.login),
            str(row.scope),
            row.session_hash,
            str(row.access_hash),
        )

    # Grants and assertions ----------------------------------------------------------------

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke every access and refresh token of one grant."""
        now = self._clock()
        with self._db.engine.begin() as conn:
            conn.execute(
                tokens.update()
                .where(tokens.c.grant_id == grant_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            conn.execute(
                refresh_tokens.update()
                .where(refresh_tokens.c.grant_id == grant_id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    def first_use_of_assertion(self, assertion: str, expires_at: float) -> bool:
        """Record an assertion; False when it was exchanged before (a replay)."""
        now = self._clock()
        try:
            with self._db.engine.begin() as conn:
                conn.execute(assertions.delete().where(assertions.c.expires_at < now))
                conn.execute(
                    assertions.insert().values(
                        assertion_hash=token_hash(assertion), expires_at=expires_at
                    )
                )
        except sqlalchemy.exc.IntegrityError:
            return False
        return True
