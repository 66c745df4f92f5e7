"""POST /authorize and POST /logout: tokens, expiry, revocation, throttling, bad input."""

from __future__ import annotations

import dataclasses
import logging
import math

import pytest
import sqlalchemy as sa
import webtest

from gateway.app import Gateway, build
from gateway.auth.passwords import hash_password, verify_password
from gateway.config import GatewayConfig
from gateway.config.model import LoginThrottle, User
from gateway.config.types import Duration, Secret
from gateway.conformance.schemas import assert_valid
from gateway.store.tables import login_failures, tokens
from tests.conftest import FakeClock, bearer, login


def token_rows(gateway: Gateway) -> int:
    with gateway.services.database.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tokens)).scalar_one())


def test_authorize_returns_a_token_and_an_integer_expiration_in_the_future(
    client: webtest.TestApp, clock: FakeClock
) -> None:
    resp = client.post("/authorize", {"login": "demo", "password": "demo", "locale": "en"})
    assert resp.status_int == 200
    assert resp.content_type == "application/json"
    assert_valid("authorize", resp.json)
    assert resp.json["s"] == "ok"
    body = resp.json["d"]
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32
    assert isinstance(body["expiration"], int)
    assert body["expiration"] == math.floor(clock.now + 15 * 60)


def test_ten_calls_give_ten_different_tokens(client: webtest.TestApp) -> None:
    assert len({login(client) for _ in range(10)}) == 10


def test_the_token_opens_accounts(client: webtest.TestApp, token: str) -> None:
    resp = client.get("/accounts", {"locale": "en"}, headers=bearer(token))
    assert resp.json["s"] == "ok"


def test_token_expires_at_its_expiration(client: webtest.TestApp, clock: FakeClock) -> None:
    resp = client.post("/authorize", {"login": "demo", "password": "demo"})
    token, expiration = resp.json["d"]["access_token"], resp.json["d"]["expiration"]
    clock.now = expiration - 1
    assert client.get("/accounts", headers=bearer(token)).json["s"] == "ok"
    clock.now = expiration
    assert client.get("/accounts", headers=bearer(token), expect_errors=True).status_int == 401


def test_token_lifetime_comes_from_config(demo_config: GatewayConfig, clock: FakeClock) -> None:
    auth = dataclasses.replace(
        demo_config.auth,
        trading=dataclasses.replace(demo_config.auth.trading, token_ttl=Duration(3600)),
    )
    app = webtest.TestApp(build(dataclasses.replace(demo_config, auth=auth), clock=clock).app)
    resp = app.post("/authorize", {"login": "demo", "password": "demo"})
    assert resp.json["d"]["expiration"] == math.floor(clock.now + 3600)


def test_logout_revokes_only_that_token(client: webtest.TestApp) -> None:
    first, second = login(client), login(client)
    resp = client.post("/logout", headers=bearer(first))
    assert resp.json == {"s": "ok"}
    assert_valid("logout", resp.json)
    assert client.get("/accounts", headers=bearer(first), expect_errors=True).status_int == 401
    assert client.post("/logout", headers=bearer(first), expect_errors=True).status_int == 401
    assert client.get("/accounts", headers=bearer(second)).json["s"] == "ok"


def test_tokens_are_stored_hashed(client: webtest.TestApp, gateway: Gateway) -> None:
    token = login(client)
    with gateway.services.database.engine.connect() as conn:
        stored = [row.token_hash for row in conn.execute(sa.select(tokens.c.token_hash))]
    assert stored and token not in stored
    assert all(len(h) == 64 and token not in h for h in stored)


@pytest.mark.parametrize(
    ("form", "errmsg"),
    [
        ({}, "Missing required field: login."),
        ({"password": "demo"}, "Missing required field: login."),
        ({"login": "demo"}, "Missing required field: password."),
        ({"login": "", "password": "demo"}, "Missing required field: login."),
        ({"login": "demo", "password": ""}, "Missing required field: password."),
        (
            {"login": "x" * 256, "password": "demo"},
            "Invalid value for login: longer than 255 characters.",
        ),
        (
            {"login": "demo", "password": "p" * 1025},
            "Invalid value for password: longer than 1024 characters.",
        ),
        (
            {"login": "de\x00mo", "password": "demo"},
            "Invalid value for login: contains a NUL character.",
        ),
        ({"login": "demo", "password": "wrong"}, "Invalid login or password."),
        ({"login": "nobody", "password": "demo"}, "Invalid login or password."),
        ({"login": "' OR '1'='1' --", "password": "' OR '1'='1"}, "Invalid login or password."),
        ({"login": "demo; DROP TABLE gw_tokens;", "password": "x"}, "Invalid login or password."),
        ({"login": "{{ 7*7 }}", "password": "${jndi:ldap://x}"}, "Invalid login or password."),
        ({"login": "дэмо 🚀", "password": "пароль"}, "Invalid login or password."),
        ({"login": "DEMO", "password": "demo"}, "Invalid login or password."),
    ],
)
def test_bad_credentials_and_input_are_errors_without_a_token(
    client: webtest.TestApp, gateway: Gateway, form: dict[str, str], errmsg: str
) -> None:
    resp = client.post("/authorize", form)
    assert resp.status_int == 200
    assert resp.json == {"s": "error", "errmsg": errmsg}
    assert_valid("authorize", resp.json)
    assert token_rows(gateway) == 0


