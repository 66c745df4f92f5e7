"""The JWT-assertion grant (ServerOAuth2Bearer): TradingView's data servers get data tokens.

Every refusal is checked for its OAuth error and for leaving no token behind; the tokens that
are issued open the data half only, expire after ``auth.data.token_ttl`` and are revoked by
nothing a browser does.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import webtest
from joserfc import jws
from joserfc.jwk import RSAKey

from gateway.app import Gateway, build
from gateway.auth.oauth.certificates import public_key_pem, sign_assertion, thumbprint
from gateway.config import GatewayConfig
from gateway.config.types import Duration
from gateway.conformance.schemas import assert_valid
from gateway.store.tables import tokens
from tests.conftest import FakeClock, bearer
from tests.oauth_app import (
    APP_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    RETURN_TO,
    SERVER_ID,
    SERVER_SECRET,
    SUBJECT,
    TOKEN_URL,
    OAuthClientSim,
    assertion,
    assertion_form,
    certificate,
    oauth_settings,
    with_oauth,
)

DATA_TTL = 900
"""with_oauth's ``auth.data.token_ttl``."""
UNAUTHORIZED = {
    "s": "error",
    "errmsg": "Authorization required: the access token is missing, invalid or expired.",
}

Headers = dict[str, str]
TokenRequest = tuple[dict[str, str], Headers]
"""The form and headers of one POST /oauth/token."""


# --- helpers ----------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def registered_header() -> dict[str, Any]:
    """The header TradingView puts on its assertions: RS256 and the registered x5t."""
    return {"alg": "RS256", "x5t": thumbprint(certificate()[1]), "typ": "JWT"}


