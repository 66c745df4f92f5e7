"""The 401 matrix: every protected endpoint × every way a token can be bad, in every auth mode.

The trading half runs the matrix in each way a trading token is minted: POST /authorize
(``password_bearer``), the Code flow and the Implicit flow (``oauth2``). The data half runs it
under ``server_oauth2`` with tokens of the JWT-assertion grant. Token kinds never cross halves.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal, Protocol

import pytest
import webtest

from gateway.app import build
from gateway.config import GatewayConfig
from gateway.conformance.schemas import assert_valid
from tests.conftest import TV_ORIGIN, FakeClock, bearer, login
from tests.oauth_app import OAuthClientSim, assertion, assertion_form, with_oauth

PROTECTED = [
    ("GET", "/config?locale=en"),
    ("GET", "/accounts?locale=en"),
    ("GET", "/accounts/DEMO-USD/instruments?locale=en"),
    ("GET", "/permissions"),
    ("POST", "/logout"),
]
PUBLIC = [("GET", "/mapping"), ("GET", "/groups")]
# Data endpoints that answer without a market-data feed: /history passes authentication and
# then says the feed is not configured (200, s error), which is enough to tell it from a 401.
DATA = [
    ("GET", "/groups"),
    ("GET", "/symbol_info?group=demo_forex"),
    ("GET", "/history?symbol=EURUSD&resolution=1&from=1799996400&to=1800000000"),
]
DATA_WITH_BODY = {"/groups", "/symbol_info?group=demo_forex"}
"""The data endpoints of DATA that answer ``s: ok`` without a feed."""

UNAUTHORIZED = {
    "s": "error",
    "errmsg": "Authorization required: the access token is missing, invalid or expired.",
}
PASSWORD_LOGIN_DISABLED = {
    "s": "error",
    "errmsg": "Password login is not available: this broker signs in through its login page.",
}
TTL = 15 * 60
"""The demo's trading token lifetime, and with_oauth's data token lifetime."""

Mint = Callable[[webtest.TestApp, FakeClock], str]
"""A fresh good token from the gateway behind the app."""


def password_token(app: webtest.TestApp, clock: FakeClock) -> str:
    """A token of POST /authorize."""
    return login(app)


def code_token(app: webtest.TestApp, clock: FakeClock) -> str:
    """A token of the Code flow: login page, redirect, code exchange."""
    token: str = OAuthClientSim(app).code_tokens()["access_token"]
    return token


def implicit_token(app: webtest.TestApp, clock: FakeClock) -> str:
    """A token of the Implicit flow: login page, token in the redirect's fragment."""
    return OAuthClientSim(app).login(response_type="token")["access_token"]


_ASSERTIONS = itertools.count()


def server_token(app: webtest.TestApp, clock: FakeClock) -> str:
    """A token of the JWT-assertion grant (each call signs a new assertion: no replay)."""
    jwt = assertion(now=clock.now, ttl_seconds=300.0 + next(_ASSERTIONS) % 1000)
    resp = app.post("/oauth/token", assertion_form(jwt))
    token: str = resp.json["access_token"]
    return token


class BadToken(Protocol):
    """Headers of a request whose token is bad (``mint``: how the bad kinds get a real one)."""

    def __call__(
        self, app: webtest.TestApp, clock: FakeClock, mint: Mint = ..., /
    ) -> dict[str, str]: ...


def _none(app: webtest.TestApp, clock: FakeClock, mint: Mint = password_token) -> dict[str, str]:
    return {}


def _basic(app: webtest.TestApp, clock: FakeClock, mint: Mint = password_token) -> dict[str, str]:
    return {"Authorization": "Basic ZGVtbzpkZW1v"}


def _empty_bearer(
    app: webtest.TestApp, clock: FakeClock, mint: Mint = password_token
) -> dict[str, str]:
    return {"Authorization": "Bearer "}


def _unknown(app: webtest.TestApp, clock: FakeClock, mint: Mint = password_token) -> dict[str, str]:
    return bearer("not-a-token-the-gateway-issued")


