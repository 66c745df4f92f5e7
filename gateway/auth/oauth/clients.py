"""Configured OAuth clients as Authlib sees them (its ``ClientMixin`` contract)."""

from __future__ import annotations

from functools import cached_property

from gateway.auth.oauth.certificates import public_key_pem, thumbprint, verify_client_secret
from gateway.config.oauth import OAuthClient, ServerClient


class BrowserClient:
    """A TradingView environment using the Code and/or Implicit flow."""

    def __init__(self, config: OAuthClient) -> None:
        self.config = config
        self.client_id = config.client_id

    def get_client_id(self) -> str:
        """The client id."""
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """The only redirect URI, when there is exactly one."""
        uris = self.config.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scope when every part of it is allowed, else None (invalid_scope)."""
        wanted = (scope or "").split()
        if any(part not in self.config.scopes for part in wanted):
            return None
        return " ".join(wanted)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact match against the whitelist: no prefixes, no patterns (no open redirect)."""
        return redirect_uri in self.config.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare with the stored hash."""
        return verify_client_secret(self.config.client_secret_hash.reveal(), client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Secrets at the token endpoint.

        "none" is what Authlib's Implicit grant asks at the authorization endpoint, before it
        checks the response type (and answers unauthorized_client by redirect); no token
        endpoint grant accepts "none".
        """
        if method == "none":
            return endpoint == "token"
        return method in ("client_secret_basic", "client_secret_post", "refresh_token_secret")

    def check_response_type(self, response_type: str) -> bool:
        """Code and/or token, as configured."""
        return response_type in self.config.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        """Codes and refresh tokens for Code-flow clients."""
        if grant_type in ("authorization_code", "refresh_token"):
            return "code" in self.config.response_types
        return False


class DataServerClient:
    """TradingView's data servers, authenticating with a signed JWT (ServerOAuth2Bearer)."""

    def __init__(self, config: ServerClient) -> None:
        self.config = config
        self.client_id = config.client_id

    @cached_property
    def certificate_thumbprint(self) -> str:
        """The x5t an assertion's header must carry."""
        return thumbprint(self.config.certificate.reveal())

    @cached_property
    def public_key(self) -> str:
        """The PEM public key of the registered certificate."""
        return public_key_pem(self.config.certificate.reveal())

    def get_client_id(self) -> str:
        """The client id."""
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """None: no browser flow."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Any scope string is accepted and ignored: the token opens the data endpoints."""
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """No browser flow."""
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare with the stored hash."""
        return verify_client_secret(self.config.client_secret_hash.reveal(), client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """The secret, posted or in Basic auth."""
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        """No browser flow."""
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        """Only the configured URN."""
        return grant_type == self.config.grant_type


Client = BrowserClient | DataServerClient