def claims(clock: FakeClock, **changes: Any) -> dict[str, Any]:
    """Good claims at the app's time (``None`` leaves a claim out)."""
    now = int(clock.now)
    values: dict[str, Any] = {
        "iss": SERVER_ID,
        "sub": SUBJECT,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 300,
        "spurl": APP_URL,
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def signed(
    payload: dict[str, Any] | bytes,
    *,
    header: dict[str, Any] | None = None,
    key_pem: str | None = None,
) -> str:
    """An RS256 JWS of ``payload``, by the registered key unless told otherwise."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    key = RSAKey.import_key(key_pem or certificate()[0])
    hdr = registered_header() if header is None else header
    return jws.serialize_compact(hdr, raw, key, algorithms=["RS256"])


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    """A compact JWT put together by hand, with whatever signature part is given."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(payload).encode())
    return f"{head}.{body}.{signature}"


def hs256(secret: bytes, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A JWT MAC'd with HS256 under ``secret`` (the classic RS256/HS256 key confusion)."""
    signing_input = unsigned(header, payload)[:-1]
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def other_certificate_assertion(clock: FakeClock) -> str:
    """Correctly signed by another certificate's key, naming that certificate's x5t."""
    key, cert = certificate("other")
    return sign_assertion(
        key,
        cert,
        client_id=SERVER_ID,
        subject=SUBJECT,
        audience=TOKEN_URL,
        app_url=APP_URL,
        ttl_seconds=300.0,
        now=clock.now,
    )


def basic(client_id: str, secret: str) -> Headers:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def without(form: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in form.items() if k not in names}


def request_token(
    app: webtest.TestApp, form: dict[str, str], headers: Headers | None = None
) -> webtest.TestResponse:
    return app.post("/oauth/token", form, headers=headers or {}, expect_errors=True)


def issued(gw: Gateway, kind: str | None = None) -> int:
    """How many tokens the store holds (of ``kind``)."""
    query = sa.select(sa.func.count()).select_from(tokens)
    if kind is not None:
        query = query.where(tokens.c.kind == kind)
    with gw.services.database.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def assert_refused(
    resp: webtest.TestResponse, gw: Gateway, error: str, statuses: tuple[int, ...] = (400,)
) -> None:
    assert resp.status_int in statuses, resp.text
    assert resp.json["error"] == error, resp.json
    assert "access_token" not in resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    assert issued(gw) == 0


@pytest.fixture
def gw(demo_config: GatewayConfig, clock: FakeClock) -> Iterator[Gateway]:
    """The demo with OAuth2 trading and ``server_oauth2`` data."""
    gateway = build(with_oauth(demo_config), clock=clock)
    gateway.start()
    yield gateway
    gateway.close()


@pytest.fixture
def app(gw: Gateway) -> webtest.TestApp:
    return webtest.TestApp(gw.app)


def data_token(app: webtest.TestApp, clock: FakeClock, **claims_changes: Any) -> str:
    resp = request_token(app, assertion_form(assertion(now=clock.now, **claims_changes)))
    assert resp.status_int == 200, resp.text
    token: str = resp.json["access_token"]
    return token


# --- issuing ----------------------------------------------------------------------------------


def test_an_assertion_buys_a_data_token(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock
) -> None:
    resp = request_token(app, assertion_form(assertion(now=clock.now)))
    assert resp.status_int == 200, resp.text
    body = resp.json
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert isinstance(body["access_token"], str)
    assert len(body["access_token"]) >= 32
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == DATA_TTL
    assert "refresh_token" not in body
    assert resp.headers["Cache-Control"] == "no-store"
    assert issued(gw, "server") == issued(gw) == 1
    groups = app.get("/groups", headers=bearer(body["access_token"]))
    assert groups.json["s"] == "ok"
    assert groups.json["d"]["groups"]


def test_ten_assertions_buy_ten_different_tokens(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock
) -> None:
    got = []
    for _ in range(10):
        clock.advance(1)  # TradingView's assertions carry no jti: each second signs a new one
        got.append(data_token(app, clock))
    assert len(set(got)) == 10
    assert issued(gw, "server") == 10
    # A new token revokes none of the earlier ones.
    for token in got:
        assert app.get("/groups", headers=bearer(token)).json["s"] == "ok"


def test_authorize_response_adds_the_authorize_envelope(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    server = dataclasses.replace(oauth_settings().servers[0], authorize_response=True)
    config = with_oauth(demo_config, servers=(server,))
    gateway = build(config, clock=clock)
    try:
        app = webtest.TestApp(gateway.app)
        resp = request_token(app, assertion_form(assertion(now=clock.now)))
        assert resp.status_int == 200, resp.text
        body = resp.json
        assert body["s"] == "ok"
        d = body["d"]
        assert set(d) == {"access_token", "expiration"}
        assert_valid("authorize", {"s": body["s"], "d": d})
        assert d["access_token"] == body["access_token"]
        assert isinstance(d["expiration"], int)
        assert not isinstance(d["expiration"], bool)
        assert d["expiration"] > clock.now
        assert d["expiration"] == int(clock.now) + DATA_TTL
        # The OAuth fields are still there for OAuth clients.
        assert body["token_type"].lower() == "bearer"
        assert body["expires_in"] == DATA_TTL
        assert "refresh_token" not in body
        assert app.get("/groups", headers=bearer(d["access_token"])).json["s"] == "ok"
    finally:
        gateway.close()


def test_without_the_option_there_is_no_authorize_envelope(
    app: webtest.TestApp, clock: FakeClock
) -> None:
    body = request_token(app, assertion_form(assertion(now=clock.now))).json
    assert "s" not in body
    assert "d" not in body


ACCEPTED: dict[str, Callable[[FakeClock], TokenRequest]] = {
    "hand_signed": lambda clock: (assertion_form(signed(claims(clock))), {}),
    "exp_inside_the_leeway": lambda clock: (
        assertion_form(signed(claims(clock, exp=int(clock.now) - 29))),
        {},
    ),
    "exp_one_day_ahead": lambda clock: (
        assertion_form(signed(claims(clock, exp=int(clock.now) + 86400))),
        {},
    ),
    "aud_list_with_the_token_url": lambda clock: (
        assertion_form(signed(claims(clock, aud=["https://other.example/token", TOKEN_URL]))),
        {},
    ),
    "basic_client_auth": lambda clock: (
        without(assertion_form(assertion(now=clock.now)), "client_id", "client_secret"),
        basic(SERVER_ID, SERVER_SECRET),
    ),
}


@pytest.mark.parametrize("case", ACCEPTED)
def test_assertions_at_the_edges_are_accepted(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock, case: str
) -> None:
    form, headers = ACCEPTED[case](clock)
    resp = request_token(app, form, headers)
    assert resp.status_int == 200, resp.text
    assert issued(gw, "server") == 1
    assert app.get("/groups", headers=bearer(resp.json["access_token"])).json["s"] == "ok"


# --- refusals ---------------------------------------------------------------------------------


def _good(clock: FakeClock, **extra: str) -> TokenRequest:
    return assertion_form(assertion(now=clock.now), **extra), {}


def _jwt(make: Callable[[FakeClock], str]) -> Callable[[FakeClock], TokenRequest]:
    return lambda clock: (assertion_form(make(clock)), {})


def _forged(clock: FakeClock) -> str:
    # The registered certificate's x5t, another key's signature.
    return signed(claims(clock), key_pem=certificate("other")[0])


def _alg_none(clock: FakeClock) -> str:
    return unsigned({**registered_header(), "alg": "none"}, claims(clock))


def _alg_none_with_a_real_signature(clock: FakeClock) -> str:
    real = signed(claims(clock)).rsplit(".", 1)[1]
    return unsigned({**registered_header(), "alg": "none"}, claims(clock), real)


def _hs256_public_key(clock: FakeClock) -> str:
    secret = public_key_pem(certificate()[1]).encode("ascii")
    return hs256(secret, {**registered_header(), "alg": "HS256"}, claims(clock))


def _hs256_certificate(clock: FakeClock) -> str:
    secret = certificate()[1].encode("ascii")
    return hs256(secret, {**registered_header(), "alg": "HS256"}, claims(clock))


def _missing_x5t(clock: FakeClock) -> str:
    return signed(claims(clock), header={"alg": "RS256", "typ": "JWT"})


def _oversized(clock: FakeClock) -> str:
    # Well signed and otherwise valid: only its size is wrong.
    token = signed(claims(clock, padding="x" * 9 * 1024))
    assert len(token) > 9 * 1024
    return token


INVALID_GRANT: dict[str, Callable[[FakeClock], TokenRequest]] = {
    "forged_signature": _jwt(_forged),
    "expired": _jwt(lambda clock: assertion(now=clock.now - 400)),
    "expired_just_beyond_the_leeway": _jwt(
        lambda clock: signed(claims(clock, exp=int(clock.now) - 31))
    ),
    "alg_none": _jwt(_alg_none),
    "alg_none_with_a_real_signature": _jwt(_alg_none_with_a_real_signature),
    "hs256_with_the_public_key_as_secret": _jwt(_hs256_public_key),
    "hs256_with_the_certificate_as_secret": _jwt(_hs256_certificate),
    "wrong_certificate": _jwt(other_certificate_assertion),
    "missing_x5t": _jwt(_missing_x5t),
    "x5t_of_another_certificate": _jwt(
        lambda clock: signed(
            claims(clock),
            header={**registered_header(), "x5t": thumbprint(certificate("other")[1])},
        )
    ),
    "wrong_iss": _jwt(lambda clock: assertion(now=clock.now, client_id="tv-someone-else")),
    "iss_of_the_browser_client": _jwt(lambda clock: assertion(now=clock.now, client_id=CLIENT_ID)),
    "wrong_sub": _jwt(lambda clock: assertion(now=clock.now, subject="somebody")),
    "wrong_aud": _jwt(
        lambda clock: assertion(now=clock.now, audience="https://evil.example/api/oauth/token")
    ),
    "aud_with_a_trailing_slash": _jwt(
        lambda clock: assertion(now=clock.now, audience=TOKEN_URL + "/")
    ),
    "aud_list_without_the_token_url": _jwt(
        lambda clock: signed(claims(clock, aud=["https://evil.example/api/oauth/token"]))
    ),
    "wrong_spurl": _jwt(lambda clock: assertion(now=clock.now, app_url="https://evil.example")),
    "missing_iss": _jwt(lambda clock: signed(claims(clock, iss=None))),
    "missing_sub": _jwt(lambda clock: signed(claims(clock, sub=None))),
    "missing_aud": _jwt(lambda clock: signed(claims(clock, aud=None))),
    "missing_spurl": _jwt(lambda clock: signed(claims(clock, spurl=None))),
    "missing_exp": _jwt(lambda clock: signed(claims(clock, exp=None))),
    "exp_a_string": _jwt(lambda clock: signed(claims(clock, exp=str(int(clock.now) + 300)))),
    "exp_a_boolean": _jwt(lambda clock: signed(claims(clock, exp=True))),
    "exp_too_far_ahead": _jwt(lambda clock: assertion(now=clock.now, ttl_seconds=86400.0 + 60)),
    "exp_just_beyond_one_day": _jwt(
        lambda clock: signed(claims(clock, exp=int(clock.now) + 86401))
    ),
    "payload_not_json": _jwt(lambda clock: signed(b"not json")),
    "payload_a_json_list": _jwt(lambda clock: signed(b"[1, 2]")),
    "oversized": _jwt(_oversized),
    "oversized_junk": _jwt(lambda clock: "x" * 9 * 1024),
    "garbage_not_a_jwt": _jwt(lambda clock: "not.a.jwt"),
    "garbage_unicode": _jwt(lambda clock: "ünïcødé.€.✓"),
    "garbage_five_parts": _jwt(lambda clock: "a.b.c.d.e"),
    "garbage_dots": _jwt(lambda clock: "...."),
    "garbage_header_a_json_list": _jwt(
        lambda clock: f"{b64url(b'[]')}.{b64url(json.dumps(claims(clock)).encode())}.c2ln"
    ),
    "garbage_leading_space": _jwt(lambda clock: " " + assertion(now=clock.now)),
}


@pytest.mark.parametrize("case", INVALID_GRANT)
def test_bad_assertions_are_invalid_grant(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock, case: str
) -> None:
    form, headers = INVALID_GRANT[case](clock)
    assert_refused(request_token(app, form, headers), gw, "invalid_grant")


CLIENT_REFUSALS: dict[str, tuple[Callable[[FakeClock], TokenRequest], str]] = {
    "wrong_client_secret": (
        lambda clock: _good(clock, client_secret="data-secret-wrong"),
        "invalid_client",
    ),
    "browser_client_secret": (
        lambda clock: _good(clock, client_secret=CLIENT_SECRET),
        "invalid_client",
    ),
    "missing_client_secret": (
        lambda clock: (without(_good(clock)[0], "client_secret"), {}),
        "invalid_client",
    ),
    "unknown_client_id": (lambda clock: _good(clock, client_id="nobody"), "invalid_client"),
    "wrong_basic_secret": (
        lambda clock: (
            without(_good(clock)[0], "client_id", "client_secret"),
            basic(SERVER_ID, "data-secret-wrong"),
        ),
        "invalid_client",
    ),
    "browser_client_with_the_urn": (
        lambda clock: _good(clock, client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
        "unauthorized_client",
    ),
    "wrong_grant_type_urn": (
        lambda clock: _good(clock, grant_type="urn:other-broker:oauth:grant-type:personal-jwt"),
        "unsupported_grant_type",
    ),
    "grant_type_of_rfc7523": (
        lambda clock: _good(clock, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer"),
        "unsupported_grant_type",
    ),
    "missing_assertion": (
        lambda clock: (without(_good(clock)[0], "assertion"), {}),
        "invalid_request",
    ),
    "empty_assertion": (lambda clock: (assertion_form(""), {}), "invalid_request"),
    "assertion_with_a_nul": (
        lambda clock: (assertion_form("\x00.\x00.\x00"), {}),
        "invalid_request",
    ),
}


@pytest.mark.parametrize("case", CLIENT_REFUSALS)
def test_bad_token_requests_are_refused(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock, case: str
) -> None:
    build_request, error = CLIENT_REFUSALS[case]
    form, headers = build_request(clock)
    # invalid_client is 401 when the client tried HTTP authentication (RFC 6749 §5.2).
    statuses = (400, 401) if error == "invalid_client" else (400,)
    assert_refused(request_token(app, form, headers), gw, error, statuses)


def test_an_assertion_with_a_nan_exp_is_refused_for_its_exp(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock
) -> None:
    # json.loads reads NaN; NaN compares false both ways, so a range check alone lets it pass.
    jwt = signed(claims(clock, exp=float("nan")))
    resp = request_token(app, assertion_form(jwt))
    assert_refused(resp, gw, "invalid_grant")
    # Refused because the store cannot keep NaN (SQLite's NOT NULL) is luck, not a check.
    assert "exp" in resp.json["error_description"], resp.json


# --- replays ----------------------------------------------------------------------------------


def test_a_replayed_assertion_is_refused(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock
) -> None:
    jwt = assertion(now=clock.now)
    first = request_token(app, assertion_form(jwt))
    assert first.status_int == 200, first.text
    again = request_token(app, assertion_form(jwt))
    assert again.status_int == 400
    assert again.json["error"] == "invalid_grant"
    assert "access_token" not in again.json
    assert issued(gw, "server") == 1
    # The replay takes nothing from the first exchange.
    assert app.get("/groups", headers=bearer(first.json["access_token"])).json["s"] == "ok"


def test_a_replay_through_basic_auth_is_refused_too(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock
) -> None:
    jwt = assertion(now=clock.now)
    assert request_token(app, assertion_form(jwt)).status_int == 200
    form = without(assertion_form(jwt), "client_id", "client_secret")
    again = request_token(app, form, basic(SERVER_ID, SERVER_SECRET))
    assert again.status_int == 400
    assert again.json["error"] == "invalid_grant"
    assert issued(gw) == 1


def test_a_replay_with_a_re_encoded_signature_is_refused(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock
) -> None:
    jwt = assertion(now=clock.now)
    assert request_token(app, assertion_form(jwt)).status_int == 200
    # A 256-byte signature leaves 4 unused bits in its last base64url character: a lenient
    # decoder reads the next character as the same signature, and the string is new.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(jwt[-1])
    twin = jwt[:-1] + alphabet[last ^ 1]
    again = request_token(app, assertion_form(twin))
    assert again.status_int == 400
    assert again.json["error"] == "invalid_grant"
    assert issued(gw) == 1


def test_a_replay_inside_the_expiry_leeway_is_refused(
    app: webtest.TestApp, gw: Gateway, clock: FakeClock
) -> None:
    jwt = assertion(now=clock.now)  # exp = now + 300
    assert request_token(app, assertion_form(jwt)).status_int == 200
    # Past its exp but inside the 30 s leeway the grant still accepts the assertion: the
    # replay guard must still remember it.
    clock.advance(300 + 10)
    again = request_token(app, assertion_form(jwt))
    assert again.status_int == 400, again.text
    assert again.json["error"] == "invalid_grant"
    assert issued(gw, "server") == 1


# --- what a data token is good for and how long ------------------------------------------------


def test_the_data_token_expires_after_data_token_ttl(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    # A data lifetime unlike the trading one (900 s), to see which is applied.
    config = with_oauth(demo_config)
    auth = dataclasses.replace(
        config.auth, data=dataclasses.replace(config.auth.data, token_ttl=Duration(300))
    )
    gateway = build(dataclasses.replace(config, auth=auth), clock=clock)
    try:
        app = webtest.TestApp(gateway.app)
        resp = request_token(app, assertion_form(assertion(now=clock.now)))
        assert resp.json["expires_in"] == 300
        token = resp.json["access_token"]
        clock.advance(299)
        assert app.get("/groups", headers=bearer(token)).json["s"] == "ok"
        clock.advance(2)
        gone = app.get("/groups", headers=bearer(token), expect_errors=True)
        assert gone.status_int == 401
        assert gone.json == UNAUTHORIZED
    finally:
        gateway.close()


def test_a_data_token_outlives_everything_a_browser_does(
    app: webtest.TestApp, clock: FakeClock
) -> None:
    token = data_token(app, clock)
    tv = OAuthClientSim(app)
    # A user logs in with the Code flow and logs out through the API...
    user = tv.code_tokens()
    assert app.post("/logout", headers=bearer(user["access_token"])).json == {"s": "ok"}
    # ...logs in again with the Implicit flow and ends the session on the logout URI...
    implicit = tv.login(response_type="token")["access_token"]
    logout = app.get("/oauth/logout", {"client_id": CLIENT_ID, "returnTo": RETURN_TO})
    assert logout.status_int == 302
    gone = app.get("/accounts", headers=bearer(implicit), expect_errors=True)
    assert gone.status_int == 401
    # ...and the data token is not a token POST /logout takes at all.
    refused = app.post("/logout", headers=bearer(token), expect_errors=True)
    assert refused.status_int == 401
    assert refused.json == UNAUTHORIZED
    assert app.get("/groups", headers=bearer(token)).json["s"] == "ok"
    assert app.get("/symbol_info", headers=bearer(token)).json["s"] == "ok"


def test_a_data_token_opens_no_trading_endpoint(app: webtest.TestApp, clock: FakeClock) -> None:
    token = data_token(app, clock)
    for url in ("/accounts", "/config", "/permissions", "/accounts/DEMO-USD/instruments"):
        resp = app.get(url, headers=bearer(token), expect_errors=True)
        assert resp.status_int == 401, url
        assert resp.json == UNAUTHORIZED