def _huge(app: webtest.TestApp, clock: FakeClock, mint: Mint = password_token) -> dict[str, str]:
    return bearer("x" * 5000)


def _expired(app: webtest.TestApp, clock: FakeClock, mint: Mint = password_token) -> dict[str, str]:
    token = mint(app, clock)
    clock.advance(TTL + 1)
    return bearer(token)


def _logged_out(
    app: webtest.TestApp, clock: FakeClock, mint: Mint = password_token
) -> dict[str, str]:
    token = mint(app, clock)
    assert app.post("/logout", headers=bearer(token)).json == {"s": "ok"}
    return bearer(token)


BAD_TOKENS: dict[str, BadToken] = {
    "missing": _none,
    "basic": _basic,
    "empty": _empty_bearer,
    "unknown": _unknown,
    "oversized": _huge,
    "expired": _expired,
    "logged_out": _logged_out,
}
# A data server's token has no logout: POST /logout is a trading endpoint and refuses it
# (tests/test_server_oauth.py shows that nothing a browser does revokes it).
DATA_BAD_TOKENS = [kind for kind in BAD_TOKENS if kind != "logged_out"]


@dataclasses.dataclass(frozen=True)
class Mode:
    """How a trading mode is configured and how its good tokens are minted."""

    configure: Callable[[GatewayConfig], GatewayConfig]
    mint: Mint


TRADING_MODES: dict[str, Mode] = {
    "password_bearer": Mode(lambda config: config, password_token),
    "oauth2_code": Mode(lambda config: with_oauth(config, data="none"), code_token),
    "oauth2_implicit": Mode(lambda config: with_oauth(config, data="none"), implicit_token),
}


@dataclasses.dataclass(frozen=True)
class Setup:
    """A running gateway in one mode, its clock and its way of minting good tokens."""

    config: GatewayConfig
    app: webtest.TestApp
    clock: FakeClock
    mint: Mint

    def token(self) -> str:
        """A fresh good token."""
        return self.mint(self.app, self.clock)

    def bad(self, kind: str) -> dict[str, str]:
        """Headers with a bad token of ``kind``."""
        return BAD_TOKENS[kind](self.app, self.clock, self.mint)


@contextmanager
def serving(config: GatewayConfig, clock: FakeClock) -> Iterator[webtest.TestApp]:
    """A started gateway for ``config``, closed afterwards."""
    gw = build(config, clock=clock)
    gw.start()
    try:
        yield webtest.TestApp(gw.app)
    finally:
        gw.close()


@pytest.fixture(params=list(TRADING_MODES))
def trading(
    request: pytest.FixtureRequest, demo_config: GatewayConfig, clock: FakeClock
) -> Iterator[Setup]:
    """The demo gateway in each trading mode (data open)."""
    mode = TRADING_MODES[request.param]
    config = mode.configure(demo_config)
    with serving(config, clock) as app:
        yield Setup(config, app, clock, mode.mint)


@pytest.fixture
def server_data(demo_config: GatewayConfig, clock: FakeClock) -> Iterator[Setup]:
    """The demo gateway with OAuth2 trading and JWT-assertion data (``server_oauth2``)."""
    config = with_oauth(demo_config, trading="oauth2", data="server_oauth2")
    with serving(config, clock) as app:
        yield Setup(config, app, clock, server_token)


def call(
    app: webtest.TestApp, method: str, url: str, headers: dict[str, str]
) -> webtest.TestResponse:
    return app.request(url, method=method, headers=headers, expect_errors=True)


def assert_unauthorized(resp: webtest.TestResponse, origin: str | None = None) -> None:
    assert resp.status_int == 401, resp.text
    assert resp.json == UNAUTHORIZED
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.headers.get("Access-Control-Allow-Origin") == origin


def assert_accepted(resp: webtest.TestResponse, url: str) -> None:
    assert resp.status_int == 200, resp.text
    assert "WWW-Authenticate" not in resp.headers
    assert resp.json != UNAUTHORIZED
    if url in DATA_WITH_BODY:
        assert resp.json["s"] == "ok", resp.json