def test_error_messages_follow_the_locale_field(client: webtest.TestApp) -> None:
    resp = client.post("/authorize", {"login": "demo", "password": "bad", "locale": "de_DE"})
    assert resp.json["errmsg"] == "Ungültiger Benutzername oder ungültiges Passwort."
    resp = client.post("/authorize", {"login": "demo", "password": "bad", "locale": "xx_YY"})
    assert resp.json["errmsg"] == "Invalid login or password."
    # A locale without a translation falls back to English.
    resp = client.post("/authorize", {"login": "demo", "password": "bad", "locale": "ja"})
    assert resp.json["errmsg"] == "Invalid login or password."


def test_json_bodies_are_accepted(client: webtest.TestApp) -> None:
    resp = client.post_json("/authorize", {"login": "demo", "password": "demo"})
    assert resp.json["s"] == "ok"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "errmsg"),
    [
        (
            b"[1,2]",
            "application/json",
            200,
            "The request body could not be read: expected a JSON object.",
        ),
        (
            b"{not json",
            "application/json",
            200,
            "The request body could not be read: malformed JSON.",
        ),
        (
            b'{"login": ["a"], "password": "x"}',
            "application/json",
            200,
            "Invalid value for login: expected a single value.",
        ),
        (
            b"login=\xff\xfe&password=x",
            "application/x-www-form-urlencoded",
            200,
            "The request body could not be read: not UTF-8.",
        ),
        (
            b"<login>demo</login>",
            "application/xml",
            415,
            "Send the body as application/x-www-form-urlencoded.",
        ),
        (
            b"login=demo&password=" + b"x" * 70000,
            "application/x-www-form-urlencoded",
            413,
            "The request body is larger than 65536 bytes.",
        ),
    ],
)
def test_unreadable_bodies(
    client: webtest.TestApp,
    gateway: Gateway,
    body: bytes,
    content_type: str,
    status: int,
    errmsg: str,
) -> None:
    resp = client.post("/authorize", body, content_type=content_type, expect_errors=True)
    assert resp.status_int == status
    assert resp.json == {"s": "error", "errmsg": errmsg}
    assert token_rows(gateway) == 0


def _throttled_app(config: GatewayConfig, clock: FakeClock, **limits: int) -> webtest.TestApp:
    throttle = dataclasses.replace(LoginThrottle(), window=Duration(600), **limits)
    auth = dataclasses.replace(config.auth, login_throttle=throttle)
    return webtest.TestApp(build(dataclasses.replace(config, auth=auth), clock=clock).app)


