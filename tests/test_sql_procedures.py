"""Order commands through the broker's stored procedures (examples/sql-broker/procedures.py).

gateway-procedures.yaml routes place, modify and cancel through one CALL each, on PostgreSQL
and on MariaDB with the same YAML; SQLite has no stored procedures.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
import webtest

from gateway.app import Gateway, build
from gateway.config import GatewayConfig, load_config
from gateway.conformance.schemas import assert_valid
from gateway.errors import ApiError
from tests.conftest import FakeClock, bearer, with_store
from tests.sql_broker import EXAMPLE, load_broker, load_example, scratch_database

NOW = 1_800_000_000.0
NOW_MS = int(NOW * 1000)
CONFIG = EXAMPLE / "gateway-procedures.yaml"
BASE = "/accounts/AC-10001"


def load_procedures() -> ModuleType:
    """examples/sql-broker/procedures.py: the example's stored procedures."""
    return load_example("sql_broker_procedures", "procedures.py")


@pytest.fixture(params=["postgresql", "mariadb"])
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The example's database with its procedures, on each server that has procedures."""
    from tests.servers import MARIADB_URL, POSTGRES_URL, require

    server = require(POSTGRES_URL if request.param == "postgresql" else MARIADB_URL)
    module = load_broker()
    with scratch_database(server) as url:
        module.create(url)
        module.seed(url, now_ms=NOW_MS)
        load_procedures().create_procedures(url)
        yield url


def configured(path: Path, broker_url: str, tmp_path: Path) -> GatewayConfig:
    loaded = load_config(path, environ={"BROKER_DB_URL": broker_url})
    return with_store(loaded, f"sqlite:///{tmp_path / 'gateway.db'}")


@pytest.fixture
def gateway(broker_url: str, tmp_path: Path) -> Iterator[Gateway]:
    built = build(configured(CONFIG, broker_url, tmp_path), clock=FakeClock(NOW))
    built.start()
    yield built
    built.close()


@pytest.fixture
def app(gateway: Gateway) -> webtest.TestApp:
    return webtest.TestApp(gateway.app)


@pytest.fixture
def token(app: webtest.TestApp) -> str:
    resp = app.post("/authorize", {"login": "alice", "password": "alice-pass"})
    assert resp.json["s"] == "ok", resp.json
    value: str = resp.json["d"]["access_token"]
    return value


def place(app: webtest.TestApp, token: str, request_id: str | None = None, **form: Any) -> Any:
    body = {"instrument": "EURUSD", "qty": "10000", "side": "buy", "type": "limit"}
    body.update({k: str(v) for k, v in form.items()})
    query = "" if request_id is None else "?requestId=" + urllib.parse.quote(request_id)
    answer = app.post(f"{BASE}/orders{query}", body, headers=bearer(token)).json
    assert_valid("placeOrder", answer)
    return answer


