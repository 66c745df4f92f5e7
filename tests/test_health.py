"""``/healthz`` and ``/readyz``: what a load balancer and an operator read of a gateway."""

from __future__ import annotations

import dataclasses
from typing import Any

import webtest

from gateway.app import build
from gateway.config import GatewayConfig
from gateway.config.model import Server, Store
from gateway.config.types import Duration, Secret
from gateway.plugins.records import Quote
from tests.conftest import FakeClock
from tests.market_app import WEDNESDAY_15H
from tests.trading_app import desk, registry, trading_config


def ready(app: webtest.TestApp) -> tuple[int, dict[str, Any]]:
    resp = app.get("/readyz", expect_errors=True)
    assert resp.headers["Cache-Control"] == "no-store"
    return resp.status_int, resp.json


def with_market(config: GatewayConfig, **market: Any) -> GatewayConfig:
    return dataclasses.replace(config, market=dataclasses.replace(config.market, **market))


def test_healthz_answers_at_the_root_whatever_the_base_path(demo_config: GatewayConfig) -> None:
    config = dataclasses.replace(demo_config, server=Server(base_path="/api"))
    gateway = build(config, registry=registry())
    app = webtest.TestApp(gateway.app)
    resp = app.get("/healthz")
    assert (resp.status_int, resp.json) == (200, {"status": "ok"})
    assert resp.headers["Cache-Control"] == "no-store"
    assert app.get("/api/healthz", expect_errors=True).status_int == 404
    assert app.get("/readyz").json["status"] == "ready"  # no auth: a probe has no token
    gateway.close()


def test_a_working_gateway_is_ready_with_every_check_shown(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        status, body = ready(d.app)
    assert status == 200 and body["status"] == "ready"
    assert body["checks"] == {
        "store": {"ok": True, "detail": "answers"},
        "market": {"ok": True, "detail": "last tick 0.0 s ago"},
        "connector:paper": {"ok": True, "detail": "working orders"},
    }


def test_a_silent_feed_makes_it_not_ready_only_while_a_market_is_open(
    demo_config: GatewayConfig,
) -> None:
    config = with_market(trading_config(demo_config), max_tick_age=Duration(30))
    clock = FakeClock(WEDNESDAY_15H)
    gateway = build(config, clock=clock, registry=registry())
    gateway.start()
    try:
        app = webtest.TestApp(gateway.app)
        status, body = ready(app)
        assert status == 503  # BTCUSD trades around the clock: a tick is due
        assert body["checks"]["market"] == {
            "ok": False,
            "detail": "no tick yet (more than 30 s while a market is open)",
        }
        feed = gateway.services.connectors["feed"]
        feed.emit(Quote("BTCUSD", clock(), 60000.0, 1.0, 60001.0, 1.0))
        clock.advance(29)
        assert ready(app)[0] == 200
        clock.advance(2)
        status, body = ready(app)
        assert status == 503
        assert body["checks"]["market"]["detail"] == (
            "last tick 31.0 s ago (more than 30 s while a market is open)"
        )
        assert body["checks"]["store"]["ok"]  # the other checks still say what they see
    finally:
        gateway.close()


def test_an_unreachable_store_is_reported_without_its_url(demo_config: GatewayConfig) -> None:
    url = "postgresql+psycopg://gateway:s3cret@127.0.0.1:9/nowhere?connect_timeout=2"
    config = dataclasses.replace(demo_config, store=Store(Secret(url)))
    gateway = build(config, registry=registry(), listed=False)
    app = webtest.TestApp(gateway.app)
    status, body = ready(app)
    assert status == 503 and body["status"] == "not_ready"
    assert body["checks"]["store"] == {"ok": False, "detail": "the store does not answer"}
    assert "s3cret" not in app.get("/readyz", expect_errors=True).text
    assert app.get("/healthz").json == {"status": "ok"}  # alive all the same
    gateway.close()


def test_the_probes_take_no_input_and_reflect_none(demo_config: GatewayConfig) -> None:
    gateway = build(demo_config, registry=registry())
    app = webtest.TestApp(gateway.app)
    hostile = "/readyz?check=%3Cscript%3Ealert(1)%3C/script%3E&store=drop"
    resp = app.get(hostile)
    assert resp.json["status"] == "ready" and "script" not in resp.text
    assert set(resp.json["checks"]) == {"store"}  # no feed, no connector reports health
    for path in ("/healthz", "/readyz"):
        assert app.post(path, {"x": "1"}, expect_errors=True).status_int == 405
        assert app.delete(path, expect_errors=True).status_int == 405
    gateway.close()
