"""``POST /authorize`` (PasswordBearer) and ``POST /logout``."""

from __future__ import annotations

import logging
import math
from typing import ClassVar

import falcon

from gateway.errors import ApiError
from gateway.http.client import client_address
from gateway.http.forms import read_form, required_text
from gateway.http.render import ok
from gateway.locale import negotiate
from gateway.services import Services

log = logging.getLogger("gateway.auth")


class AuthorizeResource:
    """Exchanges a login and password for a new, unique, expiring token."""

    auth: ClassVar[str | None] = None

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Authorize (spec operation ``authorize``)."""
        form = read_form(req, self._s.config.server.max_body_bytes)
        req.context.locale = negotiate(form.get("locale") or req.get_param("locale"))
        auth = self._s.config.auth
        if "password_bearer" not in (auth.trading.mode, auth.data.mode):
            raise ApiError("password_login_disabled")
        login = required_text(form, "login")
        password = required_text(form, "password", max_length=1024)
        address = client_address(req, self._s.proxies)
        wait = self._s.throttle.retry_after(login, address)
        if wait is not None:
            log.warning("login refused while throttled [client %s]", address)
            self._s.metrics.login_failures.labels("throttled").inc()
            raise ApiError("login_throttled", minutes=max(1, math.ceil(wait / 60)))
        principal = self._s.identity.authenticate(login, password)
        if principal is None:
            self._s.throttle.record_failure(login, address)
            # Neither the login (users type passwords into it) nor the password is logged.
            log.info("failed login [client %s]", address)
            self._s.metrics.login_failures.labels("invalid").inc()
            raise ApiError("invalid_credentials")
        self._s.throttle.clear_login(login)
        issued = self._s.tokens.issue(
            principal.login, self._s.config.auth.trading.token_ttl.seconds
        )
        ok(resp, {"access_token": issued.access_token, "expiration": issued.expiration})


class LogoutResource:
    """Revokes the caller's token everywhere (every worker and instance share the store)."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Logout (spec operation ``logout``).

        An OAuth token takes its whole grant with it (its refresh token too), so that
        TradingView cannot refresh its way back in after the user logged out.
        """
        token = req.context.token
        grant = self._s.tokens.grant_of(token)
        if grant is not None and self._s.oauth is not None:
            self._s.oauth.store.revoke_grant(grant)
        else:
            self._s.tokens.revoke(token)
        ok(resp)
