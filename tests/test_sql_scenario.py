"""TradingView's trading cases end to end against examples/sql-broker, on each database.

The gateway writes orders into the broker's tables and reads back what the broker's back office
(examples/sql-broker/back_office.py, standing in for the broker's order management) made of them:
the cases of tests/test_trading_scenario.py that the example account's flags offer.
"""

from __future__ import annotations

import dataclasses
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest

from gateway.app import build
from gateway.config import load_config
from gateway.config.types import Duration
from gateway.conformance.schemas import assert_valid
from tests.conftest import FakeClock, bearer, with_store
from tests.sql_broker import EXAMPLE, load_back_office, load_broker, scratch_database

NOW = 1_800_000_000.0
ACCOUNT = "/accounts/AC-10001"
NETTING = "/accounts/AC-10002"  # alice's EUR account: its `book` is N, the netting profile


class Broker:
    """The gateway over the example database, and the broker's back office beside it."""

    def __init__(self, url: str, app: webtest.TestApp) -> None:
        self.url = url
        self.app = app
        self.office = load_back_office()
        self.account = ACCOUNT
        resp = app.post("/authorize", {"login": "alice", "password": "alice-pass"})
        self.headers = bearer(resp.json["d"]["access_token"])

    def get(self, path: str, operation: str, **params: Any) -> Any:
        resp = self.app.get(self.account + path, {"locale": "en", **params}, headers=self.headers)
        assert_valid(operation, resp.json)
        assert resp.json["s"] == "ok", resp.json
        return resp.json["d"]

    def place(self, **form: Any) -> str:
        body = {"instrument": "EURUSD", "side": "buy", "qty": "10000", **form}
        resp = self.app.post(self.account + "/orders", {k: str(v) for k, v in body.items()},
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
        """Move the broker's quote, and wait until the gateway's feed has polled it."""
        self.office.set_quote(self.url, sym, bid, ask, int(NOW * 1000))
        deadline = time.monotonic() + 10
        while True:
            resp = self.app.get("/quotes", {"accountId": "AC-10001", "symbols": sym},
                                headers=self.headers)  # fmt: skip
            value = resp.json["d"][0].get("v", {})
            if (value.get("bid"), value.get("ask")) == (bid, ask):
                return
            assert time.monotonic() < deadline, f"the feed did not see {sym} {bid}/{ask}"
            time.sleep(0.05)

    def put(self, path: str, operation: str, form: dict[str, Any]) -> Any:
        body = {k: str(v) for k, v in form.items()}
        resp = self.app.put(self.account + path, body, headers=self.headers)
        return self._tracked(operation, resp.json)

    @staticmethod
    def _tracked(operation: str, answer: Any) -> Any:
        """The answer; a success without its transaction id (checked here: the account
        tracks latency, so every command answers one)."""
        assert_valid(operation, answer)
        if answer["s"] == "ok":
            assert isinstance(answer["d"]["transactionId"], str) and answer["d"]["transactionId"]
            return {"s": "ok"}
        return answer

    def post(self, path: str, operation: str, form: dict[str, Any]) -> Any:
        body = {k: str(v) for k, v in form.items()}
        resp = self.app.post(self.account + path, body, headers=self.headers)
        assert_valid(operation, resp.json)
        return resp.json

    def delete(self, path: str, operation: str, form: dict[str, Any] | None = None) -> Any:
        # TradingView sends the amount of a partial close as a form body, even on DELETE.
        body = urllib.parse.urlencode(form or {}).encode()
        headers = self.headers | {"Content-Type": "application/x-www-form-urlencoded"}
        resp = self.app.request(self.account + path, method="DELETE", body=body, headers=headers)
        return self._tracked(operation, resp.json)

    def positions(self, instrument: str = "EURUSD") -> list[dict[str, Any]]:
        return [p for p in self.get("/positions", "getPositions") if p["instrument"] == instrument]

    def quiet(self) -> None:
        """Cancel the seeded working orders, so that moving the market fills only the test's."""
        for order in self.orders().values():
            if order["status"] == "working":
                assert self.delete(f"/orders/{order['id']}", "cancelOrder") == {"s": "ok"}

    def children(self, parent: str) -> dict[str, dict[str, Any]]:
        """The brackets of an order (or position) by type: limit (take-profit), stop."""
        found = [o for o in self.orders().values() if o.get("parentId") == parent]
        live = [o for o in found if o["status"] in ("inactive", "working")]
        return {o["type"]: o for o in (live or found)}

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
        # The quotes polled every 0.1 s instead of the example's 1 s: each move of the market
        # reaches the gateway sooner (the feed is what quote() waits for).
        spec = config.connectors["broker_db"]
        options = dataclasses.replace(spec.options, poll_interval=Duration(0.1))
        connectors = {**config.connectors, "broker_db": dataclasses.replace(spec, options=options)}
        config = dataclasses.replace(config, connectors=connectors)
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
    assert_valid("modifyOrder", resp.json)
    assert resp.json["s"] == "ok" and resp.json["d"]["transactionId"]  # the account tracks it
    order = broker.orders()[order_id]
    assert (order["qty"], order["limitPrice"]) == (3000, 1.075)
    assert broker.delete(f"/orders/{order_id}", "cancelOrder") == {"s": "ok"}
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


def test_brackets_are_inactive_then_working_then_one_cancels_the_other(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    parent = broker.place(qty=2000, type="limit", limitPrice=1.07, stopLoss=1.06, takeProfit=1.08)
    brackets = broker.children(parent)
    assert {o["status"] for o in brackets.values()} == {"inactive"}
    assert brackets["limit"]["limitPrice"] == 1.08 and brackets["stop"]["stopPrice"] == 1.06
    assert {(o["side"], o["qty"], o["parentType"]) for o in brackets.values()} == {
        ("sell", 2000, "order")
    }
    start = broker.position()
    broker.quote("EURUSD", 1.0699, 1.07)  # the parent fills
    broker.settle()
    orders = broker.orders()
    [position] = broker.positions()
    tp, sl = orders[brackets["limit"]["id"]], orders[brackets["stop"]["id"]]
    assert orders[parent]["status"] == "filled"
    assert tp["status"] == sl["status"] == "working"
    # The account has position brackets: they now protect the position the order added to.
    assert tp["parentId"] == sl["parentId"] == position["id"]
    assert tp["parentType"] == sl["parentType"] == "position"
    assert broker.position() == pytest.approx(start + 2000)
    broker.quote("EURUSD", 1.0800, 1.0801)  # the take-profit fills; the stop-loss goes
    broker.settle()
    orders = broker.orders()
    assert orders[tp["id"]]["status"] == "filled" and orders[sl["id"]]["status"] == "cancelled"
    assert broker.position() == pytest.approx(start)


def test_cancelling_a_parent_cancels_its_brackets(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    parent = broker.place(qty=1000, side="sell", type="limit", limitPrice=1.09, stopLoss=1.1,
                          takeProfit=1.05)  # fmt: skip
    assert broker.delete(f"/orders/{parent}", "cancelOrder") == {"s": "ok"}
    orders = broker.orders()
    family = [parent, *(o["id"] for o in broker.children(parent).values())]
    assert len(family) == 3 and {orders[o]["status"] for o in family} == {"cancelled"}


def test_modify_moves_the_brackets_and_removing_one_cancels_it_alone(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    parent = broker.place(qty=1000, type="limit", limitPrice=1.07, stopLoss=1.06, takeProfit=1.08)
    before = broker.children(parent)
    form = {"qty": 3000, "limitPrice": 1.071, "takeProfit": 1.085}
    assert broker.put(f"/orders/{parent}", "modifyOrder", form) == {"s": "ok"}
    orders = broker.orders()
    assert (orders[parent]["qty"], orders[parent]["limitPrice"]) == (3000, 1.071)
    tp = orders[before["limit"]["id"]]
    assert (tp["limitPrice"], tp["qty"], tp["status"]) == (1.085, 3000, "inactive")
    assert orders[before["stop"]["id"]]["status"] == "cancelled"  # the user removed it
    # Adding a stop-loss back makes a new bracket.
    form["stopLoss"] = 1.065
    assert broker.put(f"/orders/{parent}", "modifyOrder", form) == {"s": "ok"}
    now = broker.children(parent)
    assert sorted(now) == ["limit", "stop"] and now["stop"]["id"] != before["stop"]["id"]
    assert (now["stop"]["stopPrice"], now["stop"]["qty"]) == (1.065, 3000)
    # A bracket is modified on its own.
    assert broker.put(f"/orders/{now['limit']['id']}", "modifyOrder",
                      {"qty": 3000, "limitPrice": 1.09}) == {"s": "ok"}  # fmt: skip
    assert broker.orders()[now["limit"]["id"]]["limitPrice"] == 1.09
    # Brackets on the wrong side of the order price are refused before the database.
    resp = broker.put(f"/orders/{parent}", "modifyOrder", {**form, "stopLoss": 1.075})
    assert resp["s"] == "error" and "stopLoss" in resp["errmsg"]


def test_cancelling_one_bracket_leaves_the_other_and_the_parent(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    parent = broker.place(qty=1000, type="market", stopLoss=1.07, takeProfit=1.09)
    broker.settle()
    [position] = broker.positions()
    brackets = broker.children(position["id"])  # the filled order's brackets, now the position's
    assert {o["qty"] for o in brackets.values()} == {1000}
    assert {o["status"] for o in brackets.values()} == {"working"}
    assert broker.delete(f"/orders/{brackets['stop']['id']}", "cancelOrder") == {"s": "ok"}
    orders = broker.orders()
    assert orders[brackets["stop"]["id"]]["status"] == "cancelled"
    assert orders[brackets["limit"]["id"]]["status"] == "working"
    assert orders[parent]["status"] == "filled"


def protected_position(broker: Broker) -> tuple[dict[str, Any], float, dict[str, Any]]:
    """The seeded EURUSD position with a 1.07 stop-loss and a 1.09 take-profit put on it:
    the position, its size and its brackets by type."""
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    [position] = broker.positions()
    form = {"stopLoss": 1.07, "takeProfit": 1.09}
    assert broker.put(f"/positions/{position['id']}", "modifyPosition", form) == {"s": "ok"}
    return position, position["qty"], broker.children(position["id"])


def test_position_brackets_follow_partial_closes_and_closing_cancels_them(broker: Broker) -> None:
    position, held, brackets = protected_position(broker)
    assert sorted((o["type"], o["side"], o["status"], o["qty"]) for o in brackets.values()) == [
        ("limit", "sell", "working", held),
        ("stop", "sell", "working", held),
    ]
    # Moving one and dropping the other.
    assert broker.put(f"/positions/{position['id']}", "modifyPosition",
                      {"stopLoss": 1.075}) == {"s": "ok"}  # fmt: skip
    orders = broker.orders()
    assert orders[brackets["stop"]["id"]]["stopPrice"] == 1.075
    assert orders[brackets["limit"]["id"]]["status"] == "cancelled"
    # A partial close leaves the stop-loss protecting what is left.
    resp = broker.delete(f"/positions/{position['id']}", "closePosition", {"amount": 20000})
    assert resp == {"s": "ok"}
    broker.settle()
    [position] = broker.positions()
    assert position["qty"] == held - 20000
    assert broker.orders()[brackets["stop"]["id"]]["qty"] == held - 20000
    # Closing the rest ends the position and its stop-loss.
    assert broker.delete(f"/positions/{position['id']}", "closePosition") == {"s": "ok"}
    broker.settle()
    assert broker.positions() == []
    assert broker.orders()[brackets["stop"]["id"]]["status"] == "cancelled"
    # Closing more than is held, or what is gone, is refused.
    resp = broker.delete(f"/positions/{position['id']}", "closePosition")
    assert resp["s"] == "error" and position["id"] in resp["errmsg"]


def test_bracket_kinds_the_account_does_not_offer_are_refused(broker: Broker) -> None:
    broker.account = NETTING  # its profile offers neither trailing nor guaranteed stops
    broker.quote("EURUSD", 1.08000, 1.08010)
    before = broker.orders()
    for form, feature in (
        ({"trailingStopPips": 20}, "trailing stops"),
        ({"guaranteedStop": 1.07}, "guaranteed stops"),
    ):
        body = {"instrument": "EURUSD", "side": "buy", "qty": "1000", "type": "market", **form}
        resp = broker.app.post(f"{NETTING}/orders", {k: str(v) for k, v in body.items()},
                               headers=broker.headers)  # fmt: skip
        assert resp.json["s"] == "error" and feature in resp.json["errmsg"]
    assert broker.orders() == before


def test_native_reverse_turns_the_position_over_and_ends_its_brackets(broker: Broker) -> None:
    position, held, brackets = protected_position(broker)
    resp = broker.put(f"/positions/{position['id']}", "modifyPosition", {"side": "sell"})
    assert resp == {"s": "ok"}
    broker.settle()
    [reversed_] = broker.positions()
    assert (reversed_["side"], reversed_["qty"]) == ("sell", held)
    orders = broker.orders()
    assert {orders[o["id"]]["status"] for o in brackets.values()} == {"cancelled"}
    # The same side again is not a reversal: brackets only, and there are none to set.
    resp = broker.put(f"/positions/{reversed_['id']}", "modifyPosition", {"side": "sell"})
    assert resp == {"s": "ok"}
    broker.settle()
    assert [(p["side"], p["qty"]) for p in broker.positions()] == [("sell", held)]


def test_preview_then_place_with_the_confirm_id_and_track_latency(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    form = {"instrument": "EURUSD", "side": "buy", "qty": "2000", "type": "market",
            "takeProfit": "1.09"}  # fmt: skip
    resp = broker.app.post(f"{ACCOUNT}/previewOrder", form, headers=broker.headers)
    assert_valid("previewOrder", resp.json)
    preview = resp.json["d"]
    rows = {r["title"]: r["value"] for r in preview["sections"][0]["rows"]}
    assert rows["Estimated price"] == "1.0801" and rows["Order value"] == "2,160.20 USD"
    assert rows["Take profit"] == "1.09" and "Margin required" not in rows  # the broker's
    confirmed = f"{ACCOUNT}/orders?confirmId={preview['confirmId']}"
    resp = broker.app.post(confirmed, form, headers=broker.headers)
    assert_valid("placeOrder", resp.json)
    placed = resp.json["d"]
    assert broker.orders()[placed["orderId"]]["qty"] == 2000
    # A confirmId serves once, and only the order it previewed.
    again = broker.app.post(confirmed, form, headers=broker.headers).json
    assert again["s"] == "error" and "preview" in again["errmsg"].lower()
    # Latency is tracked against the transaction the placement answered.
    latency = {"transactionId": placed["transactionId"], "transactionType": "place_order",
               "instrument": "EURUSD", "side": "buy", "qty": "2000", "ask": "1.0801",
               "bid": "1.08", "timestamp": "1800000000000", "roundTripDuration": "85"}  # fmt: skip
    resp = broker.app.post(f"{ACCOUNT}/trackLatency", latency, headers=broker.headers)
    assert_valid("trackLatency", resp.json)
    assert resp.json == {"s": "ok"}
    unknown = {**latency, "transactionId": "nope"}
    resp = broker.app.post(f"{ACCOUNT}/trackLatency", unknown, headers=broker.headers)
    assert resp.json["s"] == "error"
    # Modifying is previewed too; a final order cannot be.
    resting = broker.place(type="limit", limitPrice=1.07, qty=1000)
    resp = broker.app.post(f"{ACCOUNT}/previewOrder", {"id": resting, "qty": "3000",
                           "limitPrice": "1.071"}, headers=broker.headers)  # fmt: skip
    rows = {r["title"]: r["value"] for r in resp.json["d"]["sections"][0]["rows"]}
    assert (rows["Quantity"], rows["Estimated price"]) == ("3000", "1.071")
    assert resp.json["d"]["confirmId"]
    broker.settle()
    filled = placed["orderId"]
    resp = broker.app.post(f"{ACCOUNT}/previewOrder", {"id": filled, "qty": "1000"},
                           headers=broker.headers)  # fmt: skip
    assert_valid("previewOrder", resp.json)
    assert resp.json["d"]["errors"] == [f"Order {filled} is already filled."]
    assert "confirmId" not in resp.json["d"]


def test_reverse_by_a_double_quantity_order(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    start = broker.position()
    broker.place(type="market", side="buy", qty=10000)
    broker.settle()
    held = broker.position()
    assert held == start + 10000
    # What TradingView sends to reverse where the broker has no native reversal.
    broker.place(type="market", side="sell", qty=int(2 * held))
    broker.settle()
    [position] = broker.positions()
    assert (position["side"], position["qty"]) == ("sell", held)
    assert position["avgPrice"] == 1.08  # turned over: the rest opened at the fill's bid


def test_netting_mode_net_and_individual_positions(broker: Broker) -> None:
    broker.account = NETTING  # alice's EUR account: its `book` is N, the netting profile
    broker.quote("EURUSD", 1.08000, 1.08010)
    assert broker.get("/individualPositions", "getIndividualPositions") == []
    refused = broker.app.get(NETTING + "/positions", headers=broker.headers).json
    assert refused["s"] == "error" and "positions" in refused["errmsg"]
    for side, qty in (("buy", 1000), ("buy", 3000), ("sell", 2000)):
        broker.place(type="market", side=side, qty=qty)
        broker.settle()
    [lot] = broker.get("/individualPositions", "getIndividualPositions")
    assert (lot["side"], lot["qty"], lot["price"]) == ("buy", 2000, 1.0801)
    assert lot["date"] == str(int(NOW * 1000))  # when the first fill opened it
    [net] = broker.get("/netPositions", "getNetPositions")
    assert (net["id"], net["qty"], net["longQty"], net["shortQty"]) == ("EURUSD", 2000, 2000, 0)
    # Brackets on the individual position: a working stop for its size.
    answer = broker.put(f"/individualPositions/{lot['id']}", "modifyIndividualPosition",
                        {"stopLoss": 1.07})  # fmt: skip
    assert answer == {"s": "ok"}
    stop = broker.children(lot["id"])["stop"]
    assert (stop["status"], stop["stopPrice"], stop["qty"]) == ("working", 1.07, 2000)
    # A partial close of the individual position; its stop follows the size.
    answer = broker.delete(f"/individualPositions/{lot['id']}", "closeIndividualPosition",
                           {"amount": 1000})  # fmt: skip
    assert answer == {"s": "ok"}
    broker.settle()
    [lot] = broker.get("/individualPositions", "getIndividualPositions")
    assert lot["qty"] == 1000 and broker.children(lot["id"])["stop"]["qty"] == 1000
    # Closing the net position closes what is left, and ends the stop.
    assert broker.delete("/netPositions/EURUSD", "closeNetPosition") == {"s": "ok"}
    broker.settle()
    assert broker.get("/netPositions", "getNetPositions") == []
    assert broker.get("/individualPositions", "getIndividualPositions") == []
    assert broker.children(lot["id"])["stop"]["status"] == "cancelled"
    unknown = broker.delete("/netPositions/AAPL", "closeNetPosition")
    assert unknown["s"] == "error" and "AAPL" in unknown["errmsg"]


def test_leverage_is_the_broker_s_and_checked_against_its_bounds(broker: Broker) -> None:
    form = {"instrument": "EURUSD", "side": "buy", "orderType": "market"}
    got = broker.post("/getLeverage", "getLeverage", form)["d"]
    # EURUSD's margin rate is 3.33%: up to 1:30, the default until the client chooses.
    assert (got["leverage"], got["min"], got["max"], got["step"]) == (30, 1, 30, 1)
    assert got["title"] == "EURUSD leverage"
    preview = broker.post("/previewLeverage", "previewLeverage", form | {"leverage": 10})["d"]
    assert "infos" in preview and "errors" not in preview
    preview = broker.post("/previewLeverage", "previewLeverage", form | {"leverage": 45})["d"]
    assert preview["errors"] and "30" in preview["errors"][0]
    answer = broker.post("/setLeverage", "setLeverage", form | {"leverage": 10})
    assert answer == {"s": "ok", "d": {"leverage": 10}}
    assert broker.post("/getLeverage", "getLeverage", form)["d"]["leverage"] == 10
    # A second choice replaces the first; out of bounds and off the step are refused.
    assert broker.post("/setLeverage", "setLeverage", form | {"leverage": 20})["d"] == {
        "leverage": 20
    }
    for bad in (45, 2.5, 0):
        refused = broker.post("/setLeverage", "setLeverage", form | {"leverage": bad})
        assert refused["s"] == "error" and refused["errmsg"], bad
    assert broker.post("/getLeverage", "getLeverage", form)["d"]["leverage"] == 20
    # Another symbol, another bound (AAPL's margin rate is 20%: up to 1:5).
    aapl = broker.post("/getLeverage", "getLeverage", form | {"instrument": "AAPL"})["d"]
    assert (aapl["leverage"], aapl["max"]) == (5, 5)


def test_state_and_positions_agree_on_pl(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    broker.quote("BTCUSD", 64000.00, 64010.00)  # 24x7: quoted at the test's hour, unlike AAPL
    broker.place(type="market", side="buy", qty=10000)
    broker.place(instrument="BTCUSD", type="market", side="sell", qty=0.5)
    broker.settle()
    broker.quote("EURUSD", 1.08500, 1.08510)
    broker.quote("BTCUSD", 63900.00, 63910.00)
    [eur] = broker.positions()
    [btc] = broker.positions("BTCUSD")
    # A long is worth the bid, a short costs the ask to close.
    assert eur["unrealizedPl"] == pytest.approx((1.085 - eur["avgPrice"]) * eur["qty"])
    assert btc["unrealizedPl"] == pytest.approx((64000.00 - 63910.00) * 0.5)
    state = broker.get("/state", "getState")
    assert state["unrealizedPl"] == pytest.approx(eur["unrealizedPl"] + btc["unrealizedPl"])
    assert state["equity"] == pytest.approx(state["balance"] + state["unrealizedPl"])


def test_eur_account_converts_pl_at_the_eurusd_mid(broker: Broker) -> None:
    broker.account = NETTING  # alice's EUR account
    broker.quote("EURUSD", 1.08000, 1.08010)
    broker.place(type="market", side="buy", qty=10000)
    broker.settle()
    broker.quote("EURUSD", 1.09010, 1.09020)
    [lot] = broker.get("/individualPositions", "getIndividualPositions")
    usd = (1.0901 - 1.0801) * 10000
    assert lot["unrealizedPl"] == pytest.approx(usd / 1.09015, rel=1e-6)
    state = broker.get("/state", "getState")
    assert state["unrealizedPl"] == pytest.approx(lot["unrealizedPl"], rel=1e-6)


def test_day_orders_expire_at_the_end_of_day_gtc_orders_stay(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    day = broker.place(type="limit", limitPrice=1.07, durationType="DAY")
    gtc = broker.place(type="limit", limitPrice=1.07, durationType="GTC")
    assert broker.office.end_of_day(broker.url, int(NOW * 1000)) == 1
    orders = broker.orders()
    assert orders[day]["status"] == "cancelled"
    assert orders[day]["message"] == {"text": broker.office.EXPIRED, "type": "information"}
    assert orders[gtc]["status"] == "working"


def test_trailing_stop_follows_the_market(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    [seeded] = broker.positions()
    parent = broker.place(type="market", side="buy", qty=1000, trailingStopPips=20)
    stop = broker.children(parent)["stop"]
    assert stop["isTrailingStop"] is True and stop["trailingStopPips"] == 20
    assert stop["stopPrice"] == pytest.approx(1.0801 - 0.002)  # 20 pips under the ask
    broker.settle()
    broker.quote("EURUSD", 1.09000, 1.09010)
    broker.settle()
    assert broker.orders()[stop["id"]]["stopPrice"] == pytest.approx(1.088)
    broker.quote("EURUSD", 1.08900, 1.08910)  # never back
    broker.settle()
    assert broker.orders()[stop["id"]]["stopPrice"] == pytest.approx(1.088)
    broker.quote("EURUSD", 1.08790, 1.08800)
    broker.settle()
    filled = broker.orders()[stop["id"]]
    assert (filled["status"], filled["avgPrice"]) == ("filled", 1.0879)
    assert broker.position() == seeded["qty"]  # what the stop protected is sold again


def test_guaranteed_stop_fills_at_its_price(broker: Broker) -> None:
    broker.quiet()
    broker.quote("EURUSD", 1.08000, 1.08010)
    parent = broker.place(type="market", side="buy", qty=1000, guaranteedStop=1.075)
    stop = broker.children(parent)["stop"]
    assert stop["isGuaranteedStop"] is True and stop["stopPrice"] == 1.075
    broker.settle()
    broker.quote("EURUSD", 1.07000, 1.07010)  # gapped through the stop
    broker.settle()
    assert broker.orders()[stop["id"]]["avgPrice"] == 1.075


def test_partial_fill_of_a_bracket_shrinks_its_sibling(broker: Broker) -> None:
    broker.quiet()
    broker.account = NETTING  # no seeded position: the brackets protect the order alone
    broker.quote("EURUSD", 1.08000, 1.08010)
    parent = broker.place(type="market", side="buy", qty=2000, takeProfit=1.09, stopLoss=1.07)
    brackets = broker.children(parent)
    broker.settle()  # the parent fills: its brackets now work for the position
    orders = broker.orders()
    assert {orders[o["id"]]["status"] for o in brackets.values()} == {"working"}
    broker.quote("EURUSD", 1.09000, 1.09010)
    assert broker.office.match(broker.url, int(NOW * 1000), max_qty=500) == 1
    orders = broker.orders()
    take, stop = orders[brackets["limit"]["id"]], orders[brackets["stop"]["id"]]
    assert (take["status"], take["filledQty"]) == ("working", 500)
    assert (stop["status"], stop["qty"]) == ("working", 1500)  # no more than is held
    broker.settle()
    orders = broker.orders()
    assert orders[brackets["limit"]["id"]]["status"] == "filled"
    assert orders[brackets["stop"]["id"]]["status"] == "cancelled"
    assert broker.get("/individualPositions", "getIndividualPositions") == []
