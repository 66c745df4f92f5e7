"""OAuth2 in a real browser: the demo's login page served by gunicorn, driven by Chromium.

tests/test_oauth_code_flow.py proves the protocol over WebTest; this module proves what only
a browser shows: the page is usable with the keyboard and without JavaScript, its labels name
its fields, the session cookie carries the silent refresh in TradingView's hidden iframe, the
Implicit flow's fragment reaches the client's page, and logout ends all of it.

The gateway is examples/demo/gateway-oauth.yaml (copied, with its own certificate and store)
whose client redirects to ClientSite (tests/browser.py), TradingView's stand-in.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from gateway.cli import main as gateway_cli
from tests.browser import (
    PNG_SIGNATURE,
    ClientSite,
    Hit,
    NewContext,
    browser_fixture,  # noqa: F401 (fixtures: pytest finds them in the module)
    client_site,
    new_context_fixture,  # noqa: F401
    page_fixture,  # noqa: F401
)
from tests.live_gateway import free_port, serve

if TYPE_CHECKING:
    # Annotations only: without playwright the browser fixture skips (fails under CI=true).
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"
CLIENT_ID = "demo-tradingview"
CLIENT_SECRET = "demo-secret"  # the demo's published test secret
SCREENSHOT_VIEWPORT = {"width": 480, "height": 720}
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class Rig:
    """The served demo (``base``, no trailing slash) and the client site it redirects to."""

    base: str
    site: ClientSite

    def authorize_url(self, state: str, **overrides: str) -> str:
        """An authorization request as TradingView's browser sends it (Code flow by default)."""
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": self.site.callback_url,
            "scope": "general",
            "state": state,
            "prompt": "login",
            "lang": "en",
        }
        params.update(overrides)
        return f"{self.base}/oauth/authorize?{urllib.parse.urlencode(params)}"

    def logout_url(self) -> str:
        query = urllib.parse.urlencode(
            {"client_id": CLIENT_ID, "returnTo": self.site.logout_return_url}
        )
        return f"{self.base}/oauth/logout?{query}"

    def token(self, **form: str) -> tuple[int, dict[str, Any]]:
        """POST the token endpoint as TradingView's server does: status and JSON body."""
        data = urllib.parse.urlencode(form).encode("ascii")
        request = urllib.request.Request(f"{self.base}/oauth/token", data=data, method="POST")
        return _json_call(request)

    def exchange(self, code: str) -> dict[str, Any]:
        status, body = self.token(
            grant_type="authorization_code",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            code=code,
            redirect_uri=self.site.callback_url,
        )
        assert status == 200, body
        return body

    def refresh(self, refresh_token: str) -> tuple[int, dict[str, Any]]:
        """TradingView's refresh: refresh token and client secret, no client_id."""
        return self.token(
            grant_type="refresh_token", refresh_token=refresh_token, client_secret=CLIENT_SECRET
        )

    def accounts(self, access_token: str) -> int:
        """The status of GET /accounts with this token (a 200 must be the spec's "ok")."""
        request = urllib.request.Request(
            f"{self.base}/accounts", headers={"Authorization": f"Bearer {access_token}"}
        )
        status, body = _json_call(request)
        if status == 200:
            assert body["s"] == "ok", body
        return status


def _json_call(request: urllib.request.Request) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status: int = resp.status
            raw = resp.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    body: dict[str, Any] = json.loads(raw) if raw else {}
    return status, body


def _demo_copy(target: Path, site: ClientSite, port: int) -> Path:
    """The OAuth demo in ``target``: own certificate, fresh SQLite store, URLs of this test."""
    shutil.copytree(
        DEMO, target, ignore=shutil.ignore_patterns("*.db", "*.db-*", "secrets"), dirs_exist_ok=True
    )
    made = gateway_cli(["test-certificate", str(target / "secrets"), "--name", "tradingview-demo"])
    assert made == 0
    config = target / "gateway-oauth.yaml"
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    document["store"]["url"] = f"sqlite:///{target / 'browser.db'}"
    oauth = document["auth"]["oauth"]
    oauth["public_url"] = f"http://127.0.0.1:{port}"
    (client,) = oauth["clients"]
    assert client["client_id"] == CLIENT_ID
    client["redirect_uris"] = [site.callback_url]
    client["logout_return_to"] = [site.logout_return_url]
    config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """One gateway for the module (gunicorn): the tests tell their callbacks apart by state."""
    with client_site() as site:
        port = free_port()
        config = _demo_copy(tmp_path_factory.mktemp("oauth-browser") / "demo", site, port)
        with serve(config, port=port) as live:
            yield Rig(f"http://127.0.0.1:{live.port}", site)


def _state(tag: str) -> str:
    """A state TradingView could send: must come back exactly, unicode and & = + / included."""
    return f"{tag} ü/+=&é ✓"