def test_failed_logins_are_throttled_per_login(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    app = _throttled_app(demo_config, clock, max_failures_per_login=3)
    for _ in range(3):
        bad = app.post("/authorize", {"login": "demo", "password": "guess"})
        assert bad.json["errmsg"] == "Invalid login or password."
    # Even the right password is refused while throttled: guessing gains nothing.
    refused = app.post("/authorize", {"login": "demo", "password": "demo"})
    assert refused.json == {
        "s": "error",
        "errmsg": "Too many failed login attempts. Try again in 10 minutes.",
    }
    # From another address too: the limit is per login.
    other = app.post(
        "/authorize",
        {"login": "demo", "password": "demo"},
        extra_environ={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert other.json["s"] == "error"
    clock.advance(601)
    assert app.post("/authorize", {"login": "demo", "password": "demo"}).json["s"] == "ok"


def test_failed_logins_are_throttled_per_address(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    app = _throttled_app(demo_config, clock, max_failures_per_address=4)
    env = {"REMOTE_ADDR": "198.51.100.7"}
    for i in range(4):
        app.post("/authorize", {"login": f"user{i}", "password": "x"}, extra_environ=env)
    refused = app.post("/authorize", {"login": "demo", "password": "demo"}, extra_environ=env)
    assert refused.json["errmsg"].startswith("Too many failed login attempts.")
    elsewhere = app.post(
        "/authorize",
        {"login": "demo", "password": "demo"},
        extra_environ={"REMOTE_ADDR": "198.51.100.8"},
    )
    assert elsewhere.json["s"] == "ok"


def test_forwarded_for_is_believed_only_from_trusted_proxies(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    server = dataclasses.replace(demo_config.server, trusted_proxies=("10.0.0.0/8",))
    throttle = dataclasses.replace(LoginThrottle(), max_failures_per_address=2)
    auth = dataclasses.replace(demo_config.auth, login_throttle=throttle)
    app = webtest.TestApp(
        build(dataclasses.replace(demo_config, server=server, auth=auth), clock=clock).app
    )
    via_proxy = {"REMOTE_ADDR": "10.1.2.3"}
    for _ in range(2):
        app.post(
            "/authorize",
            {"login": "a", "password": "x"},
            extra_environ=via_proxy,
            headers={"X-Forwarded-For": "192.0.2.1"},
        )
    blocked = app.post(
        "/authorize",
        {"login": "demo", "password": "demo"},
        extra_environ=via_proxy,
        headers={"X-Forwarded-For": "192.0.2.1"},
    )
    assert blocked.json["s"] == "error"
    # Another client behind the same proxy is not affected...
    ok = app.post(
        "/authorize",
        {"login": "demo", "password": "demo"},
        extra_environ=via_proxy,
        headers={"X-Forwarded-For": "192.0.2.2"},
    )
    assert ok.json["s"] == "ok"
    # ...and a client that is not a trusted proxy cannot pick its address with the header.
    for _ in range(2):
        app.post(
            "/authorize",
            {"login": "b", "password": "x"},
            extra_environ={"REMOTE_ADDR": "192.0.2.50"},
            headers={"X-Forwarded-For": "192.0.2.3"},
        )
    spoofed = app.post(
        "/authorize",
        {"login": "demo", "password": "demo"},
        extra_environ={"REMOTE_ADDR": "192.0.2.50"},
        headers={"X-Forwarded-For": "192.0.2.4"},
    )
    assert spoofed.json["s"] == "error"


def test_a_success_clears_the_login_failures(demo_config: GatewayConfig, clock: FakeClock) -> None:
    app = _throttled_app(demo_config, clock, max_failures_per_login=3)
    for _ in range(2):
        app.post("/authorize", {"login": "demo", "password": "guess"})
    assert app.post("/authorize", {"login": "demo", "password": "demo"}).json["s"] == "ok"
    for _ in range(2):
        app.post("/authorize", {"login": "demo", "password": "guess"})
    assert app.post("/authorize", {"login": "demo", "password": "demo"}).json["s"] == "ok"


def test_throttle_counters_hold_no_logins_or_addresses(
    client: webtest.TestApp, gateway: Gateway
) -> None:
    client.post("/authorize", {"login": "someone@example.com", "password": "x"})
    with gateway.services.database.engine.connect() as conn:
        keys = [row.key for row in conn.execute(sa.select(login_failures.c.key))]
    assert len(keys) == 2
    assert not any("someone" in k or "127.0.0.1" in k for k in keys)


def test_passwords_and_tokens_never_reach_the_logs(
    demo_config: GatewayConfig, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    password = "Very-Secret-Pass-8812"
    user = User(
        login="alice", password_hash=Secret(hash_password(password)), accounts=("DEMO-USD",)
    )
    app = webtest.TestApp(build(dataclasses.replace(demo_config, users=(user,)), clock=clock).app)
    caplog.set_level(logging.DEBUG)
    app.post("/authorize", {"login": "alice", "password": password + "x"})
    app.post("/authorize", {"login": password, "password": password})
    token = app.post("/authorize", {"login": "alice", "password": password}).json["d"][
        "access_token"
    ]
    app.get("/accounts", headers=bearer(token))
    app.get("/accounts/NOPE/instruments", headers=bearer(token))
    app.post("/logout", headers=bearer(token))
    assert caplog.records, "the failed logins should have been logged"
    assert password not in caplog.text
    assert token not in caplog.text


@pytest.mark.parametrize(
    "stored",
    [
        "pbkdf2_sha256$0$salt$aGFzaA==",
        "pbkdf2_sha256$99999999999$salt$aGFzaA==",
        "pbkdf2_sha256$1000$salt$",
        "$argon2id$v=19$m=65536,t=3,p=4$sält$häsh",
    ],
)
def test_malformed_stored_hashes_refuse_instead_of_failing(stored: str) -> None:
    assert verify_password(stored, "password") is False
    assert verify_password("pbkdf2_sha256$1000$salt$aGFzaA==", "\ud800") is False
