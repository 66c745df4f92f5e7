"""The ``auth.oauth`` section: OAuth2 clients, TradingView's data servers and the login page.

One ``clients`` entry per TradingView environment (TradingView asks for a distinct id and secret
for each of its environment pairs); one ``servers`` entry per set of credentials TradingView's
data servers use for the JWT-assertion flow (ServerOAuth2Bearer).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from gateway.auth.oauth.certificates import certificate_problem
from gateway.config._convert import Check, option
from gateway.config.types import Duration, Secret, Text
from gateway.config.ui import non_empty

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_SECRET_HASH = re.compile(
    r"^(sha256\$[0-9a-f]{64}|\$argon2id?\$v=\d+\$m=\d+,t=\d+,p=\d+\$\S+|pbkdf2_sha256\$\d+\$\S+)$"
)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")


def url_problem(value: str) -> str | None:
    """Absolute https URLs only; plain http for this machine's own addresses (development)."""
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname
    except ValueError:
        return f"{value!r} is not a URL"
    local = parts.scheme == "http" and host in _LOCAL_HOSTS
    if not local and (parts.scheme != "https" or not host):
        return f"{value!r} must be an absolute https:// URL (http only for localhost)"
    if parts.fragment or "#" in value:
        return f"{value!r} must not contain a #fragment"
    if any(ch.isspace() for ch in value):
        return f"{value!r} must not contain spaces"
    return None


def _urls(values: tuple[str, ...]) -> str | None:
    for value in values:
        problem = url_problem(value)
        if problem:
            return problem
    return None


def _url(value: str) -> str | None:
    return url_problem(value)


def _public_url(value: str) -> str | None:
    problem = url_problem(value)
    if problem:
        return problem
    parts = urllib.parse.urlsplit(value)
    if parts.query or value.endswith("/"):
        return "must be the gateway's address with its base path, no query, no trailing '/'"
    return None


def _secret_hash(value: Secret) -> str | None:
    if not _SECRET_HASH.match(value.reveal()):
        return "not a client secret hash; create the client with `gateway oauth-client`"
    return None


def client_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a client id, or None."""
    if not _CLIENT_ID.match(value):
        return "must be 1 to 128 letters, digits or . _ ~ -"
    return None


def _certificate(value: Secret) -> str | None:
    return certificate_problem(value.reveal())


def urn_problem(value: str) -> str | None:
    """Why ``value`` cannot be a grant_type URN, or None."""
    if not re.match(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+$", value):
        return "must be a URN such as urn:acme:oauth:grant-type:personal-jwt"
    return None


def _colour(value: str) -> str | None:
    return None if _COLOUR.match(value) else "must be a colour written #rrggbb"


@dataclass(frozen=True)
class OAuthClient:
    """A TradingView environment that signs users in with the Code or the Implicit flow."""

    client_id: str = option(doc="The client id given to TradingView.", check=client_id_problem)
    client_secret_hash: Secret = option(
        doc="Hash of the client secret, from `gateway oauth-client` (the secret is never stored).",
        check=_secret_hash,
    )
    redirect_uris: tuple[str, ...] = option(
        doc="Redirect URIs TradingView gave for this environment, matched exactly.",
        check=lambda v: non_empty(v) or _urls(v),
    )
    logout_return_to: tuple[str, ...] = option(
        (),
        doc="returnTo URIs the logout endpoint may redirect to, matched exactly.",
        check=_urls,
    )
    response_types: tuple[Literal["code", "token"], ...] = option(
        ("code",),
        doc="code (Authorization Code flow, recommended) and/or token (Implicit flow).",
        check=non_empty,
    )
    scopes: tuple[str, ...] = option(
        (),
        doc="Scopes the client may ask for (TradingView sends the scope string you gave it); "
        "empty: no scope.",
    )


@dataclass(frozen=True)
class ServerClient:
    """Credentials of TradingView's data servers for the JWT-assertion flow."""

    client_id: str = option(doc="The client id (the assertion's iss).", check=client_id_problem)
    client_secret_hash: Secret = option(
        doc="Hash of the client secret, from `gateway server-client`.", check=_secret_hash
    )
    certificate: Secret = option(
        doc="The X.509 certificate (PEM) whose key signs the assertions, usually {$file: …}.",
        check=_certificate,
    )
    grant_type: str = option(doc="The grant_type URN given to TradingView.", check=urn_problem)
    subject: str = option(doc="The UserId given to TradingView (the assertion's sub).")
    app_url: str = option(doc="The AppUrl given to TradingView (the assertion's spurl).")
    authorize_response: bool = option(
        False,
        doc="Also answer in /authorize's shape ({s, d: {access_token, expiration}}) next to "
        "the OAuth fields, for TradingView's data autotests.",
    )