def _at_callback(rig: Rig) -> Callable[[str], bool]:
    """A ``wait_for_url`` predicate: the browser is on the client's callback page."""
    return lambda url: url.startswith(rig.site.callback_url)


def _callback(rig: Rig, state: str) -> Hit:
    """The Code flow's callback (the query, recorded by the server: no script needed)."""
    return rig.site.wait_for(lambda h: h["query"].get("state") == state)


def _fragment(rig: Rig, state: str) -> dict[str, str]:
    """The Implicit flow's answer, which the callback page's script reports."""
    hit = rig.site.wait_for(
        lambda h: h["fragment_reported"] and h["fragment"].get("state") == state
    )
    assert hit["query"] == {}, hit
    fragment: dict[str, str] = hit["fragment"]
    return fragment


def _open(page: Page, url: str) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    response = page.goto(url)
    assert response is not None and response.status == 200, url


def _sign_in(page: Page, rig: Rig) -> None:
    """Fill in the shown (English) login form, click its button, land on the callback."""
    page.get_by_label("Login", exact=True).fill("demo")
    page.get_by_label("Password", exact=True).fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(_at_callback(rig))


def _code_login(page: Page, rig: Rig, tag: str) -> dict[str, Any]:
    """A Code-flow login in ``page``'s context (it then holds the session): the tokens."""
    state = _state(tag)
    _open(page, rig.authorize_url(state))
    _sign_in(page, rig)
    return rig.exchange(_callback(rig, state)["query"]["code"])


def _silent(page: Page, rig: Rig, tag: str) -> dict[str, str]:
    """TradingView's silent refresh: prompt=none in a hidden iframe; the fragment it gets."""
    state = _state(tag)
    src = rig.authorize_url(state, response_type="token", prompt="none")
    _open(page, rig.site.silent_url(src))
    fragment = _fragment(rig, state)
    assert page.locator("iframe").is_hidden()
    return fragment


def test_code_flow_with_the_keyboard_then_exchange_and_refresh(page: Page, rig: Rig) -> None:
    state = _state("keyboard")
    _open(page, rig.authorize_url(state))
    # The labels name the fields (what a screen reader announces, and get_by_label finds)...
    assert page.get_by_label("Login", exact=True).get_attribute("id") == "login"
    assert page.get_by_label("Password", exact=True).get_attribute("id") == "password"
    # ...and the keyboard alone signs in: autofocus, type, Tab, type, Enter.
    assert page.evaluate("document.activeElement.id") == "login"
    page.keyboard.type("demo")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    page.wait_for_url(_at_callback(rig))

    hit = _callback(rig, state)
    assert hit["path"] == "/callback"
    assert set(hit["query"]) == {"code", "state"}
    assert hit["query"]["state"] == state

    first = rig.exchange(hit["query"]["code"])
    assert first["token_type"].lower() == "bearer"
    assert first["expires_in"] == 15 * 60
    assert first["refresh_token_expires_in"] == 30 * 86400
    assert rig.accounts(first["access_token"]) == 200

    status, second = rig.refresh(first["refresh_token"])
    assert status == 200, second
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    # The old access token lives on until the new one is first used.
    assert rig.accounts(first["access_token"]) == 200
    assert rig.accounts(second["access_token"]) == 200
    assert rig.accounts(first["access_token"]) == 401


def test_implicit_flow_shows_the_form_again_with_prompt_login(page: Page, rig: Rig) -> None:
    _code_login(page, rig, "before implicit")  # the context now holds a session
    state = _state("implicit")
    _open(page, rig.authorize_url(state, response_type="token"))
    # prompt=login: the form, although the session would answer at once.
    assert page.url.startswith(rig.base + "/oauth/authorize")
    assert page.locator("#login-form").is_visible()
    _sign_in(page, rig)

    fragment = _fragment(rig, state)
    assert set(fragment) == {"access_token", "token_type", "expires_in", "scope", "state"}
    assert fragment["state"] == state
    assert fragment["scope"] == "general"
    assert fragment["token_type"] == "Bearer"
    assert fragment["expires_in"] == str(15 * 60)
    assert rig.accounts(fragment["access_token"]) == 200


def test_silent_refresh_uses_the_session_and_without_one_asks_for_login(
    new_context: NewContext, rig: Rig
) -> None:
    page = new_context().new_page()
    _code_login(page, rig, "before silent")
    state = _state("implicit before silent")
    _open(page, rig.authorize_url(state, response_type="token"))
    _sign_in(page, rig)
    before = _fragment(rig, state)["access_token"]

    fresh = _silent(page, rig, "silent with session")
    assert set(fresh) == {"access_token", "token_type", "expires_in", "scope", "state"}
    assert fresh["state"] == _state("silent with session")
    assert fresh["access_token"] != before
    assert rig.accounts(fresh["access_token"]) == 200

    stranger = new_context().new_page()  # no cookie: no session
    answer = _silent(stranger, rig, "silent without session")
    assert answer == {"error": "login_required", "state": _state("silent without session")}


