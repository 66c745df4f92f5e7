"""Mapped mode: examples/sql-broker served from the broker's own tables, on each database."""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import webtest

from gateway.app import build
from gateway.config import GatewayConfig, load_config
from gateway.conformance.schemas import assert_valid
from tests.conftest import FakeClock, bearer, with_store
from tests.sql_broker import EXAMPLE, load_broker, scratch_database

NOW = 1_800_000_000.0


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def broker_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The example's database, created and seeded on each server."""
    from tests.servers import MARIADB_URL, POSTGRES_URL, require

    module = load_broker()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'broker.db'}"
        module.create(url)
        module.seed(url, now_ms=int(NOW * 1000))
        yield url
        return
    server = require(POSTGRES_URL if request.param == "postgresql" else MARIADB_URL)
    with scratch_database(server) as url:
        module.create(url)
        module.seed(url, now_ms=int(NOW * 1000))
        yield url


@pytest.fixture
def config(broker_url: str, tmp_path: Path) -> GatewayConfig:
    loaded = load_config(EXAMPLE / "gateway.yaml", environ={"BROKER_DB_URL": broker_url})
    return with_store(loaded, f"sqlite:///{tmp_path / 'gateway.db'}")


@pytest.fixture
def app(config: GatewayConfig) -> Iterator[webtest.TestApp]:
    gateway = build(config, clock=FakeClock(NOW))
    gateway.start()
    yield webtest.TestApp(gateway.app)
    gateway.close()


def login(app: webtest.TestApp, user: str = "alice", password: str = "alice-pass") -> str:
    resp = app.post("/authorize", {"login": user, "password": password})
    assert resp.json["s"] == "ok", resp.json
    token: str = resp.json["d"]["access_token"]
    return token


def get(app: webtest.TestApp, token: str, path: str, operation: str, **params: Any) -> Any:
    resp = app.get(path, {"locale": "en", **params}, headers=bearer(token))
    assert_valid(operation, resp.json)
    assert resp.json["s"] == "ok", resp.json
    return resp.json["d"]


def test_users_log_in_with_the_broker_s_own_hashes(app: webtest.TestApp) -> None:
    token = login(app)
    accounts = get(app, token, "/accounts", "getAccounts")
    assert [a["id"] for a in accounts] == ["AC-10001", "AC-10002"]
    bob = login(app, "bob", "bob-pass")
    assert [a["id"] for a in get(app, bob, "/accounts", "getAccounts")] == ["AC-20001"]
    for user, password in (("alice", "bob-pass"), ("carol", "carol-pass"), ("nobody", "x")):
        resp = app.post("/authorize", {"login": user, "password": password})
        assert resp.json == {"s": "error", "errmsg": "Invalid login or password."}


def test_orders_positions_executions_state_come_from_the_broker_s_tables(
    app: webtest.TestApp, broker_url: str
) -> None:
    token = login(app)
    base = "/accounts/AC-10001"
    orders = get(app, token, f"{base}/orders", "getOrders")
    engine = sa.create_engine(broker_url)
    with engine.connect() as conn:
        working = conn.execute(
            sa.text(
                "SELECT ord_id, qty, lmt_px FROM orders WHERE acct_no = 'AC-10001' AND st = 'N'"
            )
        ).all()
        fills = conn.execute(
            sa.text("SELECT count(*) FROM fills WHERE acct_no = 'AC-10001' AND sym = 'EURUSD'")
        ).scalar_one()
        balance = conn.execute(
            sa.text("SELECT balance FROM trading_accounts WHERE acct_no = 'AC-10001'")
        ).scalar_one()
        net = conn.execute(
            sa.text(
                "SELECT net_qty, avg_px FROM positions"
                " WHERE acct_no = 'AC-10001' AND sym = 'EURUSD'"
            )
        ).one()
    engine.dispose()
    by_id = {o["id"]: o for o in orders}
    for ord_id, qty, price in working:
        order = by_id[str(ord_id)]
        assert order["status"] == "working"
        assert order["qty"] == pytest.approx(float(qty))
        if order["type"] in ("limit", "stoplimit"):
            assert order["limitPrice"] == pytest.approx(float(price))
    assert {o["status"] for o in orders} <= {"working", "filled", "cancelled", "rejected"}
    positions = get(app, token, f"{base}/positions", "getPositions")
    [eurusd] = [p for p in positions if p["instrument"] == "EURUSD"]
    assert eurusd["qty"] == pytest.approx(abs(float(net.net_qty)))
    assert eurusd["side"] == ("buy" if float(net.net_qty) > 0 else "sell")
    assert eurusd["avgPrice"] == pytest.approx(float(net.avg_px))
    executions = get(app, token, f"{base}/executions", "getExecutions", instrument="EURUSD")
    assert len(executions) == fills
    assert all(isinstance(e["time"], int) and e["time"] < 10**11 for e in executions)
    state = get(app, token, f"{base}/state", "getState")
    assert state["balance"] == pytest.approx(float(balance))
    history = get(app, token, f"{base}/ordersHistory", "getOrdersHistory", maxCount=10)
    assert all(o["status"] in ("filled", "cancelled", "rejected") for o in history)