# --- the trading half, in every trading mode ------------------------------------------------


@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize(("method", "url"), PROTECTED)
@pytest.mark.parametrize("origin", [None, TV_ORIGIN])
def test_bad_tokens_get_401_with_cors(
    trading: Setup, kind: str, method: str, url: str, origin: str | None
) -> None:
    headers = trading.bad(kind)
    if origin:
        headers["Origin"] = origin
    assert_unauthorized(call(trading.app, method, url, headers), origin)


def test_a_good_token_opens_every_protected_endpoint(trading: Setup) -> None:
    token = trading.token()
    for method, url in PROTECTED:
        if url == "/logout":
            continue
        resp = call(trading.app, method, url, bearer(token))
        assert resp.status_int == 200, (url, resp.text)
        assert resp.json["s"] == "ok", (url, resp.json)
    logout = call(trading.app, "POST", "/logout", bearer(token))
    assert logout.status_int == 200
    assert logout.json == {"s": "ok"}
    assert_unauthorized(call(trading.app, "GET", "/accounts", bearer(token)))


def test_a_good_token_lives_its_ttl_and_then_is_refused_everywhere(trading: Setup) -> None:
    token = trading.token()
    trading.clock.advance(TTL - 1)
    assert call(trading.app, "GET", "/accounts", bearer(token)).json["s"] == "ok"
    trading.clock.advance(2)
    for method, url in PROTECTED:
        assert_unauthorized(call(trading.app, method, url, bearer(token)))


def test_a_logout_revokes_only_its_own_token(trading: Setup) -> None:
    first, second = trading.token(), trading.token()
    assert first != second
    assert trading.app.post("/logout", headers=bearer(first)).json == {"s": "ok"}
    assert_unauthorized(call(trading.app, "GET", "/accounts", bearer(first)))
    assert trading.app.get("/accounts", headers=bearer(second)).json["s"] == "ok"


def test_a_token_of_a_user_removed_from_the_config_is_refused(trading: Setup) -> None:
    token = trading.token()
    # The same store, a configuration without the user: the token no longer names anyone.
    gone_config = dataclasses.replace(trading.config, users=())
    with serving(gone_config, trading.clock) as gone:
        assert_unauthorized(call(gone, "GET", "/accounts", bearer(token)))
    assert trading.app.get("/accounts", headers=bearer(token)).status_int == 200


@pytest.mark.parametrize(("method", "url"), PUBLIC)
def test_public_and_open_data_endpoints_need_no_token(
    trading: Setup, method: str, url: str
) -> None:
    assert trading.app.request(url, method=method).status_int == 200


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_open_data_endpoints_ignore_whatever_token_comes(trading: Setup, kind: str) -> None:
    headers = trading.bad(kind)
    for method, url in DATA:
        assert_accepted(call(trading.app, method, url, headers), url)


