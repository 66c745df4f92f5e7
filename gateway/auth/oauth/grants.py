"""The grants TradingView uses, on Authlib's: code, implicit, refresh and the JWT assertion.

Authlib checks the protocol (parameters, client authentication, redirect URIs, scopes); these
subclasses store what it hands over in the shared store and add TradingView's rules: a refresh
token rotates on every use and a reused one revokes the grant; TradingView's refresh request
carries only the client secret; an assertion is RS256, names its certificate by ``x5t``, is
bound to the client's UserId and AppUrl, and is accepted once.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc7523 import JWTBearerGrant
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from gateway.auth.oauth.clients import BrowserClient, DataServerClient
from gateway.auth.oauth.storage import CodeRecord, RefreshRecord
from gateway.plugins.records import Principal

if TYPE_CHECKING:
    from gateway.auth.oauth.server import OAuthServer

log = logging.getLogger("gateway.auth")

MAX_ASSERTION_BYTES = 8192
# TradingView's assertions are short-lived; one valid for more than a day is refused because
# the replay guard would have to remember it that long.
MAX_ASSERTION_LIFETIME = 86400.0
# Clock skew tolerated between TradingView's servers and ours.
LEEWAY = 30.0


def _server(grant: Any) -> OAuthServer:
    server: OAuthServer = grant.server
    return server


class CodeGrant(grants.AuthorizationCodeGrant):
    """Authorization Code flow (RFC 6749 §4.1): the client secret posted or in Basic auth."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

    def save_authorization_code(self, code: str, request: Any) -> None:
        """Store the code with the grant and session it starts."""
        server = _server(self)
        server.oauth_store.save_code(
            code,
            grant_id=request.grant_id,
            client_id=request.client.client_id,
            login=request.user.login,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope or "",
            session_hash=request.session_hash,
            ttl_seconds=server.settings.code_ttl.seconds,
        )

    def query_authorization_code(self, code: str, client: Any) -> CodeRecord | None:
        """Claim the code: it works once (a reuse revokes its tokens)."""
        if len(code) > 512:
            return None
        return _server(self).oauth_store.claim_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Nothing left to do: claiming the code spent it."""

    def authenticate_user(self, authorization_code: CodeRecord) -> Principal | None:
        """The user, if they may still log in."""
        return _server(self).identity.lookup(authorization_code.login)


class TokenGrant(grants.ImplicitGrant):
    """Implicit flow (RFC 6749 §4.2), still used by older TradingView integrations."""


class RefreshGrant(grants.RefreshTokenGrant):
    """Refresh with rotation; TradingView's request authenticates with the secret alone."""

    INCLUDE_NEW_REFRESH_TOKEN = True
    TOKEN_ENDPOINT_AUTH_METHODS = [  # noqa: RUF012
        "client_secret_basic",
        "client_secret_post",
        "refresh_token_secret",
    ]

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshRecord | None:
        """Spend the refresh token (a spent one revokes its grant)."""
        if len(refresh_token) > 512:
            return None
        return _server(self).oauth_store.rotate_refresh(refresh_token)

    def authenticate_user(self, refresh_token: RefreshRecord) -> Principal | None:
        """The user, if they may still log in."""
        return _server(self).identity.lookup(refresh_token.login)

    def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
        """Nothing left to do: rotating spent it.

        The old access token lives on until the new one is first used (TokenStore.lookup).
        """


def refresh_token_secret(
    server: OAuthServer, query_client: Any, request: Any
) -> BrowserClient | None:
    """Client authentication of TradingView's refresh request: no client_id, only the secret.

    The client is the one the refresh token was issued to (spec §2.3, step 5).
    """
    form = request.form
    token, secret = form.get("refresh_token"), form.get("client_secret")
    if form.get("client_id") or not token or not secret or len(token) > 512:
        return None
    client_id = server.oauth_store.refresh_client(token)
    client = query_client(client_id) if client_id else None
    if isinstance(client, BrowserClient) and client.check_client_secret(secret):
        return client
    return None


class AssertionGrant(JWTBearerGrant):
    """ServerOAuth2Bearer: TradingView's data servers exchange a signed JWT for a token.

    Subclassed per configured ``grant_type`` URN (see :func:`assertion_grant`).
    """

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

    def validate_token_request(self) -> None:
        """Authenticate the client, then verify the assertion strictly."""
        client = self.authenticate_token_endpoint_client()
        if not isinstance(client, DataServerClient) or not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                f"The client is not authorized to use this grant_type: {self.GRANT_TYPE}"
            )
        assertion = self.request.form.get("assertion") or ""
        if not assertion:
            raise InvalidRequestError("Missing 'assertion' in request.")
        if len(assertion) > MAX_ASSERTION_BYTES:
            raise InvalidGrantError(description="The assertion is too large.")
        claims = self._verified_claims(assertion, client)
        # Remembered as long as it could be accepted: until exp plus the leeway.
        remember_until = float(claims["exp"]) + LEEWAY
        if not _server(self).oauth_store.first_use_of_assertion(assertion, remember_until):
            log.warning("JWT assertion replayed [client %s]", client.client_id)
            raise InvalidGrantError(description="This assertion was already used.")
        self.request.client = client
        self.request.user = Principal(client.config.subject, ())

    def _verified_claims(self, assertion: str, client: DataServerClient) -> dict[str, Any]:
        try:
            header = jws.extract_compact(assertion.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeEncodeError):
            raise InvalidGrantError(description="The assertion is not a signed JWT.") from None
        if header.get("alg") != "RS256":
            raise InvalidGrantError(description="The assertion must be signed with RS256.")
        if header.get("x5t") != client.certificate_thumbprint:
            raise InvalidGrantError(
                description="The assertion is not signed with the registered certificate (x5t)."
            )
        key = RSAKey.import_key(client.public_key)
        try:
            token = jwt.decode(assertion, key, algorithms=["RS256"])
        except (JoseError, ValueError):
            raise InvalidGrantError(description="The assertion's signature is invalid.") from None
        claims: dict[str, Any] = dict(token.claims)
        self._check_claims(claims, client)
        return claims

    def _check_claims(self, claims: dict[str, Any], client: DataServerClient) -> None:
        server = _server(self)
        config = client.config
        expected = {
            "iss": client.client_id,
            "sub": config.subject,
            "spurl": config.app_url,
        }
        for name, value in expected.items():
            if claims.get(name) != value:
                raise InvalidGrantError(description=f"The assertion's '{name}' is not accepted.")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if server.settings.token_url not in audiences:
            raise InvalidGrantError(description="The assertion's 'aud' is not this token URL.")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool) or not math.isfinite(exp):
            raise InvalidGrantError(description="The assertion has no valid 'exp'.")
        now = server.clock()
        if exp <= now - LEEWAY:
            raise InvalidGrantError(description="The assertion has expired.")
        if exp > now + MAX_ASSERTION_LIFETIME:
            raise InvalidGrantError(description="The assertion's 'exp' is too far ahead.")

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """The OAuth token response; with the /authorize envelope when configured."""
        status, token, headers = super().create_token_response()
        client = self.request.client
        if isinstance(client, DataServerClient) and client.config.authorize_response:
            expiration = int(_server(self).clock()) + int(token["expires_in"])
            token = {
                "s": "ok",
                "d": {"access_token": token["access_token"], "expiration": expiration},
                **token,
            }
        return status, token, headers


def assertion_grant(urn: str) -> type[AssertionGrant]:
    """The assertion grant for one configured ``grant_type`` URN."""
    return type("AssertionGrant", (AssertionGrant,), {"GRANT_TYPE": urn})
