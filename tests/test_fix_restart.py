"""A gateway killed with SIGKILL and started again: its FIX session resumes, nothing is lost.

``gateway serve examples/fix-demo`` (gunicorn, its own process group) trades with the QuickFIX
counterparty. With an order resting, the whole group is killed (a machine that dies: no Logout,
no clean-up), the counterparty fills the order meanwhile, and the gateway is started again on
the same store. QuickFIX refuses a Logon whose number went back ("MsgSeqNum too low"), so a
second logon shows the numbers resumed; the fill sent while the gateway was dead must then come
back through a resend and show in ``/orders`` and ``/executions`` exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.fix_app import eventually
from tests.fix_counterparty import Counterparty, counterparty
from tests.live_gateway import copy_demo, free_port

ROOT = Path(__file__).resolve().parent.parent


class Served:
    """``gateway serve`` in a process group of its own, and a logged-in HTTP client."""

    def __init__(self, config: Path, port: int) -> None:
        self.port = port
        self.log = config.parent / f"gateway-{port}-{time.monotonic_ns()}.log"
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", str(config),
                 "--bind", f"127.0.0.1:{port}"],
                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.token = ""

    def call(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())

    def login(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = self.call("POST", "/authorize", {"login": "demo", "password": "demo"})
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"no gateway:\n{self.log.read_text()}") from None
                time.sleep(0.2)
        self.token = answer["d"]["access_token"]

    def order(self, order_id: str) -> dict[str, Any] | None:
        for order in self.call("GET", "/accounts/DEMO-USD/orders")["d"]:
            if order["id"] == order_id:
                return dict(order)
        return None

    def kill(self) -> None:
        """SIGKILL to the master and its workers at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def served(config: Path) -> Iterator[Served]:
    gateway = Served(config, free_port())
    try:
        gateway.login()
        yield gateway
    finally:
        gateway.stop()


def next_out(store: Path) -> int:
    """The gateway's next outgoing FIX number, as its store holds it."""
    with sqlite3.connect(store) as db:
        (value,) = db.execute("SELECT next_out FROM gw_session_state").fetchone()
    return int(value)


def fix_demo(tmp_path: Path, port: int) -> Path:
    copy_demo(ROOT / "examples" / "demo", tmp_path)
    target = tmp_path / "fix-demo"
    shutil.copytree(ROOT / "examples" / "fix-demo", target, ignore=shutil.ignore_patterns("*.db*"))
    config = target / "gateway.yaml"
    text = config.read_text(encoding="utf-8").replace("port: 9878", f"port: {port}")
    config.write_text(text.replace("heartbeat: 30s", "heartbeat: 2s"), encoding="utf-8")
    return config


def wait_logons(venue: Counterparty, count: int) -> None:
    eventually(lambda: venue.call("logons") >= count and venue.call("logged_on"), timeout=30)


def test_a_killed_gateway_resumes_its_numbers_and_recovers_the_fill_it_missed(
    tmp_path: Path,
) -> None:
    with counterparty(tmp_path, free_port()) as venue:
        venue.quote("BTCUSD", 60000.0, 60001.0)
        config = fix_demo(tmp_path, venue.port)
        store = config.parent / "fix-demo.db"
        with served(config) as gateway:
            wait_logons(venue, 1)
            placed = gateway.call(
                "POST",
                "/accounts/DEMO-USD/orders?locale=en",
                {"instrument": "BTCUSD", "qty": "0.3", "side": "sell", "type": "limit",
                 "limitPrice": "61000"},
            )  # fmt: skip
            assert placed["s"] == "ok", placed
            order_id = placed["d"]["orderId"]
            eventually(lambda: (gateway.order(order_id) or {}).get("status") == "working")
            before = next_out(store)
            logons = venue.call("logons")
            gateway.kill()
        eventually(lambda: not venue.call("logged_on"), timeout=30)
        venue.quote("BTCUSD", 61000.0, 61001.0)  # fills the order while the gateway is dead
        assert venue.call("orders") == {}
        with served(config) as gateway:
            wait_logons(venue, logons + 1)
            eventually(lambda: (gateway.order(order_id) or {}).get("status") == "filled")
            assert next_out(store) > before  # resumed: a Logon at 1 would have been refused
            executions = gateway.call("GET", "/accounts/DEMO-USD/executions?instrument=BTCUSD")
            assert [e["qty"] for e in executions["d"]] == [0.3]
        with served(config) as gateway:  # and once more: the fill is not booked twice
            wait_logons(venue, logons + 2)
            assert (gateway.order(order_id) or {}).get("status") == "filled"
            executions = gateway.call("GET", "/accounts/DEMO-USD/executions?instrument=BTCUSD")
            assert [e["qty"] for e in executions["d"]] == [0.3]
