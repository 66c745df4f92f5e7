"""The 401 matrix: every protected endpoint × every way a token can be bad."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
import webtest

from gateway.app import build
from gateway.config import GatewayConfig
from tests.conftest import TV_ORIGIN, FakeClock, bearer, login

PROTECTED = [
    ("GET", "/config?locale=en"),
    ("GET", "/accounts?locale=en"),
    ("GET", "/accounts/DEMO-USD/instruments?locale=en"),
    ("GET", "/permissions"),
    ("POST", "/logout"),
]
PUBLIC = [("GET", "/mapping"), ("GET", "/groups")]

BadToken = Callable[[webtest.TestApp, FakeClock], dict[str, str]]


def _none(app: webtest.TestApp, clock: FakeClock) -> dict[str, str]:
    return {}


def _basic(app: webtest.TestApp, clock: FakeClock) -> dict[str, str]:
    return {"Authorization": "Basic ZGVtbzpkZW1v"}


def _empty_bearer(app: webtest.TestApp, clock: FakeClock) -> dict[str, str]:
    return {"Authorization": "Bearer "}


def _unknown(app: webtest.TestApp, clock: FakeClock) -> dict[str, str]:
    return bearer("not-a-token-the-gateway-issued")


def _huge(app: webtest.TestApp, clock: FakeClock) -> dict[str, str]:
    return bearer("x" * 5000)


def _expired(app: webtest.TestApp, clock: FakeClock) -> dict[str, str]:
    token = login(app)
    clock.advance(15 * 60 + 1)
    return bearer(token)


def _logged_out(app: webtest.TestApp, clock: FakeClock) -> dict[str, str]:
    token = login(app)
    app.post("/logout", headers=bearer(token))
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


@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize(("method", "url"), PROTECTED)
@pytest.mark.parametrize("origin", [None, TV_ORIGIN])
def test_bad_tokens_get_401_with_cors(
    client: webtest.TestApp,
    clock: FakeClock,
    kind: str,
    method: str,
    url: str,
    origin: str | None,
) -> None:
    headers = BAD_TOKENS[kind](client, clock)
    if origin:
        headers["Origin"] = origin
    resp = client.request(url, method=method, headers=headers, expect_errors=True)
    assert resp.status_int == 401
    assert resp.json == {
        "s": "error",
        "errmsg": "Authorization required: the access token is missing, invalid or expired.",
    }
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.headers.get("Access-Control-Allow-Origin") == origin


@pytest.mark.parametrize(("method", "url"), PUBLIC)
def test_public_and_open_data_endpoints_need_no_token(
    client: webtest.TestApp, method: str, url: str
) -> None:
    assert client.request(url, method=method).status_int == 200


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_groups_need_a_token_when_data_auth_is_on(
    demo_config: GatewayConfig, clock: FakeClock, kind: str
) -> None:
    auth = dataclasses.replace(
        demo_config.auth, data=dataclasses.replace(demo_config.auth.data, mode="password_bearer")
    )
    app = webtest.TestApp(build(dataclasses.replace(demo_config, auth=auth), clock=clock).app)
    headers = BAD_TOKENS[kind](app, clock)
    assert app.get("/groups", headers=headers, expect_errors=True).status_int == 401
    good = app.get("/groups", headers=bearer(login(app)))
    assert good.json["s"] == "ok"


def test_a_token_of_a_user_removed_from_the_config_is_refused(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    app = webtest.TestApp(build(demo_config, clock=clock).app)
    token = login(app)
    # The same store, a configuration without the user: the token no longer names anyone.
    gone = webtest.TestApp(build(dataclasses.replace(demo_config, users=()), clock=clock).app)
    assert gone.get("/accounts", headers=bearer(token), expect_errors=True).status_int == 401
    assert app.get("/accounts", headers=bearer(token)).status_int == 200
