"""A gateway killed with SIGKILL and started again: its FIX session resumes, nothing is lost.

``gateway serve examples/fix-demo`` (gunicorn, its own process group) trades with the QuickFIX
counterparty. With an order resting, the whole group is killed (a machine that dies: no Logout,
no clean-up), the counterparty fills the order meanwhile, and the gateway is started again on
the same store. QuickFIX refuses a Logon whose number went back ("MsgSeqNum too low"), so a
second logon shows the numbers resumed; the fill sent while the gateway was dead must then come
back through a resend and show in ``/orders`` and ``/executions`` exactly once.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.fix_app import eventually
from tests.fix_counterparty import Counterparty, counterparty
from tests.live_gateway import Served, call, copy_demo, free_port, login, serving

ROOT = Path(__file__).resolve().parent.parent


def order_status(gateway: Served, token: str, order_id: str) -> str | None:
    """The order's status in ``GET /orders``."""
    status, body = call(gateway.port, "GET", "/accounts/DEMO-USD/orders", token=token)
    assert status == 200, body
    return next((str(o["status"]) for o in body["d"] if o["id"] == order_id), None)


def fill_sizes(gateway: Served, token: str) -> list[float]:
    path = "/accounts/DEMO-USD/executions?instrument=BTCUSD"
    status, body = call(gateway.port, "GET", path, token=token)
    assert status == 200 and body["s"] == "ok", body
    return [float(e["qty"]) for e in body["d"]]


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
        with serving(config) as gateway:
            token = login(gateway.port)
            wait_logons(venue, 1)
            form = {"instrument": "BTCUSD", "qty": "0.3", "side": "sell", "type": "limit",
                    "limitPrice": "61000"}  # fmt: skip
            status, placed = call(gateway.port, "POST", "/accounts/DEMO-USD/orders", form, token)
            assert status == 200 and placed["s"] == "ok", placed
            order_id = placed["d"]["orderId"]
            eventually(lambda: order_status(gateway, token, order_id) == "working")
            before = next_out(store)
            logons = venue.call("logons")
            gateway.kill()
        eventually(lambda: not venue.call("logged_on"), timeout=30)
        venue.quote("BTCUSD", 61000.0, 61001.0)  # fills the order while the gateway is dead
        assert venue.call("orders") == {}
        with serving(config) as gateway:
            # A new process: it takes the session's lease once the dead one's has expired.
            wait_logons(venue, logons + 1)
            token = login(gateway.port)
            eventually(lambda: order_status(gateway, token, order_id) == "filled")
            assert next_out(store) > before  # resumed: a Logon at 1 would have been refused
            assert fill_sizes(gateway, token) == [0.3]
        with serving(config) as gateway:  # and once more: the fill is not booked twice
            wait_logons(venue, logons + 2)
            token = login(gateway.port)
            assert order_status(gateway, token, order_id) == "filled"
            assert fill_sizes(gateway, token) == [0.3]