def test_another_user_s_account_is_not_reachable(app: webtest.TestApp) -> None:
    token = login(app, "bob", "bob-pass")
    resp = app.get("/accounts/AC-10001/orders", headers=bearer(token))
    assert resp.json["s"] == "error"
    assert "Unknown account" in resp.json["errmsg"]


HOSTILE = [
    "' OR '1'='1",
    "alice'--",
    "alice'; DROP TABLE clients; --",
    '" OR ""="',
    "alice\\' OR 1=1 #",
    "/* */ UNION SELECT pw_hash FROM clients --",
    "ålice ☃ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "x" * (1 << 20),
]


def table_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            return {
                name: conn.execute(
                    sa.select(sa.func.count()).select_from(sa.table(name))
                ).scalar_one()
                for name in names
            }
    finally:
        engine.dispose()


def test_hostile_strings_are_data(app: webtest.TestApp, broker_url: str) -> None:
    before = table_counts(broker_url)
    for text in HOSTILE:
        resp = app.post("/authorize", {"login": text, "password": text}, expect_errors=True)
        assert resp.status_int in (200, 413)
        assert resp.json["s"] == "error"
    token = login(app)
    for text in HOSTILE[:-1]:
        for path in ("orders", "positions", "state", "ordersHistory"):
            resp = app.get(
                f"/accounts/{urllib.parse.quote(text, safe='')}/{path}",
                headers=bearer(token),
                expect_errors=True,
            )
            assert resp.status_int in (200, 404)
            if resp.status_int == 200:
                assert resp.json["s"] == "error"
        resp = app.get(
            "/accounts/AC-10001/executions",
            {"instrument": text},
            headers=bearer(token),
            expect_errors=True,
        )
        assert resp.json["s"] == "error"
        assert "Unknown instrument" in resp.json["errmsg"]
    assert table_counts(broker_url) == before
    assert login(app)  # the users table is intact


def test_hostile_strings_in_position_ids_and_leverage_forms_are_data(
    app: webtest.TestApp, broker_url: str
) -> None:
    token = login(app)
    headers = bearer(token) | {"Content-Type": "application/x-www-form-urlencoded"}
    before = table_counts(broker_url)
    for text in HOSTILE[:-1]:
        quoted = urllib.parse.quote(text, safe="")
        for method, path in (
            ("PUT", f"/accounts/AC-10001/positions/{quoted}"),
            ("DELETE", f"/accounts/AC-10001/positions/{quoted}"),
            ("PUT", f"/accounts/AC-10001/orders/{quoted}"),
            ("DELETE", f"/accounts/AC-10001/orders/{quoted}"),
            ("PUT", f"/accounts/AC-10002/individualPositions/{quoted}"),
            ("DELETE", f"/accounts/AC-10002/individualPositions/{quoted}"),
            ("DELETE", f"/accounts/AC-10002/netPositions/{quoted}"),
            ("GET", f"/accounts/{quoted}/netPositions"),
            ("GET", f"/accounts/{quoted}/individualPositions"),
            ("POST", f"/accounts/{quoted}/getLeverage"),
        ):
            body = b"stopLoss=1.07&qty=1000&limitPrice=1.07&amount=1000"
            resp = app.request(path, method=method, body=body, headers=headers, expect_errors=True)
            assert resp.status_int in (200, 404), (method, path)
            if resp.status_int == 200:
                assert resp.json["s"] == "error" and resp.json["errmsg"], (method, path)
    leverage = {"instrument": "EURUSD", "side": "buy", "orderType": "market", "leverage": "10"}
    for text in HOSTILE:
        for field in leverage:
            for action in ("getLeverage", "setLeverage", "previewLeverage"):
                if action == "getLeverage" and field == "leverage":
                    continue
                resp = app.post(
                    f"/accounts/AC-10001/{action}",
                    {**leverage, field: text},
                    headers=bearer(token),
                    expect_errors=True,
                )
                assert resp.json["s"] == "error" and resp.json["errmsg"], (action, field)
    assert table_counts(broker_url) == before
    got = app.post("/accounts/AC-10001/getLeverage", leverage, headers=bearer(token)).json
    assert got["d"]["leverage"] == 30  # nothing was set


def place(app: webtest.TestApp, token: str, **form: Any) -> Any:
    body = {"instrument": "EURUSD", "qty": "10000", "side": "buy", "type": "limit"}
    body.update({k: str(v) for k, v in form.items()})
    query = ""
    if "requestId" in body:
        query = "?requestId=" + urllib.parse.quote(body.pop("requestId"))
    resp = app.post(f"/accounts/AC-10001/orders{query}", body, headers=bearer(token))
    return resp.json


