"""OAuth2 Code and Implicit flows over HTTP: login page, redirects, token exchange, refresh."""

from __future__ import annotations

from gateway.app import Gateway
from tests.conftest import FakeClock, bearer
from tests.oauth_app import (
    CLIENT_ID,
    REDIRECT,
    OAuthClientSim,
    redirect_params,
    redirect_target,
)


def test_code_flow_end_to_end(tv: OAuthClientSim, clock: FakeClock) -> None:
    page = tv.authorize()
    assert page.status_int == 200
    assert page.content_type == "text/html"
    assert "login-form" in page.text
    redirect = tv.submit(page)
    assert redirect_target(redirect) == REDIRECT
    params = redirect_params(redirect)
    assert params["state"] == "st-1/+=&é"
    assert set(params) == {"code", "state"}
    resp = tv.exchange(params["code"])
    assert resp.status_int == 200, resp.text
    body = resp.json
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token_expires_in"] == 30 * 86400
    assert resp.headers["Cache-Control"] == "no-store"
    accounts = tv.app.get("/accounts", headers=bearer(body["access_token"]))
    assert accounts.json["s"] == "ok"


def test_refresh_rotates_and_the_old_access_token_lives_until_the_new_one_is_used(
    tv: OAuthClientSim,
) -> None:
    first = tv.code_tokens()
    resp = tv.refresh(first["refresh_token"])
    assert resp.status_int == 200, resp.text
    second = resp.json
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    # TradingView refreshes asynchronously: the old token keeps working for now...
    assert tv.app.get("/accounts", headers=bearer(first["access_token"])).json["s"] == "ok"
    # ...until the new one is first used.
    assert tv.app.get("/accounts", headers=bearer(second["access_token"])).json["s"] == "ok"
    old = tv.app.get("/accounts", headers=bearer(first["access_token"]), expect_errors=True)
    assert old.status_int == 401


def test_implicit_flow_answers_in_the_fragment(tv: OAuthClientSim) -> None:
    page = tv.authorize(response_type="token")
    redirect = tv.submit(page)
    assert "#" in redirect.headers["Location"]
    params = redirect_params(redirect)
    assert params["state"] == "st-1/+=&é"
    assert params["expires_in"] == "900"
    assert "refresh_token" not in params
    resp = tv.app.get("/accounts", headers=bearer(params["access_token"]))
    assert resp.json["s"] == "ok"


def test_prompt_none_answers_from_the_session_or_with_login_required(
    tv: OAuthClientSim, oauth_gateway: Gateway
) -> None:
    silent = tv.authorize(prompt="none", response_type="token")
    assert redirect_params(silent) == {"error": "login_required", "state": "st-1/+=&é"}
    tv.login(response_type="token")
    silent = tv.authorize(prompt="none", response_type="token")
    params = redirect_params(silent)
    assert tv.app.get("/accounts", headers=bearer(params["access_token"])).json["s"] == "ok"


def test_logout_ends_the_session_revokes_its_tokens_and_returns(tv: OAuthClientSim) -> None:
    tokens = tv.code_tokens()
    resp = tv.app.get(
        "/oauth/logout",
        {
            "client_id": CLIENT_ID,
            "returnTo": "https://www.tradingview.com/trading/logout-redirect/",
        },
    )
    assert resp.status_int == 302
    assert resp.headers["Location"] == "https://www.tradingview.com/trading/logout-redirect/"
    gone = tv.app.get("/accounts", headers=bearer(tokens["access_token"]), expect_errors=True)
    assert gone.status_int == 401
    assert tv.refresh(tokens["refresh_token"]).status_int == 400
    silent = tv.authorize(prompt="none")
    assert redirect_params(silent)["error"] == "login_required"
