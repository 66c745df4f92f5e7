"""TradingView's trading test cases, end to end through HTTP against the paper venue.

Every answer is checked against the spec's schemas (``Desk.call``). Prices: EURUSD is quoted
1.08000 / 1.08010 unless a test moves it.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import GatewayConfig
from tests.trading_app import Desk, desk

EUR = {"instrument": "EURUSD"}


def _qty(positions: list[dict[str, object]], instrument: str = "EURUSD") -> float:
    total = 0.0
    for p in positions:
        if p["instrument"] == instrument:
            qty = float(p["qty"])  # type: ignore[arg-type]
            total += qty if p["side"] == "buy" else -qty
    return total


def test_market_orders_fill_at_the_ask_and_bid(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        buy = d.place(qty=10000, side="buy", type="market")
        sell = d.place(qty=4000, side="sell", type="market")
        orders = d.orders()
        assert orders[buy]["status"] == "filled" and orders[buy]["avgPrice"] == 1.0801
        assert orders[sell]["status"] == "filled" and orders[sell]["avgPrice"] == 1.08
        [position] = d.positions()
        assert position["qty"] == 6000 and position["side"] == "buy"
        assert position["avgPrice"] == pytest.approx(1.0801)
        # Realized on 4000 units: (1.08000 - 1.08010) x 4000 = -0.40 USD.
        assert d.state()["balance"] == pytest.approx(100000 - 0.40)


@pytest.mark.parametrize(
    ("form", "move", "price"),
    [
        ({"type": "limit", "limitPrice": 1.07}, (1.0698, 1.0699), 1.0699),
        ({"type": "stop", "stopPrice": 1.09}, (1.0900, 1.0901), 1.0901),
        ({"type": "stoplimit", "stopPrice": 1.09, "limitPrice": 1.0905}, (1.0902, 1.0903), 1.0903),
    ],
)
def test_resting_orders_work_until_the_market_reaches_them(
    any_store: GatewayConfig,
    form: dict[str, Any],
    move: tuple[float, float],
    price: float,
) -> None:
    with desk(any_store) as d:
        order_id = d.place(qty=1000, side="buy", **form)
        assert d.orders()[order_id]["status"] == "working"
        assert d.positions() == []
        d.quote("EURUSD", *move)
        order = d.orders()[order_id]
        assert order["status"] == "filled" and order["avgPrice"] == price
        assert _qty(d.positions()) == 1000


def test_brackets_are_inactive_then_working_then_one_cancels_the_other(
    any_store: GatewayConfig,
) -> None:
    with desk(any_store) as d:
        parent = d.place(qty=2000, side="buy", type="limit", limitPrice=1.07, stopLoss=1.06,
                         takeProfit=1.08)  # fmt: skip
        orders = d.orders()
        brackets = {o["type"]: o for o in orders.values() if o.get("parentId") == parent}
        assert {o["status"] for o in brackets.values()} == {"inactive"}
        assert brackets["limit"]["limitPrice"] == 1.08 and brackets["stop"]["stopPrice"] == 1.06
        assert {o["side"] for o in brackets.values()} == {"sell"}
        assert {o["qty"] for o in brackets.values()} == {2000}
        assert {o["parentType"] for o in brackets.values()} == {"order"}

        d.quote("EURUSD", 1.0699, 1.07)  # the parent fills
        orders = d.orders()
        [position] = d.positions()
        tp, sl = orders[brackets["limit"]["id"]], orders[brackets["stop"]["id"]]
        assert orders[parent]["status"] == "filled"
        assert tp["status"] == sl["status"] == "working"
        # The demo account supports position brackets: they now belong to the position.
        assert tp["parentId"] == sl["parentId"] == position["id"]
        assert tp["parentType"] == "position"

        d.quote("EURUSD", 1.0800, 1.0801)  # the take-profit fills; the stop-loss goes
        orders = d.orders()
        assert orders[tp["id"]]["status"] == "filled"
        assert orders[sl["id"]]["status"] == "cancelled"
        assert d.positions() == []
        # Bought 2000 at 1.07, sold at 1.08: +20 USD.
        assert d.state()["balance"] == pytest.approx(100020)


def test_cancelling_a_parent_cancels_its_brackets(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        parent = d.place(qty=1000, side="sell", type="limit", limitPrice=1.09, stopLoss=1.1,
                         takeProfit=1.05)  # fmt: skip
        assert d.delete(f"/orders/{parent}", "cancelOrder")["s"] == "ok"
        statuses = {o["id"]: o["status"] for o in d.orders().values()}
        assert set(statuses.values()) == {"cancelled"} and len(statuses) == 3


def test_modify_moves_the_price_and_removing_a_bracket_cancels_it_alone(
    any_store: GatewayConfig,
) -> None:
    with desk(any_store) as d:
        parent = d.place(qty=1000, side="buy", type="limit", limitPrice=1.07, stopLoss=1.06,
                         takeProfit=1.08)  # fmt: skip
        form = {"qty": 3000, "limitPrice": 1.071, "takeProfit": 1.085}
        assert d.put(f"/orders/{parent}", "modifyOrder", form)["s"] == "ok"
        orders = d.orders()
        assert orders[parent]["limitPrice"] == 1.071 and orders[parent]["qty"] == 3000
        children = [o for o in orders.values() if o.get("parentId") == parent]
        tp = next(o for o in children if o["type"] == "limit")
        sl = next(o for o in children if o["type"] == "stop")
        assert tp["limitPrice"] == 1.085 and tp["qty"] == 3000 and tp["status"] == "inactive"
        assert sl["status"] == "cancelled"  # absent from the modify: the user removed it
        assert orders[parent]["status"] == "working"
        # Adding a stop-loss back creates a new bracket.
        form = {"qty": 3000, "limitPrice": 1.071, "takeProfit": 1.085, "stopLoss": 1.065}
        d.put(f"/orders/{parent}", "modifyOrder", form)
        live = [o for o in d.orders().values() if o.get("parentId") == parent
                and o["status"] == "inactive"]  # fmt: skip
        assert sorted(o["type"] for o in live) == ["limit", "stop"]


def test_cancelling_one_bracket_leaves_the_other_and_the_parent(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        parent = d.place(qty=1000, side="buy", type="market", stopLoss=1.07, takeProfit=1.09)
        orders = d.orders()
        sl = next(o for o in orders.values() if o["type"] == "stop")
        tp = next(o for o in orders.values() if o["type"] == "limit")
        assert d.delete(f"/orders/{sl['id']}", "cancelOrder")["s"] == "ok"
        orders = d.orders()
        assert orders[sl["id"]]["status"] == "cancelled"
        assert orders[tp["id"]]["status"] == "working"
        assert orders[parent]["status"] == "filled"


def test_partial_fill_of_a_bracket_shrinks_its_sibling(any_store: GatewayConfig) -> None:
    with desk(any_store, max_fill_qty=1000) as d:
        d.place(qty=3000, side="buy", type="limit", limitPrice=1.079, stopLoss=1.07,
                takeProfit=1.09)  # fmt: skip
        for i in range(3):  # three quotes, three slices of 1000 (a repeated quote adds none)
            d.quote("EURUSD", 1.0789 - i * 0.0001, 1.0790 - i * 0.0001)
        assert _qty(d.positions()) == 3000
        d.quote("EURUSD", 1.0900, 1.0901)  # 1000 of the take-profit fills
        orders = d.orders()
        tp = next(o for o in orders.values() if o["type"] == "limit" and o["side"] == "sell")
        sl = next(o for o in orders.values() if o["type"] == "stop")
        assert tp["filledQty"] == 1000 and tp["status"] == "working"
        assert sl["qty"] == 2000  # what is left to protect
        assert _qty(d.positions()) == 2000


def test_position_brackets_added_later_and_closing_cancels_them(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        d.place(qty=5000, side="sell", type="market")
        [position] = d.positions()
        form = {"stopLoss": 1.09, "takeProfit": 1.07}
        assert d.put(f"/positions/{position['id']}", "modifyPosition", form)["s"] == "ok"
        brackets = [o for o in d.orders().values() if o.get("parentType") == "position"]
        assert sorted((o["type"], o["side"], o["status"]) for o in brackets) == [
            ("limit", "buy", "working"),
            ("stop", "buy", "working"),
        ]
        assert {o["qty"] for o in brackets} == {5000}
        assert d.delete(f"/positions/{position['id']}", "closePosition")["s"] == "ok"
        assert d.positions() == []
        assert {d.orders()[o["id"]]["status"] for o in brackets} == {"cancelled"}


def test_partial_close_and_native_reverse(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        d.place(qty=5000, side="buy", type="market")
        [position] = d.positions()
        d.delete(f"/positions/{position['id']}", "closePosition", {"amount": 2000})
        d.settle()
        [position] = d.positions()
        assert position["qty"] == 3000
        assert (
            d.put(f"/positions/{position['id']}", "modifyPosition", {"side": "sell"})["s"] == "ok"
        )
        d.settle()
        [reversed_] = d.positions()
        assert reversed_["side"] == "sell" and reversed_["qty"] == 3000
        assert reversed_["id"] != position["id"]


def test_reverse_by_a_double_quantity_order(any_store: GatewayConfig) -> None:
    flags = {"support_native_reverse_position": False}
    with desk(any_store, flags=flags) as d:
        d.place(qty=2000, side="buy", type="market")
        d.place(qty=4000, side="sell", type="market")  # what TradingView sends to reverse
        [position] = d.positions()
        assert position["side"] == "sell" and position["qty"] == 2000


def test_multiposition_keeps_one_position_per_order(any_store: GatewayConfig) -> None:
    with desk(any_store, flags={"support_multiposition": True}) as d:
        d.place(qty=1000, side="buy", type="market")
        d.place(qty=2000, side="sell", type="market")
        positions = d.positions()
        assert sorted((p["side"], p["qty"]) for p in positions) == [("buy", 1000), ("sell", 2000)]
        short = next(p for p in positions if p["side"] == "sell")
        d.delete(f"/positions/{short['id']}", "closePosition")
        d.settle()
        assert [(p["side"], p["qty"]) for p in d.positions()] == [("buy", 1000)]


def test_netting_mode_net_and_individual_positions(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        acct = "DEMO-EUR"
        d.place(acct, qty=1000, side="buy", type="market")
        d.place(acct, qty=3000, side="buy", type="market")
        d.place(acct, qty=2000, side="sell", type="market")  # takes the first lot, half the next
        individual = d.get("/individualPositions", "getIndividualPositions", acct)["d"]
        assert [(p["side"], p["qty"]) for p in individual] == [("buy", 2000)]
        assert isinstance(individual[0]["date"], str)
        [net] = d.get("/netPositions", "getNetPositions", acct)["d"]
        assert net["id"] == "EURUSD" and net["qty"] == 2000 and net["longQty"] == 2000
        form = {"stopLoss": 1.07}
        lot = individual[0]["id"]
        answer = d.put(f"/individualPositions/{lot}", "modifyIndividualPosition", form, acct)
        assert answer["s"] == "ok"
        stops = [o for o in d.orders(acct).values() if o["type"] == "stop"]
        assert stops[0]["parentId"] == lot and stops[0]["status"] == "working"
        d.delete(f"/individualPositions/{lot}", "closeIndividualPosition", {"amount": 1000}, acct)
        d.settle()
        assert d.get("/individualPositions", "getIndividualPositions", acct)["d"][0]["qty"] == 1000
        d.delete("/netPositions/EURUSD", "closeNetPosition", None, acct)
        d.settle()
        assert d.get("/netPositions", "getNetPositions", acct)["d"] == []


def test_executions_and_history(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        buy = d.place(qty=1000, side="buy", type="market")
        d.place(qty=1000, side="sell", type="market")
        fills = d.get("/executions", "getExecutions", instrument="EURUSD")["d"]
        assert [(f["orderId"], f["side"], f["isClose"]) for f in reversed(fills)] == [
            (buy, "buy", False),
            (str(int(buy) + 1), "sell", True),
        ]
        # Final orders stay in /orders during the session; the history holds earlier ones.
        assert d.get("/ordersHistory", "getOrdersHistory")["d"] == []
        d.advance(86400)  # the next trading day
        assert set(d.orders()) == set()
        history = d.get("/ordersHistory", "getOrdersHistory", maxCount=10)["d"]
        assert {o["id"] for o in history} == {buy, str(int(buy) + 1)}
        assert {o["status"] for o in history} == {"filled"}


def test_preview_then_place_with_the_confirm_id(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        form = d.order_form(qty=1000, side="buy", type="limit", limitPrice=1.075)
        preview = d.post("/previewOrder", "previewOrder", form)["d"]
        titles = [r["title"] for r in preview["sections"][0]["rows"]]
        assert "Margin required" in titles and "errors" not in preview
        answer = d.post("/orders", "placeOrder", form, confirmId=preview["confirmId"])
        assert answer["s"] == "ok"
        again = d.post("/orders", "placeOrder", form, confirmId=preview["confirmId"])
        assert again["s"] == "error"  # a preview confirms one placement


def test_leverage_changes_the_margin(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        form = {"instrument": "EURUSD", "side": "buy", "orderType": "market"}
        got = d.post("/getLeverage", "getLeverage", form)["d"]
        assert (got["leverage"], got["min"], got["max"], got["step"]) == (30, 1, 30, 1)
        d.place(qty=10000, side="buy", type="market")
        margin_at_30 = d.state()["marginAvailable"]
        preview = d.post("/previewLeverage", "previewLeverage", form | {"leverage": 10})["d"]
        assert "infos" in preview
        assert d.post("/setLeverage", "setLeverage", form | {"leverage": 10})["d"] == {
            "leverage": 10
        }
        assert d.post("/getLeverage", "getLeverage", form)["d"]["leverage"] == 10
        # 10000 x 1.08 at 1:10 is 1080 of margin instead of 360.
        assert d.state()["marginAvailable"] == pytest.approx(margin_at_30 - 720, abs=0.01)


def test_transaction_ids_and_latency_tracking(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        answer = d.try_place(qty=1000, side="buy", type="limit", limitPrice=1.07)
        transaction = answer["d"]["transactionId"]
        report = {
            "transactionId": transaction,
            "transactionType": "place_order",
            "instrument": "EURUSD",
            "qty": 1000,
            "side": "buy",
            "ask": 1.0801,
            "bid": 1.08,
            "timestamp": 1_795_014_000_000,
            "roundTripDuration": 42,
        }
        assert d.post("/trackLatency", "trackLatency", report) == {"s": "ok"}
        order_id = answer["d"]["orderId"]
        cancelled = d.delete(f"/orders/{order_id}", "cancelOrder")
        assert isinstance(cancelled["d"]["transactionId"], str)


def test_request_id_deduplicates_retried_placements(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        query = {"requestId": "retry-1"}
        first = d.try_place(query=query, qty=1000, side="buy", type="market")
        second = d.try_place(query=query, qty=1000, side="buy", type="market")
        assert first["d"]["orderId"] == second["d"]["orderId"]
        assert len(d.orders()) == 1 and _qty(d.positions()) == 1000


def test_state_and_positions_agree_on_pl(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        d.place(qty=10000, side="buy", type="market")
        d.place(instrument="AAPL", qty=10, side="sell", type="market", currentAsk=190.02,
                currentBid=190.0)  # fmt: skip
        d.quote("EURUSD", 1.0850, 1.0851)
        d.quote("AAPL", 189.0, 189.01)
        positions = d.positions()
        state = d.state()
        total = sum(p["unrealizedPl"] for p in positions)
        assert total == pytest.approx((1.085 - 1.0801) * 10000 + (190.0 - 189.01) * 10)
        assert state["unrealizedPl"] == pytest.approx(total, abs=1e-6)
        assert state["equity"] == pytest.approx(state["balance"] + state["unrealizedPl"])


def test_eur_account_converts_pl_with_the_feed_rate(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        d.place("DEMO-EUR", qty=10000, side="buy", type="market")
        d.quote("EURUSD", 1.0901, 1.0902)
        [lot] = d.get("/individualPositions", "getIndividualPositions", "DEMO-EUR")["d"]
        usd = (1.0901 - 1.0801) * 10000
        assert lot["unrealizedPl"] == pytest.approx(usd / 1.09015, rel=1e-6)


def test_trailing_stop_follows_the_market(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        d.place(qty=1000, side="buy", type="market", trailingStopPips=20)
        stop = next(o for o in d.orders().values() if o["type"] == "stop")
        assert stop["isTrailingStop"] is True and stop["trailingStopPips"] == 20
        assert stop["stopPrice"] == pytest.approx(1.0801 - 0.002)
        d.quote("EURUSD", 1.0900, 1.0901)
        d.gateway.services.trading.engine.trail()  # type: ignore[union-attr]
        d.settle()
        assert d.orders()[stop["id"]]["stopPrice"] == pytest.approx(1.088)
        d.quote("EURUSD", 1.0890, 1.0891)  # never back
        d.gateway.services.trading.engine.trail()  # type: ignore[union-attr]
        assert d.orders()[stop["id"]]["stopPrice"] == pytest.approx(1.088)
        d.quote("EURUSD", 1.0879, 1.0880)
        assert d.orders()[stop["id"]]["status"] == "filled"
        assert d.positions() == []


def test_guaranteed_stop_fills_at_its_price(any_store: GatewayConfig) -> None:
    with desk(any_store, flags={"support_guaranteed_stop": True}, slippage_ticks=50) as d:
        d.place(qty=1000, side="buy", type="market", guaranteedStop=1.075)
        stop = next(o for o in d.orders().values() if o["type"] == "stop")
        assert stop["isGuaranteedStop"] is True
        d.quote("EURUSD", 1.0700, 1.0701)  # gapped through the stop
        assert d.orders()[stop["id"]]["avgPrice"] == 1.075


def test_day_orders_expire_at_the_session_close(any_store: GatewayConfig) -> None:
    with desk(any_store) as d:
        order_id = d.place(instrument="AAPL", qty=1, side="buy", type="limit", limitPrice=150,
                           durationType="DAY", currentAsk=190.02, currentBid=190.0)  # fmt: skip
        d.advance(6 * 3600 + 60)  # 10:00 New York + 6 h 1 min: after the 16:00 close
        d.gateway.services.connectors["paper"].check_expiry()
        d.settle()
        order = d.orders()[order_id]
        assert order["status"] == "cancelled" and order["duration"] == {"type": "DAY"}
        assert "message" in order


def test_venue_rejection_outside_the_session(any_store: GatewayConfig) -> None:
    with desk(any_store, outside_session="reject") as d:
        d.advance(7 * 3600)  # 17:00 New York: AAPL is closed
        answer = d.try_place(instrument="AAPL", qty=1, side="buy", type="market",
                             currentAsk=190.02, currentBid=190.0)  # fmt: skip
        assert answer["s"] == "error" and "closed" in answer["errmsg"]
        [order] = d.orders().values()
        assert order["status"] == "rejected" and order["message"]["type"] == "error"


def _check(d: Desk) -> None:
    """Every position equals the sum of its account's fills."""
    fills = d.get("/executions", "getExecutions", instrument="EURUSD", maxCount=1000)["d"]
    signed = sum(f["qty"] if f["side"] == "buy" else -f["qty"] for f in fills)
    assert _qty(d.positions()) == pytest.approx(signed)


def test_positions_equal_the_sum_of_fills_after_a_mixed_session(
    any_store: GatewayConfig,
) -> None:
    with desk(any_store) as d:
        d.place(qty=3000, side="buy", type="market", takeProfit=1.0825, stopLoss=1.075)
        d.place(qty=1000, side="sell", type="limit", limitPrice=1.0815)
        d.quote("EURUSD", 1.0815, 1.0816)
        d.place(qty=5000, side="sell", type="market")
        d.quote("EURUSD", 1.0824, 1.0825)
        _check(d)
