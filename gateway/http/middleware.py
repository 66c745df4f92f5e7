"""Per-request context: request id, locale and the authenticated principal."""

from __future__ import annotations

import re
import uuid

import falcon

from gateway.auth.tokens import TokenStore
from gateway.config.model import GatewayConfig
from gateway.errors import Unauthorized
from gateway.locale import negotiate
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


def bearer_token(req: falcon.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    header = req.get_header("Authorization") or ""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    return token


class AuthMiddleware:
    """Requires a live token where the resource asks for one; 401 otherwise."""

    def __init__(self, config: GatewayConfig, tokens: TokenStore, identity: Identity) -> None:
        self._data_open = config.auth.data.mode == "none"
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
        login = self._tokens.resolve(token) if token else None
        principal = self._identity.lookup(login) if login else None
        if principal is None:
            raise Unauthorized()
        req.context.principal = principal
        req.context.token = token
