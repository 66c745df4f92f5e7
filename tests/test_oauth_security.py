"""What the OAuth2 browser flows refuse: open redirects, bad state, replays, forgeries, CSRF."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
import webtest

from gateway.app import Gateway, build
from gateway.config import GatewayConfig
from gateway.config.types import Text
from gateway.store.tables import sessions, tokens
from tests.conftest import FakeClock, bearer
from tests.oauth_app import (
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_REDIRECT,
    REDIRECT,
    RETURN_TO,
    OAuthClientSim,
    oauth_settings,
    redirect_params,
    with_oauth,
)


def count(gateway: Gateway, table: sa.Table) -> int:
    with gateway.services.database.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# Redirect URIs and clients ----------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/oauth/callback",
        REDIRECT + "/../../evil",
        REDIRECT + "?next=https://evil.example",
        REDIRECT + "#x",
        REDIRECT.upper(),
        "https://www.tradingview.com.evil.example/oauth/callback",
        "//evil.example/oauth/callback",
        "javascript:alert(1)",
        "",
    ],
)
def test_a_redirect_uri_off_the_whitelist_is_never_followed(tv: OAuthClientSim, uri: str) -> None:
    for response_type in ("code", "token"):
        resp = tv.authorize(redirect_uri=uri, response_type=response_type)
        assert resp.status_int == 400
        assert "Location" not in resp.headers
        assert "This sign-in request cannot be completed" in resp.text
        assert "login-form" not in resp.text


def test_both_whitelisted_redirect_uris_work(tv: OAuthClientSim) -> None:
    for uri in (REDIRECT, OTHER_REDIRECT):
        page = tv.authorize(redirect_uri=uri)
        redirect = tv.submit(page)
        assert redirect.headers["Location"].startswith(uri + "?code=")


def test_an_unknown_client_gets_a_page_not_a_redirect(tv: OAuthClientSim) -> None:
    for client in ("nobody", "", "tv-data"):  # tv-data: a data-server client, no browser flow
        resp = tv.authorize(client_id=client)
        assert resp.status_int == 400
        assert "Location" not in resp.headers


def test_a_forged_redirect_uri_in_the_login_form_is_refused(
    tv: OAuthClientSim, oauth_gateway: Gateway
) -> None:
    page = tv.authorize()
    form = page.forms["login-form"]
    form["redirect_uri"] = "https://evil.example/cb"
    form["login"], form["password"] = "demo", "demo"
    resp = form.submit(expect_errors=True)
    assert resp.status_int == 400
    assert "Location" not in resp.headers
    assert count(oauth_gateway, sessions) == 0


def test_a_response_type_the_client_may_not_use_is_refused_by_redirect(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    settings = oauth_settings()
    code_only = dataclasses.replace(settings.clients[0], response_types=("code",))
    config = with_oauth(demo_config, clients=(code_only,))
    tv = OAuthClientSim(webtest.TestApp(build(config, clock=clock).app))
    resp = tv.authorize(response_type="token")
    assert redirect_params(resp)["error"] == "unauthorized_client"
    assert redirect_params(tv.authorize(response_type="id_token"))["error"] == (
        "unsupported_response_type"
    )


# State and scope ----------------------------------------------------------------------------


def test_state_is_echoed_byte_for_byte(tv: OAuthClientSim) -> None:
    for state in ("a", "x" * 2048, "ü€😀 &=?#/+%", '"><script>alert(1)</script>'):
        assert tv.login(state=state)["state"] == state


def test_a_request_without_state_gets_no_code(tv: OAuthClientSim) -> None:
    for state in (None, ""):
        params = redirect_params(tv.authorize(state=state))
        assert params["error"] == "invalid_request"
        assert "code" not in params and "access_token" not in params
    assert redirect_params(tv.authorize(state="x" * 2049))["error"] == "invalid_request"


def test_hostile_state_is_escaped_in_the_page(tv: OAuthClientSim) -> None:
    page = tv.authorize(state='"><script>alert(1)</script>')
    assert "<script>" not in page.text
    assert "&#34;&gt;&lt;script&gt;" in page.text


def test_scopes_outside_the_client_s_are_refused(tv: OAuthClientSim) -> None:
    resp = tv.authorize(scope="general admin")
    assert (
        redirect_params(resp)
        == {
            "error": "invalid_scope",
            "state": "st-1/+=&é",
        }
        or redirect_params(resp)["error"] == "invalid_scope"
    )
    assert tv.login(scope=None)["code"]


def test_duplicate_parameters_are_refused(tv: OAuthClientSim) -> None:
    resp = tv.app.get(
        "/oauth/authorize?response_type=code&client_id=tv-staging&state=a&state=b"
        f"&redirect_uri={REDIRECT}",
        expect_errors=True,
    )
    assert "code=" not in resp.headers.get("Location", "")


# Codes --------------------------------------------------------------------------------------


def test_a_code_works_once_and_its_reuse_revokes_what_it_gave(tv: OAuthClientSim) -> None:
    code = tv.login()["code"]
    first = tv.exchange(code)
    assert first.status_int == 200
    again = tv.exchange(code)
    assert again.status_int == 400
    assert again.json["error"] == "invalid_grant"
    token = first.json["access_token"]
    assert tv.app.get("/accounts", headers=bearer(token), expect_errors=True).status_int == 401
    assert tv.refresh(first.json["refresh_token"]).status_int == 400


def test_a_code_is_bound_to_its_redirect_uri_and_expires(
    tv: OAuthClientSim, clock: FakeClock
) -> None:
    code = tv.login()["code"]
    assert tv.exchange(code, redirect_uri=OTHER_REDIRECT).json["error"] == "invalid_grant"
    code = tv.login()["code"]
    clock.advance(61)
    assert tv.exchange(code).json["error"] == "invalid_grant"
    assert tv.exchange("made-up-code").json["error"] == "invalid_grant"
    assert tv.exchange("x" * 5000).json["error"] == "invalid_grant"


def test_a_wrong_client_secret_gets_no_token(tv: OAuthClientSim, oauth_gateway: Gateway) -> None:
    before = count(oauth_gateway, tokens)
    code = tv.login()["code"]
    for secret in ("wrong", "", CLIENT_SECRET + "x", CLIENT_SECRET.upper()):
        resp = tv.exchange(code, client_secret=secret)
        assert resp.status_int in (400, 401)
        assert resp.json["error"] in ("invalid_client", "invalid_request")
    resp = tv.exchange(code, client_id="tv-data")  # another client's id with this secret
    assert resp.status_int in (400, 401)
    assert count(oauth_gateway, tokens) == before
    # The code survived the failed attempts: the right secret still gets the token.
    assert tv.exchange(code).status_int == 200


def test_client_secret_in_basic_auth_works_too(tv: OAuthClientSim) -> None:
    code = tv.login()["code"]
    tv.app.authorization = ("Basic", (CLIENT_ID, CLIENT_SECRET))
    try:
        resp = tv.app.post(
            "/oauth/token",
            {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        )
    finally:
        tv.app.authorization = None
    assert resp.json["access_token"]


# Refresh tokens -----------------------------------------------------------------------------


def test_a_refresh_token_reused_after_rotation_revokes_the_grant(tv: OAuthClientSim) -> None:
    first = tv.code_tokens()
    second = tv.refresh(first["refresh_token"]).json
    replay = tv.refresh(first["refresh_token"])
    assert replay.status_int == 400
    assert replay.json["error"] == "invalid_grant"
    # Someone holds a stolen refresh token: everything of that grant is now dead.
    for token in (first["access_token"], second["access_token"]):
        resp = tv.app.get("/accounts", headers=bearer(token), expect_errors=True)
        assert resp.status_int == 401
    assert tv.refresh(second["refresh_token"]).status_int == 400


def test_refresh_needs_the_right_secret_and_expires(tv: OAuthClientSim, clock: FakeClock) -> None:
    first = tv.code_tokens()
    assert tv.refresh(first["refresh_token"], client_secret="wrong").status_int in (400, 401)
    assert tv.refresh("unknown-token").status_int in (400, 401)
    clock.advance(30 * 86400 + 1)
    expired = tv.refresh(first["refresh_token"])
    assert expired.status_int in (400, 401)


def test_refresh_with_client_id_and_secret_works(tv: OAuthClientSim) -> None:
    first = tv.code_tokens()
    resp = tv.refresh(first["refresh_token"], client_id=CLIENT_ID)
    assert resp.status_int == 200
    assert resp.json["refresh_token_expires_in"] == 30 * 86400


def test_unsupported_grant_types_and_bodies(tv: OAuthClientSim) -> None:
    resp = tv.token(grant_type="password", username="demo", password="demo")
    assert resp.json["error"] == "unsupported_grant_type"
    resp = tv.app.post("/oauth/token", "x" * 70000, expect_errors=True)
    assert resp.status_int == 400
    assert resp.json["error"] == "invalid_request"


# The login form -------------------------------------------------------------------------------


def test_the_login_form_refuses_a_post_without_its_csrf_token(
    tv: OAuthClientSim, oauth_gateway: Gateway
) -> None:
    page = tv.authorize()
    form = page.forms["login-form"]
    form["login"], form["password"] = "demo", "demo"
    fields = dict(form.submit_fields())
    # A cross-site POST: the attacker's page cannot read or set our cookie.
    stranger = webtest.TestApp(oauth_gateway.app)
    resp = stranger.post("/oauth/authorize", fields, expect_errors=True)
    assert resp.status_int == 403
    assert "Location" not in resp.headers
    assert "The sign-in form has expired" in resp.text
    # The right cookie with a forged field fails too.
    resp = tv.app.post("/oauth/authorize", {**fields, "csrf": "forged"}, expect_errors=True)
    assert resp.status_int == 403
    assert count(oauth_gateway, sessions) == 0


def test_wrong_passwords_show_a_localized_error_then_throttle(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    messages = dict(demo_config.messages)
    messages["invalid_credentials"] = Text(
        {"en": "Invalid login or password.", "de_DE": "Benutzername oder Passwort falsch."}
    )
    config = dataclasses.replace(
        with_oauth(demo_config), messages=type(demo_config.messages)(messages)
    )
    tv = OAuthClientSim(webtest.TestApp(build(config, clock=clock).app))
    page = tv.authorize(lang="de")
    assert 'lang="de"' in page.text
    assert "Benutzername" in page.text
    resp = tv.submit(page, password="wrong")
    assert resp.status_int == 200
    assert "Benutzername oder Passwort falsch." in resp.text
    assert 'role="alert"' in resp.text
    assert 'value="demo"' in resp.text  # the login is kept, the password is not
    for _ in range(4):
        resp = tv.submit(resp, password="wrong")
    resp = tv.submit(resp, password="demo")  # even the right one, while throttled
    assert resp.status_int == 429
    assert "Too many failed login attempts" in resp.text


def test_the_page_holds_only_a_login_form_and_a_sign_up_link(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    settings = oauth_settings()
    page_config = dataclasses.replace(
        settings.login_page, signup_url="https://broker.example/open-account"
    )
    config = with_oauth(demo_config, login_page=page_config)
    tv = OAuthClientSim(webtest.TestApp(build(config, clock=clock).app))
    page = tv.authorize()
    assert len(page.html.find_all("form")) == 1
    links = page.html.find_all("a")
    assert [a["href"] for a in links] == ["https://broker.example/open-account"]
    assert page.html.find_all("script") == []
    assert page.html.find_all("iframe") == []
    for field in ("login", "password"):
        assert page.html.find("label", attrs={"for": field}) is not None
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "form-action 'self' https://www.tradingview.com" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"


def test_prompt_login_shows_the_form_even_with_a_session(tv: OAuthClientSim) -> None:
    tv.login()
    page = tv.authorize(prompt="login")
    assert page.status_int == 200 and "login-form" in page.text
    silent = tv.authorize(prompt=None)  # no prompt, a live session: answered at once
    assert "code" in redirect_params(silent)
    bad = tv.authorize(prompt="none login")
    assert redirect_params(bad)["error"] == "invalid_request"


def test_a_session_ends_when_the_user_is_removed(
    demo_config: GatewayConfig, clock: FakeClock, tmp_path: object
) -> None:
    config = with_oauth(demo_config)
    app = webtest.TestApp(build(config, clock=clock).app)
    tv = OAuthClientSim(app)
    tv.login()
    # Same store, the user gone from the configuration: silent login must fail.
    gone = OAuthClientSim(
        webtest.TestApp(build(dataclasses.replace(config, users=()), clock=clock).app)
    )
    gone.app.cookiejar = app.cookiejar
    assert redirect_params(gone.authorize(prompt="none"))["error"] == "login_required"


def test_the_session_cookie_is_http_only_and_expires(tv: OAuthClientSim, clock: FakeClock) -> None:
    page = tv.authorize()
    redirect = tv.submit(page)
    cookie = next(
        v for k, v in redirect.headerlist if k.lower() == "set-cookie" and "gw_session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    clock.advance(12 * 3600 + 1)
    assert redirect_params(tv.authorize(prompt="none"))["error"] == "login_required"


# Logout -------------------------------------------------------------------------------------


def test_logout_redirects_only_to_whitelisted_return_uris(tv: OAuthClientSim) -> None:
    for target in ("https://evil.example/", RETURN_TO + "x", "//evil.example"):
        resp = tv.app.get(
            "/oauth/logout", {"client_id": CLIENT_ID, "returnTo": target}, expect_errors=True
        )
        assert resp.status_int == 400
        assert "Location" not in resp.headers
    resp = tv.app.get(
        "/oauth/logout", {"client_id": "nobody", "returnTo": RETURN_TO}, expect_errors=True
    )
    assert resp.status_int == 400
    resp = tv.app.get("/oauth/logout", {"client_id": CLIENT_ID})
    assert resp.status_int == 200
    assert "You are signed out." in resp.text


def test_bearer_logout_of_an_oauth_token_revokes_its_refresh_token(tv: OAuthClientSim) -> None:
    tokens_ = tv.code_tokens()
    assert tv.app.post("/logout", headers=bearer(tokens_["access_token"])).json == {"s": "ok"}
    assert tv.refresh(tokens_["refresh_token"]).status_int == 400


def test_a_code_not_yet_exchanged_dies_with_the_logout(tv: OAuthClientSim) -> None:
    code = tv.login()["code"]
    tv.app.get("/oauth/logout", {"client_id": CLIENT_ID, "returnTo": RETURN_TO})
    resp = tv.exchange(code)
    assert resp.status_int == 400
    assert resp.json["error"] == "invalid_grant"
