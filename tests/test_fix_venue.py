"""``gateway fix-venue``: the demo's paper venue behind a FIX acceptor, and the gateway on it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import webtest

from connectors.fix.venue import VenueServer
from gateway.app import Gateway, build
from gateway.config import GatewayConfig
from gateway.config.loader import load_config
from gateway.config.types import Secret
from tests.fix_app import eventually, fix_config, free_port, registry
from tests.fix_counterparty import counterparty
from tests.live_gateway import copy_demo, serve
from tests.stream_client import StreamClient

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR_PASSWORD = "s3cret"


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[int]:
    config = copy_demo(ROOT / "examples" / "demo", tmp_path)
    port = free_port()
    log = tmp_path / "venue.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "fix-venue", str(config),
             "--listen", f"127.0.0.1:{port}"],
            stdout=sink, stderr=subprocess.STDOUT,
            env=os.environ | {"FIX_PASSWORD": SIMULATOR_PASSWORD},
        )  # fmt: skip
    try:
        eventually(lambda: b"fix-venue: accepting" in log.read_bytes() or proc.poll() is not None)
        assert proc.poll() is None, log.read_text()
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[int]:
    """The simulator in this process, on a copy of the demo (replayed quotes, paper venue)."""
    config = load_config(copy_demo(ROOT / "examples" / "demo", tmp_path / "venue"))
    server = VenueServer(config, ("127.0.0.1", 0), password="s3cret")
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


@contextmanager
def on_simulator(
    demo_config: GatewayConfig, port: int, **changes: Any
) -> Iterator[tuple[Gateway, webtest.TestApp, dict[str, str]]]:
    """The demo gateway logged on to the simulator; its WebTest app and a user's headers."""
    config = fix_config(demo_config, port, password=Secret("s3cret"), symbols={}, **changes)
    gateway = build(config, registry=registry())
    gateway.start()
    try:
        connector = gateway.services.connectors["upstream"]
        eventually(lambda: connector.logged_on, timeout=30)
        app = webtest.TestApp(gateway.app)
        token = app.post("/authorize", {"login": "demo", "password": "demo"}).json["d"]
        yield gateway, app, {"Authorization": f"Bearer {token['access_token']}"}
    finally:
        gateway.close()


def test_the_gateway_trades_and_streams_through_the_simulator(
    demo_config: GatewayConfig, in_process: int
) -> None:
    with on_simulator(demo_config, in_process) as (gateway, app, headers):
        market = gateway.services.market
        assert market is not None
        eventually(lambda: market.quotes.get("BTCUSD").quote is not None, timeout=30)
        quotes = app.get("/quotes?accountId=DEMO-USD&symbols=BTCUSD", headers=headers).json
        assert quotes["s"] == "ok" and quotes["d"][0]["v"]["ask"] > 0
        form = {"instrument": "BTCUSD", "qty": "0.01", "side": "buy", "type": "market",
                "currentAsk": "1", "currentBid": "1"}  # fmt: skip
        placed = app.post("/accounts/DEMO-USD/orders", form, headers=headers).json
        assert placed["s"] == "ok", placed
        order_id = placed["d"]["orderId"]

        def filled() -> bool:
            orders = app.get("/accounts/DEMO-USD/orders", headers=headers).json["d"]
            return any(o["id"] == order_id and o["status"] == "filled" for o in orders)

        eventually(filled)


def test_native_brackets_to_an_upstream_without_lists_are_refused_with_its_reason(
    demo_config: GatewayConfig, in_process: int
) -> None:
    """The simulator works no NewOrderList: the order is rejected, nothing half-placed."""
    with on_simulator(demo_config, in_process, brackets="native") as (_, app, headers):
        form = {"instrument": "BTCUSD", "qty": "0.01", "side": "buy", "type": "limit",
                "limitPrice": "1000", "takeProfit": "2000", "currentAsk": "1",
                "currentBid": "1"}  # fmt: skip
        placed = app.post("/accounts/DEMO-USD/orders", form, headers=headers).json
        assert placed["s"] == "error"
        assert placed["errmsg"] == (
            "The order was rejected: Refused by the broker's order system: "
            "MsgType E is not supported here"
        )
        orders = app.get("/accounts/DEMO-USD/orders", headers=headers).json["d"]
        assert sorted((o["type"], o["status"]) for o in orders) == [
            ("limit", "cancelled"),  # the take-profit, never sent on its own
            ("limit", "rejected"),
        ]


def test_a_wrong_password_is_refused_and_retried_with_backoff(
    demo_config: GatewayConfig, simulator: int
) -> None:
    gateway = build(
        fix_config(demo_config, simulator, password=Secret("wrong")), registry=registry()
    )
    gateway.start()
    try:
        connector = gateway.services.connectors["upstream"]
        eventually(lambda: connector.initiator is not None and connector.initiator.connects >= 2)
        assert not connector.logged_on
        assert "wrong username or password" in connector.initiator.last_reason
    finally:
        gateway.close()


def test_the_fix_demo_streams_the_counterpartys_market_data(tmp_path: Path) -> None:
    """examples/fix-demo served by gunicorn, on the QuickFIX acceptor: /streaming and /quotes."""
    copy_demo(ROOT / "examples" / "demo", tmp_path)
    target = tmp_path / "fix-demo"
    shutil.copytree(ROOT / "examples" / "fix-demo", target, ignore=shutil.ignore_patterns("*.db*"))
    config = target / "gateway.yaml"
    with counterparty(tmp_path, free_port()) as venue:
        venue.quote("BTCUSD", 60000.0, 60001.0)
        text = config.read_text(encoding="utf-8").replace("port: 9878", f"port: {venue.port}")
        config.write_text(text, encoding="utf-8")
        with serve(config) as gateway:
            venue.wait_logon()
            stream = StreamClient("127.0.0.1", gateway.port).open()
            try:
                # Each step moves the market: an unchanged top of book is not quoted again.
                for step in range(1, 21):
                    venue.quote("BTCUSD", 60000.0 + step, 60001.0 + step, trade=60000.5 + step)
                    if any(m.message.get("f") == "t" for m in stream.messages):
                        break
                    time.sleep(0.2)
                kinds = {(m.message.get("f"), m.message.get("id")) for m in stream.messages}
                assert ("q", "BTC/USD") in kinds and ("t", "BTC/USD") in kinds
            finally:
                stream.close()
            base = f"http://127.0.0.1:{gateway.port}"
            login = urllib.parse.urlencode({"login": "demo", "password": "demo"}).encode()
            with urllib.request.urlopen(f"{base}/authorize", login, timeout=30) as resp:
                token = json.loads(resp.read())["d"]["access_token"]
            request = urllib.request.Request(
                f"{base}/quotes?accountId=DEMO-USD&symbols=BTCUSD",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=30) as resp:
                quotes = json.loads(resp.read())
            assert quotes["s"] == "ok" and quotes["d"][0]["v"]["bid"] >= 60000.0