@dataclass(frozen=True)
class LoginColours:
    """Colours of the login page."""

    primary: str = option("#2962ff", doc="Button and link colour.", check=_colour)
    background: str = option("#f0f3fa", doc="Page background.", check=_colour)
    text: str = option("#131722", doc="Text colour.", check=_colour)


def _heading() -> Text:
    return Text({"en": "Sign in to trade on TradingView", "de_DE": "Anmelden und handeln"})


@dataclass(frozen=True)
class LoginPage:
    """The branded login page of the OAuth flows: nothing but login and a sign-up link."""

    title: Text | None = option(None, doc="Page title; default: the broker's name.")
    heading: Text = option(doc="Heading above the form.", factory=_heading)
    logo: str | None = option(
        None, doc="Logo image (PNG, JPEG, GIF, WebP or SVG), relative to this file."
    )
    colours: LoginColours = option(doc="Colours.", factory=LoginColours)
    login_label: Text = option(Text({"en": "Login", "de_DE": "Benutzername"}), doc="Login label.")
    login_placeholder: Text | None = option(
        None, doc="Placeholder of the login field (e.g. 'Account number')."
    )
    password_label: Text = option(
        Text({"en": "Password", "de_DE": "Passwort"}), doc="Password label."
    )
    password_placeholder: Text | None = option(None, doc="Placeholder of the password field.")
    submit: Text = option(Text({"en": "Sign in", "de_DE": "Anmelden"}), doc="Button text.")
    signup_url: str | None = option(None, doc="Where new customers open an account.", check=_url)
    signup_text: Text = option(
        Text({"en": "Open an account", "de_DE": "Konto eröffnen"}), doc="Sign-up link text."
    )


def _days(limit: float, shown: str, low: float = 60) -> Check:
    def check(value: Duration) -> str | None:
        if not low <= value.seconds <= limit:
            return f"must be between {Duration(low)} and {shown}"
        return None

    return check


@dataclass(frozen=True)
class OAuth:
    """OAuth2: the authorization server of the trading half and the data servers' clients."""

    public_url: str = option(
        doc="The gateway's address as browsers and TradingView reach it, with the base path "
        "(e.g. https://tv.broker.example/api); the token URL is this plus /oauth/token.",
        check=_public_url,
    )
    code_ttl: Duration = option(
        Duration(60),
        doc="Lifetime of an authorization code (single use).",
        check=_days(600, "10m", low=10),
    )
    refresh_token_ttl: Duration = option(
        Duration(30 * 86400),
        doc="Lifetime of a refresh token (each refresh rotates it).",
        check=_days(365 * 86400, "365d"),
    )
    session_ttl: Duration = option(
        Duration(12 * 3600),
        doc="How long the login page's session cookie lets prompt=none answer without a form.",
        check=_days(30 * 86400, "30d"),
    )
    clients: tuple[OAuthClient, ...] = option((), doc="TradingView environments (trading).")
    servers: tuple[ServerClient, ...] = option(
        (), doc="TradingView data servers (ServerOAuth2Bearer)."
    )
    login_page: LoginPage = option(doc="The branded login page.", factory=LoginPage)

    @property
    def token_url(self) -> str:
        """The token endpoint's public URL (the ``aud`` of assertions)."""
        return self.public_url + "/oauth/token"

    @property
    def secure(self) -> bool:
        """Served over TLS: cookies get Secure and SameSite=None."""
        return self.public_url.startswith("https://")

    def validate(self) -> Iterator[tuple[str, str]]:
        """Client ids are unique across both lists."""
        seen: set[str] = set()
        lists: tuple[tuple[str, tuple[OAuthClient | ServerClient, ...]], ...] = (
            ("clients", self.clients),
            ("servers", self.servers),
        )
        for kind, items in lists:
            for i, item in enumerate(items):
                if item.client_id in seen:
                    yield f"{kind}[{i}].client_id", f"duplicate client_id {item.client_id!r}"
                seen.add(item.client_id)
