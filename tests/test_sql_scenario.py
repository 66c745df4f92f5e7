"""TradingView's trading cases end to end against examples/sql-broker, on each database.

The gateway writes orders into the broker's tables and reads back what the broker's back office
(examples/sql-broker/back_office.py, standing in for the broker's order management) made of them:
the cases of tests/test_trading_scenario.py that the example account's flags offer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest

from gateway.app import build
from gateway.config import load_config
from tests.conftest import FakeClock, bearer, with_store
from tests.spec_schemas import assert_valid
from tests.sql_broker import EXAMPLE, load_back_office, load_broker, scratch_database

NOW = 1_800_000_000.0
ACCOUNT = "/accounts/AC-10001"


class Broker:
    """The gateway over the example database, and the broker's back office beside it."""

    def __init__(self, url: str, app: webtest.TestApp) -> None:
        self.url = url
        self.app = app
        self.office = load_back_office()
        resp = app.post("/authorize", {"login": "alice", "password": "alice-pass"})
        self.headers = bearer(resp.json["d"]["access_token"])

    def get(self, path: str, operation: str, **params: Any) -> Any:
        resp = self.app.get(ACCOUNT + path, {"locale": "en", **params}, headers=self.headers)
        assert_valid(operation, resp.json)
        assert resp.json["s"] == "ok", resp.json
        return resp.json["d"]

    def place(self, **form: Any) -> str:
        body = {"instrument": "EURUSD", "side": "buy", "qty": "10000", **form}
        resp = self.app.post(ACCOUNT + "/orders", {k: str(v) for k, v in body.items()},
                             headers=self.headers)  # fmt: skip
        assert_valid("placeOrder", resp.json)
        assert resp.json["s"] == "ok", resp.json
        order_id: str = resp.json["d"]["orderId"]
        return order_id

    def orders(self) -> dict[str, Any]:
        return {o["id"]: o for o in self.get("/orders", "getOrders")}

    def position(self, instrument: str = "EURUSD") -> float:
        total = 0.0
        for p in self.get("/positions", "getPositions"):
            if p["instrument"] == instrument:
                total += p["qty"] if p["side"] == "buy" else -p["qty"]
        return total

    def quote(self, sym: str, bid: float, ask: float) -> None:
        self.office.set_quote(self.url, sym, bid, ask, int(NOW * 1000))

    def settle(self) -> int:
        filled: int = self.office.match(self.url, int(NOW * 1000))
        return filled


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    from tests.servers import MARIADB_URL, POSTGRES_URL, require

    module = load_broker()

    def run(url: str) -> Iterator[Broker]:
        module.create(url)
        module.seed(url, now_ms=int(NOW * 1000))
        config = load_config(EXAMPLE / "gateway.yaml", environ={"BROKER_DB_URL": url})
        gateway = build(with_store(config, f"sqlite:///{tmp_path / 'gw.db'}"), clock=FakeClock(NOW))
        gateway.start()
        try:
            yield Broker(url, webtest.TestApp(gateway.app))
        finally:
            gateway.close()

    if request.param == "sqlite":
        yield from run(f"sqlite:///{tmp_path / 'broker.db'}")
        return
    server = require(POSTGRES_URL if request.param == "postgresql" else MARIADB_URL)
    with scratch_database(server) as url:
        yield from run(url)


def test_market_orders_fill_at_the_ask_and_bid(broker: Broker) -> None:
    broker.quote("EURUSD", 1.08000, 1.08010)
    start = broker.position()
    buy = broker.place(type="market", qty=10000)
    assert broker.orders()[buy]["status"] == "working"  # until the broker's system fills it
    sell = broker.place(type="market", qty=4000, side="sell")
    assert broker.settle() == 2
    orders = broker.orders()
    assert (orders[buy]["status"], orders[buy]["avgPrice"]) == ("filled", 1.0801)
    assert (orders[sell]["status"], orders[sell]["avgPrice"]) == ("filled", 1.08)
    assert orders[buy]["filledQty"] == 10000
    assert broker.position() == pytest.approx(start + 6000)
    fills = broker.get("/executions", "getExecutions", instrument="EURUSD")
    assert {(f["orderId"], f["price"], f["qty"]) for f in fills} >= {
        (buy, 1.0801, 10000),
        (sell, 1.08, 4000),
    }


@pytest.mark.parametrize(
    ("form", "move", "price"),
    [
        ({"type": "limit", "limitPrice": 1.07}, (1.0698, 1.0699), 1.0699),
        ({"type": "stop", "stopPrice": 1.09}, (1.0900, 1.0901), 1.0901),
        ({"type": "stoplimit", "stopPrice": 1.09, "limitPrice": 1.0905}, (1.0902, 1.0903), 1.0903),
    ],
)
def test_resting_orders_work_until_the_market_reaches_them(
    broker: Broker, form: dict[str, Any], move: tuple[float, float], price: float
) -> None:
    broker.quote("EURUSD", 1.08000, 1.08010)
    extra = {"currentAsk": 1.0801, "currentBid": 1.08}
    order_id = broker.place(qty=1000, **form, **extra)
    broker.settle()
    assert broker.orders()[order_id]["status"] == "working"
    broker.quote("EURUSD", *move)
    broker.settle()
    order = broker.orders()[order_id]
    assert (order["status"], order["avgPrice"]) == ("filled", price)


def test_modify_then_cancel_and_history(broker: Broker) -> None:
    broker.quote("EURUSD", 1.08000, 1.08010)
    order_id = broker.place(type="limit", limitPrice=1.07, qty=1000)
    resp = broker.app.put(f"{ACCOUNT}/orders/{order_id}", {"qty": "3000", "limitPrice": "1.075"},
                          headers=broker.headers)  # fmt: skip
    assert resp.json == {"s": "ok"}
    order = broker.orders()[order_id]
    assert (order["qty"], order["limitPrice"]) == (3000, 1.075)
    assert broker.app.delete(f"{ACCOUNT}/orders/{order_id}", headers=broker.headers).json == {
        "s": "ok"
    }
    assert broker.orders()[order_id]["status"] == "cancelled"
    # A filled order cannot be cancelled; the broker's reason travels as the message.
    filled = broker.place(type="market", qty=1000)
    broker.settle()
    resp = broker.app.delete(f"{ACCOUNT}/orders/{filled}", headers=broker.headers)
    assert resp.json == {"s": "error", "errmsg": f"Order {filled} is already filled."}
    history = broker.get("/ordersHistory", "getOrdersHistory", maxCount=20)
    assert all(o["status"] in ("filled", "cancelled", "rejected") for o in history)


def test_balance_and_position_follow_the_fills(broker: Broker) -> None:
    broker.quote("EURUSD", 1.08000, 1.08010)
    before = broker.get("/state", "getState")["balance"]
    start = broker.position()
    broker.place(type="market", qty=10000)
    broker.settle()
    broker.quote("EURUSD", 1.08100, 1.08110)
    broker.place(type="market", qty=10000, side="sell")
    broker.settle()
    assert broker.position() == pytest.approx(start)
    after = broker.get("/state", "getState")["balance"]
    # The position existing before (+60,000 @ 1.086424) absorbs these fills by average cost:
    # the broker's arithmetic, which the gateway only reads.
    assert after != before
    assert_valid("getState", {"s": "ok", "d": broker.get("/state", "getState")})
