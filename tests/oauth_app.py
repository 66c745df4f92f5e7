"""OAuth2 test rig: the demo with OAuth clients, and a client that speaks the flows over WebTest.

The browser tests (tests/test_oauth_browser.py) drive the same flows through Chromium; these
helpers drive them at the HTTP level, where every parameter can be forged.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import urllib.parse
from typing import Any, Literal

import webtest

from gateway.auth.oauth.certificates import (
    hash_client_secret,
    make_test_certificate,
    sign_assertion,
)
from gateway.config import GatewayConfig
from gateway.config.oauth import OAuth, OAuthClient, ServerClient
from gateway.config.types import Duration, Secret

PUBLIC_URL = "http://localhost:8080/api"
TOKEN_URL = PUBLIC_URL + "/oauth/token"
CLIENT_ID = "tv-staging"
CLIENT_SECRET = "staging-secret-0123456789abcdef0123456789abcdef"
REDIRECT = "https://www.tradingview.com/oauth/callback"
OTHER_REDIRECT = "https://staging.tradingview.com/oauth/callback"
RETURN_TO = "https://www.tradingview.com/trading/logout-redirect/"
SERVER_ID = "tv-data"
SERVER_SECRET = "data-secret-0123456789abcdef0123456789abcdef"
URN = "urn:demo-broker:oauth:grant-type:personal-jwt"
SUBJECT = "tradingview"
APP_URL = "https://www.tradingview.com"


@functools.cache
def certificate(name: str = "tradingview") -> tuple[str, str]:
    """A (private key, certificate) pair, made once per test run."""
    return make_test_certificate(name)


def oauth_settings(**changes: Any) -> OAuth:
    """One browser client (code and token) and one data-server client."""
    _key, cert = certificate()
    client = OAuthClient(
        client_id=CLIENT_ID,
        client_secret_hash=Secret(hash_client_secret(CLIENT_SECRET)),
        redirect_uris=(REDIRECT, OTHER_REDIRECT),
        logout_return_to=(RETURN_TO,),
        response_types=("code", "token"),
        scopes=("general",),
    )
    server = ServerClient(
        client_id=SERVER_ID,
        client_secret_hash=Secret(hash_client_secret(SERVER_SECRET)),
        certificate=Secret(cert),
        grant_type=URN,
        subject=SUBJECT,
        app_url=APP_URL,
    )
    settings = OAuth(public_url=PUBLIC_URL, clients=(client,), servers=(server,))
    return dataclasses.replace(settings, **changes)


def with_oauth(
    config: GatewayConfig,
    *,
    trading: Literal["password_bearer", "oauth2"] = "oauth2",
    data: Literal["none", "password_bearer", "server_oauth2"] = "server_oauth2",
    **changes: Any,
) -> GatewayConfig:
    """``config`` with OAuth2 for trading and JWT assertions for data (by default)."""
    auth = dataclasses.replace(
        config.auth,
        trading=dataclasses.replace(config.auth.trading, mode=trading),
        data=dataclasses.replace(config.auth.data, mode=data, token_ttl=Duration(900)),
        oauth=oauth_settings(**changes),
    )
    return dataclasses.replace(config, auth=auth)


def authorize_params(**overrides: str | None) -> dict[str, str]:
    """A Code-flow authorization request as TradingView sends it."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "general",
        "state": "st-1/+=&é",
        "prompt": "login",
        "lang": "en",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def redirect_params(resp: webtest.TestResponse) -> dict[str, str]:
    """The query (or, for the Implicit flow, fragment) parameters of a redirect."""
    assert resp.status_int == 302, resp.text[:500]
    parts = urllib.parse.urlsplit(resp.headers["Location"])
    raw = parts.fragment or parts.query
    return dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))


def redirect_target(resp: webtest.TestResponse) -> str:
    """The redirect's URL without query and fragment."""
    parts = urllib.parse.urlsplit(resp.headers["Location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class OAuthClientSim:
    """TradingView's side of the flows, over WebTest (cookies kept like a browser)."""

    def __init__(self, app: webtest.TestApp) -> None:
        self.app = app

    def authorize(self, **overrides: str | None) -> webtest.TestResponse:
        """GET the authorization endpoint."""
        return self.app.get("/oauth/authorize", authorize_params(**overrides), expect_errors=True)

    def submit(
        self, page: webtest.TestResponse, login: str = "demo", password: str = "demo"
    ) -> webtest.TestResponse:
        """Fill in and submit the login form of ``page``."""
        form = page.forms["login-form"]
        form["login"] = login
        form["password"] = password
        return form.submit(expect_errors=True)

    def login(self, **overrides: str | None) -> dict[str, str]:
        """The whole front channel: authorization request, login form, redirect parameters."""
        page = self.authorize(**overrides)
        assert page.status_int == 200, page.text[:500]
        return redirect_params(self.submit(page))

    def token(self, **form: str) -> webtest.TestResponse:
        """POST the token endpoint."""
        return self.app.post("/oauth/token", form, expect_errors=True)

    def exchange(self, code: str, **extra: str) -> webtest.TestResponse:
        """Exchange a code as TradingView's server does (client_secret in the form)."""
        form = {
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "code": code,
            "redirect_uri": REDIRECT,
        }
        form.update(extra)
        return self.token(**{k: v for k, v in form.items() if v is not None})

    def refresh(self, refresh_token: str, **extra: str) -> webtest.TestResponse:
        """Refresh as TradingView does: refresh token and client secret, no client_id."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_secret": CLIENT_SECRET,
        }
        form.update(extra)
        return self.token(**form)

    def code_tokens(self) -> dict[str, Any]:
        """Log in through the Code flow and exchange the code: the token response."""
        code = self.login()["code"]
        resp = self.exchange(code)
        assert resp.status_int == 200, resp.text
        body: dict[str, Any] = resp.json
        return body


def assertion(now: float | None = None, **claims: Any) -> str:
    """A JWT assertion as TradingView's data servers sign it (claims overridable)."""
    key, cert = certificate()
    values: dict[str, Any] = {
        "client_id": SERVER_ID,
        "subject": SUBJECT,
        "audience": TOKEN_URL,
        "app_url": APP_URL,
        "ttl_seconds": 300.0,
        "now": time.time() if now is None else now,
    }
    values.update(claims)
    return sign_assertion(key, cert, **values)


def assertion_form(jwt: str, **extra: str) -> dict[str, str]:
    """The token request of the data servers."""
    form = {
        "grant_type": URN,
        "assertion": jwt,
        "client_id": SERVER_ID,
        "client_secret": SERVER_SECRET,
    }
    form.update(extra)
    return form
