"""The CORS matrix: allowed and refused origins × response statuses, and pre-flights."""

from __future__ import annotations

import dataclasses

import pytest
import webtest

from gateway.app import build
from gateway.config import GatewayConfig
from gateway.config.model import Store
from gateway.config.types import Secret
from tests.conftest import FakeClock, bearer, login

ALLOWED = [
    "https://www.tradingview.com",
    "https://tradingview.com.www.tradingview.com",
    "https://in.tradingview.com",
    "https://a.b.tradingview.com",
    "https://WWW.TradingView.com",
    "https://beta.xstaging.tv",
    "http://localhost:6285",
]
REFUSED = [
    "https://tradingview.com",
    "https://evil.com",
    "https://tradingview.com.evil.com",
    "https://www.tradingview.com.evil.com",
    "https://eviltradingview.com",
    "http://www.tradingview.com",
    "https://www.tradingview.com:8443",
    "http://localhost:6286",
    "null",
    "https://www.tradingview.com/path",
]


def _request(app: webtest.TestApp, status: str, origin: str) -> webtest.TestResponse:
    headers = {"Origin": origin}
    if status == "ok":
        return app.get("/mapping", headers=headers)
    if status == "error":
        resp = app.post("/authorize", {"login": "demo", "password": "nope"}, headers=headers)
        assert resp.json["s"] == "error"
        return resp
    if status == "401":
        return app.get("/accounts", headers=headers, expect_errors=True)
    if status == "404":
        return app.get("/no/such/path", headers=headers, expect_errors=True)
    assert status == "405"
    return app.delete("/mapping", headers=headers, expect_errors=True)


STATUSES = {"ok": 200, "error": 200, "401": 401, "404": 404, "405": 405}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("origin", ALLOWED)
def test_allowed_origins_are_echoed_exactly_on_every_status(
    client: webtest.TestApp, status: str, origin: str
) -> None:
    resp = _request(client, status, origin)
    assert resp.status_int == STATUSES[status]
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in resp.headers["Vary"]
    assert "symbols" in resp.json if status == "ok" else resp.json["s"] == "error"


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("origin", REFUSED)
def test_other_origins_get_no_cors_header(
    client: webtest.TestApp, status: str, origin: str
) -> None:
    resp = _request(client, status, origin)
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert "Origin" in resp.headers["Vary"]


def test_server_errors_carry_cors_and_no_traceback(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    broken = dataclasses.replace(
        demo_config, store=Store(url=Secret("sqlite:////nonexistent-dir/x/store.db"))
    )
    app = webtest.TestApp(build(broken, clock=clock).app)
    resp = app.post(
        "/authorize",
        {"login": "demo", "password": "demo"},
        headers={"Origin": "https://www.tradingview.com", "X-Request-Id": "req-12345678"},
        expect_errors=True,
    )
    assert resp.status_int == 500
    assert resp.json == {
        "s": "error",
        "errmsg": "Something went wrong on the broker's server. Please try again.",
    }
    assert resp.headers["Access-Control-Allow-Origin"] == "https://www.tradingview.com"
    assert resp.headers["X-Request-Id"] == "req-12345678"


@pytest.mark.parametrize(
    "path", ["/accounts", "/accounts/DEMO-USD/instruments", "/authorize", "/logout", "/unknown"]
)
def test_preflight_allows_authorization(client: webtest.TestApp, path: str) -> None:
    resp = client.options(
        path,
        headers={
            "Origin": "https://www.tradingview.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, x-custom-thing",
        },
    )
    assert resp.status_int == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "https://www.tradingview.com"
    allowed = [h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")]
    assert "authorization" in allowed and "x-custom-thing" in allowed
    assert set(resp.headers["Access-Control-Allow-Methods"].replace(" ", "").split(",")) >= {
        "GET",
        "POST",
        "PUT",
        "DELETE",
    }
    assert resp.headers["Access-Control-Max-Age"] == "7200"


def test_preflight_from_a_refused_origin_allows_nothing(client: webtest.TestApp) -> None:
    resp = client.options(
        "/accounts", headers={"Origin": "https://evil.com", "Access-Control-Request-Method": "GET"}
    )
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert "Access-Control-Allow-Headers" not in resp.headers


def test_preflight_ignores_malformed_header_names(client: webtest.TestApp) -> None:
    resp = client.options(
        "/accounts",
        headers={
            "Origin": "https://www.tradingview.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, bad header\t, (x)",
        },
    )
    assert resp.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"


def test_origins_and_max_age_come_from_config(demo_config: GatewayConfig, clock: FakeClock) -> None:
    from gateway.config.types import Duration, OriginPattern

    server = dataclasses.replace(
        demo_config.server,
        cors_origins=(OriginPattern("https://*.broker.example"),),
        cors_max_age=Duration(600),
    )
    app = webtest.TestApp(build(dataclasses.replace(demo_config, server=server), clock=clock).app)
    token = login(app)
    resp = app.get("/accounts", headers={**bearer(token), "Origin": "https://app.broker.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.broker.example"
    resp = app.get("/accounts", headers={**bearer(token), "Origin": "https://www.tradingview.com"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    pre = app.options(
        "/accounts",
        headers={"Origin": "https://app.broker.example", "Access-Control-Request-Method": "GET"},
    )
    assert pre.headers["Access-Control-Max-Age"] == "600"
