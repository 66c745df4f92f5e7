"""The authorization server: Authlib's, fed from the configuration and the shared store.

This module is the whole Falcon adapter: :class:`GatewayRequest` turns a request's parameters
into Authlib's request object, and :meth:`OAuthServer.handle_response` hands Authlib's
``(status, body, headers)`` back unchanged for the resource to write.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Payload, OAuth2Request

from gateway.auth.oauth.clients import BrowserClient, Client, DataServerClient
from gateway.auth.oauth.grants import (
    CodeGrant,
    RefreshGrant,
    TokenGrant,
    assertion_grant,
    refresh_token_secret,
)
from gateway.auth.oauth.storage import CodeRecord, OAuthStore, RefreshRecord, new_grant_id
from gateway.auth.tokens import Clock, TokenStore, token_hash
from gateway.config.model import Auth
from gateway.config.oauth import OAuth
from gateway.plugins.roles import Identity

log = logging.getLogger("gateway.auth")

Response = tuple[int, Any, list[tuple[str, str]]]


class _Payload(OAuth2Payload):
    def __init__(self, params: Mapping[str, Sequence[str]]) -> None:
        self._datalist = defaultdict(list, {k: list(v) for k, v in params.items()})
        self._data = {k: v[0] for k, v in params.items() if v}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class GatewayRequest(OAuth2Request):
    """A Falcon request's OAuth parameters (query or form) as Authlib reads them."""

    def __init__(
        self,
        method: str,
        uri: str,
        params: Mapping[str, Sequence[str]],
        authorization: str | None = None,
    ) -> None:
        # Authlib reads Basic client credentials from headers["Authorization"].
        headers = {"Authorization": authorization} if authorization else {}
        super().__init__(method, uri, headers=headers)
        self.payload = _Payload(params)
        self._params: dict[str, str] = self.payload.data
        self.grant_id: str | None = None
        self.session_hash: str | None = None

    @property
    def args(self) -> dict[str, str]:
        """Query parameters (the authorization endpoint's)."""
        return self._params

    @property
    def form(self) -> dict[str, str]:
        """Form fields (the token endpoint's)."""
        return self._params


class OAuthServer(AuthorizationServer):
    """Authlib's authorization server with TradingView's clients and the gateway's store."""

    def __init__(
        self,
        auth: Auth,
        settings: OAuth,
        tokens: TokenStore,
        oauth_store: OAuthStore,
        identity: Identity,
        clock: Clock,
    ) -> None:
        super().__init__(scopes_supported=None)
        self.auth = auth
        self.settings = settings
        self.tokens = tokens
        self.oauth_store = oauth_store
        self.identity = identity
        self.clock = clock
        self._clients: dict[str, Client] = {}
        for c in settings.clients:
            self._clients[c.client_id] = BrowserClient(c)
        for s in settings.servers:
            self._clients[s.client_id] = DataServerClient(s)
        self.register_token_generator("default", self._generate_token)
        self.register_client_auth_method(
            "refresh_token_secret", partial(refresh_token_secret, self)
        )
        if settings.clients:
            self.register_grant(CodeGrant)
            self.register_grant(TokenGrant)
            self.register_grant(RefreshGrant)
        for urn in sorted({s.grant_type for s in settings.servers}):
            self.register_grant(assertion_grant(urn))

    # Authlib's hooks --------------------------------------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        """A configured client by id."""
        return self._clients.get(client_id) if isinstance(client_id, str) else None

    def create_oauth2_request(self, request: Any) -> GatewayRequest:
        """The adapter builds requests itself; Authlib receives them ready-made."""
        if not isinstance(request, GatewayRequest):
            raise TypeError("pass a GatewayRequest")
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        """Hand Authlib's answer back to the resource."""
        return int(status), body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals are used."""

    def _generate_token(
        self,
        grant_type: str,
        client: Client,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        server = isinstance(client, DataServerClient)
        ttl = (self.auth.data.token_ttl if server else self.auth.trading.token_ttl).seconds
        token: dict[str, Any] = {
            "access_token": self.tokens.generate(),
            "token_type": "Bearer",
            "expires_in": int(ttl),
        }
        if include_refresh_token:
            token["refresh_token"] = self.tokens.generate()
            token["refresh_token_expires_in"] = int(self.settings.refresh_token_ttl.seconds)
        if scope:
            token["scope"] = scope
        return token

    def save_token(self, token: dict[str, Any], request: GatewayRequest) -> None:
        """Store the access token (its grant, session and predecessor) and any refresh token."""
        client = request.client
        login = request.user.login
        code: CodeRecord | None = request.authorization_code
        previous: RefreshRecord | None = request.refresh_token
        source = code or previous
        grant_id = source.grant_id if source else (request.grant_id or new_grant_id())
        session_hash = source.session_hash if source else request.session_hash
        kind = "server" if isinstance(client, DataServerClient) else "oauth"
        self.tokens.issue(
            login,
            float(token["expires_in"]),
            kind,
            grant_id=grant_id,
            session_hash=session_hash,
            replaces=previous.access_hash if previous else None,
            token=token["access_token"],
        )
        if "refresh_token" in token:
            self.oauth_store.save_refresh(
                token["refresh_token"],
                grant_id=grant_id,
                client_id=client.client_id,
                login=login,
                scope=source.get_scope() if source else (request.scope or ""),
                session_hash=session_hash,
                access_hash=token_hash(token["access_token"]),
                ttl_seconds=self.settings.refresh_token_ttl.seconds,
            )
        log.info("issued %s token [client %s]", kind, client.client_id)
