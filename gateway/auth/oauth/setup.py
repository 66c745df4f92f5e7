"""Wiring of OAuth2 from the configuration: server, store, login page and logo."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.oauth.login_page import LoginPageRenderer
from gateway.auth.oauth.server import OAuthServer
from gateway.auth.oauth.storage import OAuthStore
from gateway.auth.tokens import Clock, TokenStore
from gateway.config.checks import LOGO_TYPES
from gateway.config.model import GatewayConfig
from gateway.config.oauth import OAuth
from gateway.plugins.roles import Identity
from gateway.store.database import Database

AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
LOGOUT_PATH = "/oauth/logout"
LOGO_PATH = "/oauth/logo"


@dataclass(frozen=True)
class Logo:
    """The login page's logo, read once at startup."""

    body: bytes
    content_type: str


@dataclass
class OAuthRuntime:
    """What the OAuth resources share."""

    settings: OAuth
    server: OAuthServer
    store: OAuthStore
    page: LoginPageRenderer
    logo: Logo | None

    @property
    def session_cookie(self) -> str:
        """The session cookie's name (``__Host-`` pins it to this host over TLS)."""
        return "__Host-gw_session" if self.settings.secure else "gw_session"

    @property
    def csrf_cookie(self) -> str:
        """The login form's CSRF cookie's name."""
        return "__Host-gw_csrf" if self.settings.secure else "gw_csrf"


def build_oauth(
    config: GatewayConfig,
    database: Database,
    tokens: TokenStore,
    identity: Identity,
    clock: Clock,
) -> OAuthRuntime | None:
    """The OAuth runtime, when the configuration has an ``auth.oauth`` section."""
    settings = config.auth.oauth
    if settings is None:
        return None
    store = OAuthStore(database, clock)
    server = OAuthServer(config.auth, settings, tokens, store, identity, clock)
    logo = None
    if settings.login_page.logo:
        path = config.base_dir / settings.login_page.logo
        logo = Logo(path.read_bytes(), LOGO_TYPES[path.suffix.lower()])
    logo_url = config.server.base_path + LOGO_PATH if logo else None
    page = LoginPageRenderer(config.broker.name, settings.login_page, logo_url)
    return OAuthRuntime(settings, server, store, page, logo)