def test_the_code_flow_works_without_javascript(new_context: NewContext, rig: Rig) -> None:
    page = new_context(java_script_enabled=False).new_page()
    state = _state("no javascript")
    _open(page, rig.authorize_url(state))
    _sign_in(page, rig)
    hit = _callback(rig, state)
    assert set(hit["query"]) == {"code", "state"}
    assert rig.accounts(rig.exchange(hit["query"]["code"])["access_token"]) == 200
    # JavaScript really was off: the callback page's script never reported (the JS-enabled
    # tests above wait for exactly that report).
    time.sleep(0.5)
    assert not _callback(rig, state)["fragment_reported"]


def test_logout_ends_the_session_and_revokes_its_tokens(page: Page, rig: Rig) -> None:
    code_tokens = _code_login(page, rig, "before logout")
    implicit = _silent(page, rig, "silent before logout")
    assert rig.accounts(code_tokens["access_token"]) == 200
    assert rig.accounts(implicit["access_token"]) == 200

    page.goto(rig.logout_url())
    page.wait_for_url(rig.site.logout_return_url)
    assert page.inner_text("body") == "logged out"

    assert rig.accounts(code_tokens["access_token"]) == 401
    assert rig.accounts(implicit["access_token"]) == 401
    status, body = rig.refresh(code_tokens["refresh_token"])
    assert status == 400, body
    after = _silent(page, rig, "silent after logout")
    assert after == {"error": "login_required", "state": _state("silent after logout")}


@pytest.mark.parametrize(
    ("lang", "html_lang", "texts"),
    [
        ("en", "en", ("Sign in to trade on TradingView", "Login", "Password", "Sign in")),
        ("de", "de", ("Anmelden und auf TradingView handeln", "Benutzername", "Anmelden")),
    ],
    ids=["en", "de"],
)
def test_login_page_screenshots(
    new_context: NewContext,
    rig: Rig,
    tmp_path: Path,
    lang: str,
    html_lang: str,
    texts: tuple[str, ...],
) -> None:
    # The README's images were made with GATEWAY_SCREENSHOTS_DIR=docs/images.
    locale = {"en": "en-US", "de": "de-DE"}[lang]
    page = new_context(viewport=SCREENSHOT_VIEWPORT, locale=locale).new_page()
    _open(page, rig.authorize_url(_state(f"screenshot {lang}"), lang=lang))
    assert page.get_attribute("html", "lang") == html_lang
    text = page.inner_text("body")
    for expected in texts:
        assert expected in text, (expected, text)
    logo = page.locator("img.logo")
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0"), "logo not loaded"
    assert page.locator("p.signup a").count() == 1

    shot = tmp_path / f"login-{lang}.png"
    page.screenshot(path=shot, full_page=True)
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 1000
    published = os.environ.get("GATEWAY_SCREENSHOTS_DIR")
    if published:
        target = Path(published)
        target.mkdir(parents=True, exist_ok=True)
        (target / shot.name).write_bytes(data)


@pytest.mark.parametrize(
    ("lang", "labels", "message"),
    [
        ("en", ("Login", "Password", "Sign in"), "Invalid login or password."),
        (
            "de",
            ("Benutzername", "Passwort", "Anmelden"),
            # gateway.yaml's invalid_credentials (gateway-oauth.yaml merges its own keys in).
            "Ungültiger Benutzername oder ungültiges Passwort.",
        ),
    ],
    ids=["en", "de"],
)
def test_a_wrong_password_shows_the_error_in_the_page_language(
    page: Page, rig: Rig, lang: str, labels: tuple[str, str, str], message: str
) -> None:
    login_label, password_label, submit = labels
    state = _state(f"wrong password {lang}")
    _open(page, rig.authorize_url(state, lang=lang))
    page.get_by_label(login_label, exact=True).fill("demo")
    page.get_by_label(password_label, exact=True).fill("not the password")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=submit).click()
    response = navigation.value
    assert response is not None and response.status == 200
    assert response.url == rig.base + "/oauth/authorize"

    alert = page.get_by_role("alert")
    assert alert.inner_text() == message
    assert alert.get_attribute("id") == "form-error"
    fields = [
        page.get_by_label(login_label, exact=True),
        page.get_by_label(password_label, exact=True),
    ]
    for field in fields:
        assert field.get_attribute("aria-invalid") == "true"
        assert field.get_attribute("aria-describedby") == "form-error"
    assert page.evaluate("document.activeElement.id") == "login"  # back at the first field
    assert fields[0].input_value() == "demo"
    assert fields[1].input_value() == ""
    assert page.get_attribute("html", "lang") == lang

    # The form shown again still carries the request: the right password finishes it.
    fields[1].fill("demo")
    page.keyboard.press("Enter")
    page.wait_for_url(_at_callback(rig))
    assert set(_callback(rig, state)["query"]) == {"code", "state"}
