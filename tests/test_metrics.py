"""Prometheus metrics of one process (the multiprocess sums: tests/test_cluster_deployment.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import webtest

from gateway.app import Gateway, build
from gateway.config.model import GatewayConfig
from tests.conftest import DEMO, bearer, login


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` of an exposition text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        head, _, number = line.rpartition(" ")
        metric, brace, rest = head.partition("{")
        if metric != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest)) if brace else {}
        if found == labels:
            return float(number)
    return 0.0


def test_requests_are_timed_by_route_template_not_by_path(client: webtest.TestApp) -> None:
    token = login(client)
    for account in ("DEMO-USD", "DEMO-EUR"):
        client.get(f"/accounts/{account}/state", headers=bearer(token))
    client.get("/no/such/route", expect_errors=True)
    answer = client.get("/metrics")
    assert answer.content_type.startswith("text/plain")
    assert answer.headers["Cache-Control"] == "no-store"
    text = answer.text
    route = "/accounts/{account_id}/state"
    count = value(
        text, "gateway_request_duration_seconds_count", route=route, method="GET", status="200"
    )
    assert count == 2  # both accounts under one label
    assert "DEMO-USD" not in text and token not in text
    assert (
        value(
            text,
            "gateway_request_duration_seconds_count",
            route="unmatched",
            method="GET",
            status="404",
        )
        == 1
    )


def test_login_failures_are_counted_by_reason(client: webtest.TestApp) -> None:
    for _ in range(2):
        client.post("/authorize", {"login": "demo", "password": "wrong"})
    text = client.get("/metrics").text
    assert value(text, "gateway_login_failures_total", reason="invalid") == 2


def test_each_gateway_in_one_process_keeps_its_own_values(demo_config: GatewayConfig) -> None:
    # Without PROMETHEUS_MULTIPROC_DIR (an embedding application, the tests) registries are
    # per gateway: two gateways do not collide on metric names nor share counts.
    first, second = build(demo_config), build(demo_config)
    try:
        webtest.TestApp(first.app).post("/authorize", {"login": "demo", "password": "wrong"})
        assert value(webtest.TestApp(first.app).get("/metrics").text,
                     "gateway_login_failures_total", reason="invalid") == 1  # fmt: skip
        assert value(webtest.TestApp(second.app).get("/metrics").text,
                     "gateway_login_failures_total", reason="invalid") == 0  # fmt: skip
    finally:
        first.close()
        second.close()


def test_metrics_are_served_at_the_root_whatever_the_base_path(gateway: Gateway) -> None:
    client = webtest.TestApp(gateway.app)
    assert client.post("/metrics", expect_errors=True).status_int == 405
    assert "gateway_open_streams" in client.get("/metrics?x=<script>").text


def test_serve_leaves_no_metrics_directory_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    # gateway serve run in this process (gunicorn replaced by a stand-in that looks at what the
    # workers would inherit): the directory exists while serving, and is gone afterwards with
    # its variable, so that nothing after it runs in multiprocess mode by accident.
    from gateway import cli, serving

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    seen: list[Path] = []

    def run(self: serving.GatewayApplication) -> None:
        seen.append(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
        assert seen[0].is_dir()

    monkeypatch.setattr(serving.GatewayApplication, "run", run)
    assert cli.main(["serve", str(DEMO), "--bind", "127.0.0.1:1", "--workers", "1"]) == 0
    assert seen and not seen[0].exists()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