def test_orders_are_placed_modified_and_cancelled_in_the_broker_s_tables(
    app: webtest.TestApp, broker_url: str
) -> None:
    token = login(app)
    answer = place(app, token, limitPrice="1.07", currentAsk="1.0866", currentBid="1.0865")
    assert_valid("placeOrder", answer)
    order_id = answer["d"]["orderId"]
    orders = {o["id"]: o for o in get(app, token, "/accounts/AC-10001/orders", "getOrders")}
    assert orders[order_id]["status"] == "working"
    assert orders[order_id]["limitPrice"] == pytest.approx(1.07)
    engine = sa.create_engine(broker_url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT side, otype, tif, st FROM orders WHERE ord_id = :id"),
            {"id": int(order_id)},
        ).one()
    assert tuple(row) == ("B", "L", "DAY", "N")  # the broker's own codes
    # A retried placement with the same requestId answers the same order.
    first = place(app, token, limitPrice="1.06", requestId="tv-42")["d"]["orderId"]
    again = place(app, token, limitPrice="1.06", requestId="tv-42")["d"]["orderId"]
    assert first == again != order_id
    resp = app.put(
        f"/accounts/AC-10001/orders/{order_id}",
        {"qty": "20000", "limitPrice": "1.065"},
        headers=bearer(token),
    )
    assert_valid("modifyOrder", resp.json)
    assert resp.json["s"] == "ok"
    orders = {o["id"]: o for o in get(app, token, "/accounts/AC-10001/orders", "getOrders")}
    assert orders[order_id]["qty"] == 20000 and orders[order_id]["limitPrice"] == 1.065
    resp = app.delete(f"/accounts/AC-10001/orders/{order_id}", headers=bearer(token))
    assert_valid("cancelOrder", resp.json)
    assert resp.json["s"] == "ok"
    orders = {o["id"]: o for o in get(app, token, "/accounts/AC-10001/orders", "getOrders")}
    assert orders[order_id]["status"] == "cancelled"
    again_cancel = app.delete(f"/accounts/AC-10001/orders/{order_id}", headers=bearer(token))
    assert again_cancel.json == {"s": "error", "errmsg": f"Order {order_id} is already cancelled."}
    unknown = app.delete("/accounts/AC-10001/orders/999999", headers=bearer(token))
    assert unknown.json == {"s": "error", "errmsg": "Unknown order: 999999."}
    engine.dispose()


def test_bad_orders_are_refused_before_the_database(app: webtest.TestApp, broker_url: str) -> None:
    token = login(app)
    before = table_counts(broker_url)
    for form in (
        {"qty": "-5"},
        {"qty": "10001"},  # not a multiple of 1000
        {"instrument": "GBPUSD"},
        {"side": "long"},
        {"type": "iceberg"},
        {"type": "stop"},  # no stopPrice
        {"limitPrice": "1.070001"},  # off the tick
    ):
        answer = place(app, token, **{"limitPrice": "1.07", **form})
        assert answer["s"] == "error", form
    for text in HOSTILE:
        for field in ("instrument", "side", "type", "durationType", "limitPrice", "qty"):
            answer = app.post(
                "/accounts/AC-10001/orders",
                {
                    "instrument": "EURUSD",
                    "qty": "1000",
                    "side": "buy",
                    "type": "limit",
                    "limitPrice": "1.07",
                    field: text,
                },
                headers=bearer(token),
                expect_errors=True,
            ).json
            assert answer["s"] == "error", (field, text[:40])
    assert table_counts(broker_url) == before


def test_commands_the_mapping_does_not_declare(config: GatewayConfig) -> None:
    spec = config.connectors["broker_db"]
    execution = dataclasses.replace(spec.options.execution, close_position=(), modify_position=())
    options = dataclasses.replace(spec.options, execution=execution)
    connectors = {"broker_db": dataclasses.replace(spec, options=options)}
    gateway = build(dataclasses.replace(config, connectors=connectors), clock=FakeClock(NOW))
    app = webtest.TestApp(gateway.app)
    token = login(app)
    [position] = get(app, token, "/accounts/AC-10001/positions", "getPositions")
    path = f"/accounts/AC-10001/positions/{position['id']}"
    resp = app.delete(path, headers=bearer(token))
    assert resp.json == {"s": "error", "errmsg": "This account does not support closing positions."}
    form = {"stopLoss": "1.0", "takeProfit": "1.5", "currentBid": "1.08", "currentAsk": "1.0801"}
    resp = app.put(path, form, headers=bearer(token))
    assert resp.json["s"] == "error" and "brackets on positions" in resp.json["errmsg"]
    gateway.close()


def test_data_that_looks_like_a_template_stays_data(app: webtest.TestApp, broker_url: str) -> None:
    payload = "{{ ''.__class__.__mro__ }} {% raw %}"
    engine = sa.create_engine(broker_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE orders SET reject_reason = :r WHERE st = 'R' AND acct_no = 'AC-10001'"),
            {"r": payload},
        )
    engine.dispose()
    token = login(app)
    orders = get(app, token, "/accounts/AC-10001/orders", "getOrders")
    history = get(app, token, "/accounts/AC-10001/ordersHistory", "getOrdersHistory", maxCount=50)
    messages = [o["message"]["text"] for o in orders + history if "message" in o]
    assert payload in messages
