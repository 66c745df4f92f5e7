"""Per-request context: request id, locale and the authenticated principal."""

from __future__ import annotations

import re
import uuid

import falcon

from gateway.auth.tokens import TokenStore
from gateway.config.model import GatewayConfig
from gateway.errors import Unauthorized
from gateway.locale import negotiate
from gateway.logs import request_id
from gateway.plugins.records import Principal
from gateway.plugins.roles import Identity

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
AUTH_KINDS = (None, "trading", "data")
"""What a resource's ``auth`` attribute may say: public, a trading token, a data token."""


class ContextMiddleware:
    """Request id (kept from a sane X-Request-Id, else new) and the answer's locale."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Fill ``req.context``."""
        given = req.get_header("X-Request-Id") or ""
        req.context.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        req.context.locale = negotiate(req.get_param("locale"))
        resp.set_header("X-Request-Id", req.context.request_id)
        # Log lines of this request carry its id (gateway/logs.py); each request runs in a
        # thread of its own, and the next one sets it again.
        request_id.set(req.context.request_id)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, succeeded: bool
    ) -> None:
        """Forget the request id once the answer is made."""
        request_id.set(None)


def bearer_token(req: falcon.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    header = req.get_header("Authorization") or ""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    return token


class AuthMiddleware:
    """Requires a live token where the resource asks for one; 401 otherwise.

    Every token, whatever flow issued it, is checked here against the shared store. Which kinds
    open which half follows the configured modes: a browser user's token (password or OAuth)
    opens the trading half; the data half takes what its mode names.
    """

    def __init__(self, config: GatewayConfig, tokens: TokenStore, identity: Identity) -> None:
        trading_kind = "oauth" if config.auth.trading.mode == "oauth2" else "password"
        data_mode = config.auth.data.mode
        self._accepts: dict[str, frozenset[str]] = {
            "trading": frozenset({trading_kind}),
            "data": frozenset({"server"} if data_mode == "server_oauth2" else {"password"}),
        }
        self._data_open = data_mode == "none"
        self._tokens = tokens
        self._identity = identity

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, object],
    ) -> None:
        """Resolve the token into ``req.context.principal``."""
        if resource is None or req.method == "OPTIONS":
            return
        need = getattr(resource, "auth", None)
        if need is None or (need == "data" and self._data_open):
            return
        token = bearer_token(req)
        info = self._tokens.lookup(token) if token else None
        if info is None or info.kind not in self._accepts[need]:
            raise Unauthorized()
        if info.kind == "server":
            # TradingView's data servers act for the UserId of their credentials, which need
            # not be a user of the identity role: they see data, not accounts.
            principal: Principal | None = Principal(info.login, ())
        else:
            principal = self._identity.lookup(info.login)
        if principal is None:
            raise Unauthorized()
        req.context.principal = principal
        req.context.token = token