def working(app: webtest.TestApp, token: str) -> dict[str, Any]:
    resp = app.get(f"{BASE}/orders", {"locale": "en"}, headers=bearer(token))
    assert_valid("getOrders", resp.json)
    assert resp.json["s"] == "ok", resp.json
    return {o["id"]: o for o in resp.json["d"]}


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` on the broker's database, as plain tuples."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params: Any) -> None:
    """Run ``sql`` on the broker's database and commit: the broker's own systems at work."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def snapshot(url: str) -> dict[str, Any]:
    """Every order row and the row count of every table: what a refusal must leave as it was."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            counts = {
                name: conn.execute(
                    sa.select(sa.func.count()).select_from(sa.table(name))
                ).scalar_one()
                for name in sa.inspect(conn).get_table_names()
            }
            orders = [tuple(r) for r in conn.execute(sa.text("SELECT * FROM orders ORDER BY 1"))]
    finally:
        engine.dispose()
    return {"counts": counts, "orders": orders}


ORDER_COLUMNS = "side, otype, qty, lmt_px, stp_px, tif, st, filled_qty, client_ref, created_at"


def order_row(url: str, order_id: str) -> tuple[Any, ...]:
    [row] = query(url, f"SELECT {ORDER_COLUMNS} FROM orders WHERE ord_id = :id", id=int(order_id))
    return row


# Placing ---------------------------------------------------------------------------------------


def test_place_inserts_the_broker_s_codes_once_per_request_id(
    app: webtest.TestApp, token: str, broker_url: str
) -> None:
    answer = place(app, token, "tv-42", limitPrice="1.07")
    assert answer["s"] == "ok", answer
    order_id = answer["d"]["orderId"]
    side, otype, qty, lmt, stp, tif, st, filled, ref, created = order_row(broker_url, order_id)
    assert (side, otype, tif, st, ref, created) == ("B", "L", "DAY", "N", "tv-42", NOW_MS)
    assert (float(qty), float(lmt), stp, float(filled)) == (10000.0, 1.07, None, 0.0)
    # A retry with the same requestId answers the same order, and inserts nothing.
    before = snapshot(broker_url)
    again = place(app, token, "tv-42", limitPrice="1.07")
    assert again == {"s": "ok", "d": {"orderId": order_id}}
    assert snapshot(broker_url) == before
    # Without a requestId every placement is new (the nonce is the reference).
    sell = place(app, token, side="sell", type="market", qty="2000")["d"]["orderId"]
    assert sell != order_id
    assert order_row(broker_url, sell)[:3] == ("S", "M", pytest.approx(2000.0))
    stop = place(app, token, "tv-43", type="stop", stopPrice="1.2")
    assert stop["s"] == "ok", stop
    stop_row = order_row(broker_url, stop["d"]["orderId"])
    assert (stop_row[1], float(stop_row[4]), stop_row[3]) == ("S", 1.2, None)
    orders = working(app, token)
    assert orders[order_id]["status"] == "working"
    assert orders[order_id]["limitPrice"] == pytest.approx(1.07)
    assert orders[stop["d"]["orderId"]]["type"] == "stop"


def test_a_placement_the_procedure_refuses_inserts_nothing(
    app: webtest.TestApp, token: str, broker_url: str
) -> None:
    before = snapshot(broker_url)
    # About 100,000 USD at 50:1 buys 4.28 million EURUSD at 1.07, not 5.35 million.
    answer = place(app, token, "too-big", qty="5000000", limitPrice="1.07")
    assert answer["s"] == "error"
    assert answer["errmsg"].startswith("The order was rejected: insufficient funds")
    assert "5,350,000.00" in answer["errmsg"]
    # A market order is valued at the quotes table's ask: 100 BTC at about 64,000.
    btc = place(app, token, instrument="BTCUSD", qty="100", type="market")
    assert btc["s"] == "error" and "insufficient funds" in btc["errmsg"]
    assert snapshot(broker_url) == before
    # The refused reference stays free: the same requestId with a smaller order is placed.
    smaller = place(app, token, "too-big", qty="4000000", limitPrice="1.07")
    assert smaller["s"] == "ok", smaller
    assert order_row(broker_url, smaller["d"]["orderId"])[8] == "too-big"


# Modifying and cancelling ----------------------------------------------------------------------


def test_modify_and_cancel_change_the_row(
    app: webtest.TestApp, token: str, broker_url: str
) -> None:
    order_id = place(app, token, limitPrice="1.07")["d"]["orderId"]
    resp = app.put(
        f"{BASE}/orders/{order_id}",
        {"qty": "20000", "limitPrice": "1.065"},
        headers=bearer(token),
    )
    assert_valid("modifyOrder", resp.json)
    assert resp.json == {"s": "ok"}
    _, otype, qty, lmt, _, tif, st, *_ = order_row(broker_url, order_id)
    assert (otype, float(qty), float(lmt), tif, st) == ("L", 20000.0, 1.065, "DAY", "N")
    assert working(app, token)[order_id]["qty"] == 20000

    resp = app.delete(f"{BASE}/orders/{order_id}", headers=bearer(token))
    assert_valid("cancelOrder", resp.json)
    assert resp.json == {"s": "ok"}
    assert order_row(broker_url, order_id)[6] == "C"
    assert working(app, token)[order_id]["status"] == "cancelled"


def test_a_partly_filled_order_can_be_cancelled_but_not_modified(
    gateway: Gateway, broker_url: str
) -> None:
    connector = gateway.services.connectors["broker_db"]
    [(ord_id,)] = query(broker_url, "SELECT ord_id FROM orders WHERE client_ref = 'web-0003'")
    execute(broker_url, "UPDATE orders SET st = 'P' WHERE ord_id = :id", id=ord_id)
    modify = {
        "order_id": str(ord_id),
        "qty": 1000.0,
        "limit_price": 1.0,
        "stop_price": None,
        "duration_type": None,
        "now_ms": NOW_MS,
    }
    with pytest.raises(ApiError) as refused:
        connector.command("modify", "AC-10001", modify)
    assert refused.value.params == {"reason": f"order {ord_id} is not working"}
    connector.command("cancel", "AC-10001", {"order_id": str(ord_id), "now_ms": NOW_MS})
    assert order_row(broker_url, str(ord_id))[6] == "C"


# Procedures that raise -------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["cancel", "modify"])
def test_a_procedure_that_raises_refuses_with_its_message(
    gateway: Gateway, broker_url: str, action: str
) -> None:
    connector = gateway.services.connectors["broker_db"]
    before = snapshot(broker_url)
    # Order 1 is alice's filled EURUSD buy, order 3 is bob's, 999999 is no order.
    for order_id in ("1", "3", "999999"):
        params = {
            "login": "alice",
            "order_id": order_id,
            "qty": 1000.0,
            "limit_price": 1.07,
            "stop_price": None,
            "duration_type": "gtc",
            "now_ms": NOW_MS + 1,
        }
        with pytest.raises(ApiError) as refused:
            connector.command(action, "AC-10001", params)
        assert refused.value.code == "rejected"
        assert refused.value.params == {"reason": f"order {order_id} is not working"}
    assert snapshot(broker_url) == before


def test_a_refusal_rolls_back_the_command_s_earlier_statements(
    broker_url: str, tmp_path: Path
) -> None:
    # The broker audits each cancel request before calling the procedure, in one command.
    path = tmp_path / "audited.yaml"
    path.write_text(
        f"version: 1\n"
        f"extends: {CONFIG}\n"
        "connectors:\n"
        "  broker_db:\n"
        "    execution:\n"
        "      cancel:\n"
        "        - sql: INSERT INTO audit_log (at, what) VALUES (:now_ms, :what)\n"
        "          params: {what: \"{{ 'cancel ' ~ form.order_id }}\"}\n"
        "        - sql: CALL tv_cancel(:account_id, :ord, :now_ms)\n"
        '          params: {ord: "{{ form.order_id | int }}"}\n',
        encoding="utf-8",
    )
    gateway = build(configured(path, broker_url, tmp_path), clock=FakeClock(NOW))
    connector = gateway.services.connectors["broker_db"]
    try:
        before = snapshot(broker_url)
        with pytest.raises(ApiError) as refused:
            connector.command("cancel", "AC-10001", {"order_id": "1", "now_ms": NOW_MS})
        assert refused.value.params == {"reason": "order 1 is not working"}
        assert snapshot(broker_url) == before  # the audit row went with the transaction
        [(ord_id,)] = query(broker_url, "SELECT ord_id FROM orders WHERE client_ref = 'web-0003'")
        connector.command("cancel", "AC-10001", {"order_id": str(ord_id), "now_ms": NOW_MS})
    finally:
        gateway.close()
    assert query(broker_url, "SELECT what FROM audit_log WHERE what LIKE 'cancel%'") == [
        (f"cancel {ord_id}",)
    ]
    assert order_row(broker_url, str(ord_id))[6] == "C"


def test_an_order_filled_while_the_command_is_on_its_way_is_refused(
    app: webtest.TestApp,
    token: str,
    gateway: Gateway,
    broker_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order_id = place(app, token, limitPrice="1.07")["d"]["orderId"]
    connector = gateway.services.connectors["broker_db"]
    command = connector.command

    def filled_first(action: str, account_id: str, params: Any) -> str | None:
        # The back office fills the order after the gateway saw it working, before the CALL.
        sql = "UPDATE orders SET st = 'F', filled_qty = qty WHERE ord_id = :id"
        execute(broker_url, sql, id=int(order_id))
        result: str | None = command(action, account_id, params)
        return result

    monkeypatch.setattr(connector, "command", filled_first)
    refused = {"s": "error", "errmsg": f"The order was rejected: order {order_id} is not working"}
    url = f"{BASE}/orders/{order_id}"
    resp = app.put(url, {"qty": "1000", "limitPrice": "1.07"}, headers=bearer(token))
    assert_valid("modifyOrder", resp.json)
    assert resp.json == refused
    row = order_row(broker_url, order_id)
    assert (float(row[2]), row[6]) == (10000.0, "F")  # the quantity was not modified
    execute(broker_url, "UPDATE orders SET st = 'N' WHERE ord_id = :id", id=int(order_id))
    resp = app.delete(url, headers=bearer(token))
    assert_valid("cancelOrder", resp.json)
    assert resp.json == refused
    assert order_row(broker_url, order_id)[6] == "F"


# Hostile values ------------------------------------------------------------------------------


HOSTILE_REFS = [
    "'); DROP TABLE orders; --",
    "x', 'y'); DELETE FROM orders; --",
    "\\'; DROP TABLE orders; #",
    "$$; DROP TABLE orders; $$",
    "% %s %(qty)s :qty ?",
    "ålice ☃ 𝔘𝔫𝔦",
]


def test_hostile_request_ids_are_data(app: webtest.TestApp, token: str, broker_url: str) -> None:
    before = snapshot(broker_url)["counts"]
    for ref in HOSTILE_REFS:
        answer = place(app, token, ref, limitPrice="1.07")
        assert answer["s"] == "ok", (ref, answer)
        assert order_row(broker_url, answer["d"]["orderId"])[8] == ref
        assert place(app, token, ref, limitPrice="1.07") == answer  # and found again by it
    after = snapshot(broker_url)["counts"]
    assert after == {**before, "orders": before["orders"] + len(HOSTILE_REFS)}


def test_hostile_order_ids_are_data(gateway: Gateway, broker_url: str) -> None:
    connector = gateway.services.connectors["broker_db"]
    before = snapshot(broker_url)
    # `form.order_id | int` turns what is not a number into 0, which is no order.
    with pytest.raises(ApiError) as refused:
        connector.command(
            "cancel", "AC-10001", {"order_id": "5); DROP TABLE orders; --", "now_ms": NOW_MS}
        )
    assert refused.value.params == {"reason": "order 0 is not working"}
    with pytest.raises(ApiError):
        connector.command("cancel", "AC-10001' OR '1'='1", {"order_id": "5", "now_ms": NOW_MS})
    assert snapshot(broker_url) == before


def test_procedures_can_be_created_again(broker_url: str) -> None:
    procedures = load_procedures()
    procedures.create_procedures(broker_url)
    assert procedures.main([broker_url]) == 0


# SQLite ----------------------------------------------------------------------------------------


def test_sqlite_has_no_procedures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    procedures = load_procedures()
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    with pytest.raises(procedures.NoProcedures, match="SQLite has no stored procedures"):
        procedures.create_procedures(url)
    assert procedures.main([url]) == 2
    assert "SQLite has no stored procedures" in capsys.readouterr().err
    script = subprocess.run(
        [sys.executable, str(EXAMPLE / "procedures.py"), url],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "", "BROKER_DB_URL": "unused"},
    )
    assert script.returncode == 2
    assert script.stdout == ""
    assert "SQLite has no stored procedures" in script.stderr
    assert not (tmp_path / "broker.db").exists()  # refused before connecting


def test_the_script_needs_a_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    procedures = load_procedures()
    monkeypatch.delenv("BROKER_DB_URL", raising=False)
    assert procedures.main([]) == 2
    assert "BROKER_DB_URL" in capsys.readouterr().err
    assert procedures.main(["--help"]) == 0
    assert "tv_place" in capsys.readouterr().out
