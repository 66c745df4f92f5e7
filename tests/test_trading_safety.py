"""Consistency under concurrency, commissions, balances and sessions of the paper venue."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from gateway.config import GatewayConfig
from gateway.plugins.records import Quote
from tests.trading_app import Desk, desk

EUR = "EURUSD"


def _fills_by_order(d: Desk) -> dict[str, float]:
    with d.gateway.services.database.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT order_id, SUM(qty) FROM gw_executions GROUP BY order_id")
        ).all()
    return {str(order_id): float(total) for order_id, total in rows}


def _net(d: Desk) -> float:
    return sum(float(p["qty"]) * (1 if p["side"] == "buy" else -1) for p in d.positions())


def test_cancels_modifies_and_fills_racing_stay_consistent(any_store: GatewayConfig) -> None:
    """Threads cancel and modify resting orders while quotes fill them: every order ends in
    exactly one state, filledQty is the sum of its fills, positions are the sum of all fills."""
    with desk(any_store, max_fill_qty=1000) as d:
        ids = [
            d.place(qty=3000, side="buy", type="limit", limitPrice=round(1.079 - i * 1e-5, 5))
            for i in range(30)
        ]
        errors: list[Any] = []
        rng = random.Random(7)

        def feed() -> None:
            for step in range(40):
                price = 1.0785 - (step % 8) * 1e-4
                d.feed.emit(d_quote(d, price))

        def cancel() -> None:
            for order_id in rng.sample(ids, 15):
                answer = d.delete(f"/orders/{order_id}", "cancelOrder")
                if answer["s"] != "ok" and "already" not in answer["errmsg"]:
                    errors.append(answer)

        def modify() -> None:
            for order_id in rng.sample(ids, 15):
                form = {"qty": 4000, "limitPrice": 1.0792}
                answer = d.put(f"/orders/{order_id}", "modifyOrder", form)
                if answer["s"] != "ok" and "already" not in answer["errmsg"]:
                    errors.append(answer)

        threads = [threading.Thread(target=t) for t in (feed, cancel, modify)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        d.settle()
        assert errors == []
        fills = _fills_by_order(d)
        orders = d.orders()
        for order_id in ids:
            order = orders[order_id]
            assert order["filledQty"] == pytest.approx(fills.get(order_id, 0.0)), order
            if order["status"] == "filled":
                assert order["filledQty"] == order["qty"]
            else:
                assert order["status"] in ("working", "cancelled"), order
                assert order["filledQty"] < order["qty"]
        assert _net(d) == pytest.approx(sum(fills.values()))


def d_quote(d: Desk, price: float) -> Quote:
    """A EURUSD quote one pip wide at ``price``."""
    return Quote(EUR, d.clock(), price, 1e6, price + 1e-4, 1e6)


def test_commissions_are_booked_and_reported(any_store: GatewayConfig) -> None:
    with desk(any_store, commission_per_unit=0.00002, commission_min=0.5) as d:
        d.place(qty=10000, side="buy", type="market")
        d.place(qty=10000, side="sell", type="market")
        fills = d.get("/executions", "getExecutions", instrument=EUR)["d"]
        assert [f["commission"] for f in fills] == [pytest.approx(0.5), pytest.approx(0.5)]
        # Spread lost: 10000 x 0.0001 = 1.00; commissions 2 x max(0.20, 0.50) = 1.00.
        assert d.state()["balance"] == pytest.approx(100000 - 1.0 - 1.0)


def test_crypto_spot_balances(any_store: GatewayConfig) -> None:
    with desk(any_store, flags={"support_balances": True}) as d:
        d.place(instrument="BTCUSD", qty=0.5, side="buy", type="market")
        d.place(instrument="BTCUSD", qty=0.2, side="sell", type="limit", limitPrice=70000)
        balances = {b["symbol"]: b for b in d.get("/balances", "getBalances")["d"]}
        assert balances["BTC"] == {"symbol": "BTC", "total": 0.5, "available": 0.3,
                                   "reserved": pytest.approx(0.2)}  # fmt: skip
        cash = balances["USD"]
        assert cash["total"] == pytest.approx(100000 - 0.5 * 60001)
        assert cash["available"] == cash["total"] and cash["reserved"] == 0
        # A spot account trades what it holds: 0.3 coins are free, 69,999.50 USD of cash.
        before = (d.orders(), d.positions())
        oversold = d.try_place(instrument="BTCUSD", qty=0.4, side="sell", type="market")
        assert oversold == {
            "s": "error",
            "errmsg": "Not enough BTC: this order needs 0.4, 0.3 is available.",
        }
        overbought = d.try_place(instrument="BTCUSD", qty=2, side="buy", type="market")
        assert overbought == {
            "s": "error",
            "errmsg": "Not enough USD: this order needs 120,002.00, 69,999.50 is available.",
        }
        assert (d.orders(), d.positions()) == before


def test_orders_placed_out_of_session_are_queued_until_the_open(
    any_store: GatewayConfig,
) -> None:
    with desk(any_store, outside_session="queue") as d:
        d.advance(7 * 3600)  # 17:00 in New York: AAPL closed
        order_id = d.place(instrument="AAPL", qty=2, side="buy", type="market",
                           currentAsk=190.02, currentBid=190.0)  # fmt: skip
        d.quote("AAPL", 191.0, 191.02)  # dropped by the market-data gate: closed
        assert d.orders()[order_id]["status"] == "working"
        d.advance(16 * 3600 + 30 * 60)  # 09:30 the next morning
        d.quote("AAPL", 192.0, 192.02)
        order = d.orders()[order_id]
        assert order["status"] == "filled" and order["avgPrice"] == 192.02


def test_orders_beyond_the_margin_are_refused_and_change_nothing(
    any_store: GatewayConfig,
) -> None:
    with desk(any_store) as d:
        d.place(instrument="ESZ2026", qty=5, side="buy", type="market", currentAsk=6000.25,
                currentBid=6000.0)  # fmt: skip
        before = (d.orders(), d.positions(), d.state())
        answer = d.try_place(instrument="ESZ2026", qty=1000, side="buy", type="market",
                             currentAsk=6000.25, currentBid=6000.0)  # fmt: skip
        assert answer["s"] == "error" and answer["errmsg"].startswith("Not enough margin")
        assert (d.orders(), d.positions(), d.state()) == before


@pytest.mark.parametrize(
    ("price", "tick"),
    [(0.5, 0.01), (9.99, 0.01), (10.0, 0.02), (24.98, 0.02), (25.0, 0.05), (1000.0, 0.05)],
)
def test_variable_min_tick_follows_the_price(price: float, tick: float) -> None:
    from gateway.config.instruments import Instrument
    from gateway.config.types import Text
    from gateway.trading.validation import tick_at

    instrument = Instrument(
        name="X", description=Text({"en": "X"}), type="stock", pip_size=0.01, pip_value=0.01,
        min_tick=0.01, variable_min_tick="0.01 10 0.02 25 0.05",
    )  # fmt: skip
    assert tick_at(instrument, price) == tick


def test_a_restart_hands_the_venue_its_working_orders(any_store: GatewayConfig) -> None:
    """What the crash test checks across processes, in process: after a restart on the same
    store, resting orders are worked again and brackets still follow their parent."""
    with desk(any_store) as d:
        resting = d.place(qty=2000, side="buy", type="limit", limitPrice=1.075, takeProfit=1.09)
        clock = d.clock
    with desk(any_store, clock=clock, quotes=False) as d:
        venue = d.gateway.services.connectors["paper"]
        assert venue.working() == [resting]  # the inactive take-profit waits in the store
        d.quote(EUR, 1.0749, 1.0750)
        orders = d.orders()
        assert orders[resting]["status"] == "filled"
        [tp] = [o for o in orders.values() if o["id"] != resting]
        assert tp["status"] == "working" and tp["qty"] == 2000
        assert _net(d) == 2000