def test_logout_of_a_code_flow_token_revokes_its_refresh_token_too(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    with serving(with_oauth(demo_config, data="none"), clock) as app:
        tv = OAuthClientSim(app)
        tokens = tv.code_tokens()
        assert app.post("/logout", headers=bearer(tokens["access_token"])).json == {"s": "ok"}
        refreshed = tv.refresh(tokens["refresh_token"])
        assert refreshed.status_int == 400
        assert refreshed.json["error"] == "invalid_grant"
        assert_unauthorized(call(app, "GET", "/accounts", bearer(tokens["access_token"])))


# --- which mode mints which tokens ------------------------------------------------------------


@pytest.mark.parametrize("data", ["none", "server_oauth2"])
def test_an_oauth2_gateway_mints_no_password_tokens(
    demo_config: GatewayConfig, clock: FakeClock, data: Literal["none", "server_oauth2"]
) -> None:
    with serving(with_oauth(demo_config, trading="oauth2", data=data), clock) as app:
        resp = app.post("/authorize", {"login": "demo", "password": "demo"}, expect_errors=True)
        assert resp.status_int == 200
        assert resp.json == PASSWORD_LOGIN_DISABLED
        assert_valid("authorize", resp.json)


def test_an_oauth2_gateway_refuses_authorize_tokens_on_the_trading_half(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    # POST /authorize works here only because the data half uses password_bearer.
    with serving(with_oauth(demo_config, trading="oauth2", data="password_bearer"), clock) as app:
        token = login(app)
        for method, url in PROTECTED:
            assert_unauthorized(call(app, method, url, bearer(token)))
        assert app.get("/groups", headers=bearer(token)).json["s"] == "ok"
        assert app.get("/accounts", headers=bearer(code_token(app, clock))).json["s"] == "ok"


@pytest.mark.parametrize("mint", [code_token, implicit_token], ids=["code", "implicit"])
def test_a_password_bearer_gateway_refuses_oauth_tokens(
    demo_config: GatewayConfig, clock: FakeClock, mint: Mint
) -> None:
    config = with_oauth(demo_config, trading="password_bearer", data="none")
    with serving(config, clock) as app:
        token = mint(app, clock)
        for method, url in PROTECTED:
            assert_unauthorized(call(app, method, url, bearer(token)))
        assert app.get("/accounts", headers=bearer(login(app))).json["s"] == "ok"


# --- the data half ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_groups_need_a_token_when_data_auth_is_on(
    demo_config: GatewayConfig, clock: FakeClock, kind: str
) -> None:
    auth = dataclasses.replace(
        demo_config.auth, data=dataclasses.replace(demo_config.auth.data, mode="password_bearer")
    )
    with serving(dataclasses.replace(demo_config, auth=auth), clock) as app:
        headers = BAD_TOKENS[kind](app, clock)
        assert_unauthorized(app.get("/groups", headers=headers, expect_errors=True))
        good = app.get("/groups", headers=bearer(login(app)))
        assert good.json["s"] == "ok"


@pytest.mark.parametrize("kind", DATA_BAD_TOKENS)
@pytest.mark.parametrize(("method", "url"), DATA)
@pytest.mark.parametrize("origin", [None, TV_ORIGIN])
def test_server_oauth2_data_endpoints_refuse_bad_tokens_with_cors(
    server_data: Setup, kind: str, method: str, url: str, origin: str | None
) -> None:
    headers = server_data.bad(kind)
    if origin:
        headers["Origin"] = origin
    assert_unauthorized(call(server_data.app, method, url, headers), origin)


def test_a_server_token_opens_every_data_endpoint(server_data: Setup) -> None:
    token = server_data.token()
    for method, url in DATA:
        assert_accepted(call(server_data.app, method, url, bearer(token)), url)


def test_a_server_token_lives_its_ttl_and_then_is_refused_everywhere(server_data: Setup) -> None:
    token = server_data.token()
    server_data.clock.advance(TTL - 1)
    assert server_data.app.get("/groups", headers=bearer(token)).json["s"] == "ok"
    server_data.clock.advance(2)
    for method, url in DATA:
        assert_unauthorized(call(server_data.app, method, url, bearer(token)))


@pytest.mark.parametrize(
    ("trading_mode", "mint"),
    [
        ("oauth2", code_token),
        ("oauth2", implicit_token),
        ("password_bearer", password_token),
    ],
    ids=["code", "implicit", "password"],
)
def test_kinds_do_not_cross_halves(
    demo_config: GatewayConfig,
    clock: FakeClock,
    trading_mode: Literal["password_bearer", "oauth2"],
    mint: Mint,
) -> None:
    config = with_oauth(demo_config, trading=trading_mode, data="server_oauth2")
    with serving(config, clock) as app:
        user_token = mint(app, clock)
        data_token = server_token(app, clock)
        for method, url in DATA:
            assert_unauthorized(call(app, method, url, bearer(user_token)))
        for method, url in PROTECTED:
            assert_unauthorized(call(app, method, url, bearer(data_token)))
        # Each token is good on its own half.
        assert app.get("/accounts", headers=bearer(user_token)).json["s"] == "ok"
        assert app.get("/groups", headers=bearer(data_token)).json["s"] == "ok"
