"""Mapped mode's record checks: what a connector returns is held to the spec's shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gateway.errors import ApiError
from gateway.plugins.testing import FakeAccountData
from gateway.trading import mapped
from gateway.trading.mapped import MappedTrading, RecordError

ORDER = {
    "id": 7,
    "instrument": "EURUSD",
    "qty": Decimal("1000"),
    "side": "buy",
    "type": "limit",
    "status": "working",
    "limitPrice": "1.08",
    "stopPrice": 1.2,
    "lastModified": 1_800_000_000_123,
    "durationType": "gtc",
}


def test_an_order_is_normalized() -> None:
    out = mapped.order(ORDER)
    assert out == {
        "id": "7",
        "instrument": "EURUSD",
        "qty": 1000.0,
        "side": "buy",
        "type": "limit",
        "status": "working",
        "limitPrice": 1.08,
        "lastModified": 1_800_000_000,
        "duration": {"type": "gtc"},
    }  # no stopPrice on a limit order: the spec forbids it


def test_rejections_carry_their_reason_as_an_error_message() -> None:
    out = mapped.order({**ORDER, "status": "rejected", "message": "No margin"})
    assert out["message"] == {"text": "No margin", "type": "error"}
    history = mapped.order({**ORDER, "status": "filled", "type": "market"}, history=True)
    assert "limitPrice" not in history


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": "done"}, "status is 'done', not one of"),
        ({"side": "long"}, "side is 'long'"),
        ({"type": "iceberg"}, "type is 'iceberg'"),
        ({"qty": "lots"}, "qty must be a number"),
        ({"qty": None}, "qty must be a number"),
        ({"qty": True}, "qty must be a number"),
        ({"qty": float("nan")}, "qty must be a finite number"),
        ({"id": None}, "id is missing"),
        ({"instrument": ""}, "instrument is missing"),
    ],
)
def test_records_that_break_the_spec_are_refused(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        mapped.order({**ORDER, **change})


def test_working_is_not_history() -> None:
    with pytest.raises(RecordError, match="status is 'working'"):
        mapped.order(ORDER, history=True)


def test_positions_take_their_side_from_a_signed_quantity() -> None:
    short = mapped.position({"id": 1, "instrument": "AAPL", "qty": -5, "avgPrice": 200})
    assert (short["side"], short["qty"]) == ("sell", 5.0)
    long = mapped.position(
        {"id": 2, "instrument": "AAPL", "qty": 5, "avgPrice": 2, "unrealizedPl": 1}
    )
    assert (long["side"], long["unrealizedPl"]) == ("buy", 1.0)


def test_executions_state_and_balances() -> None:
    fill = mapped.execution(
        {
            "id": 1,
            "instrument": "EURUSD",
            "price": 1.1,
            "time": 1_800_000_000,
            "qty": -10,
            "side": "sell",
            "orderId": 9,
            "commission": 0.5,
            "positionId": 3,
        }
    )
    assert fill["qty"] == 10.0 and fill["orderId"] == "9" and fill["isClose"] is False
    assert fill["time"] == 1_800_000_000 and fill["positionId"] == "3"
    state = mapped.state({"balance": Decimal("100.5"), "equity": 101})
    assert state == {"balance": 100.5, "unrealizedPl": 0.0, "equity": 101.0}
    coin = mapped.balance(
        {"symbol": "BTC", "total": 2, "available": 1.5, "reserved": 0.5, "longName": "Bitcoin"}
    )
    assert coin == {
        "symbol": "BTC",
        "total": 2.0,
        "available": 1.5,
        "reserved": 0.5,
        "longName": "Bitcoin",
    }


def test_a_bad_record_is_logged_with_its_place_and_answered_as_unavailable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = FakeAccountData()
    source.records[("orders", "A1")] = [ORDER, {**ORDER, "status": "lost"}]
    reader = MappedTrading("broker_db", source)
    with pytest.raises(ApiError) as caught:
        reader.orders("A1", "alice", 0)
    assert caught.value.code == "unavailable"
    assert "connectors.broker_db: orders of account A1, record 1: status is 'lost'" in caplog.text


def test_state_needs_a_row_and_zero_positions_are_no_positions() -> None:
    source = FakeAccountData()
    reader = MappedTrading("broker_db", source)
    with pytest.raises(ApiError):
        reader.state("A1", "alice")
    source.records[("positions", "A1")] = [
        {"id": 1, "instrument": "X", "qty": 0, "avgPrice": 1},
        {"id": 2, "instrument": "X", "qty": 3, "avgPrice": 1},
    ]
    assert [p["id"] for p in reader.positions("A1", "alice")] == ["2"]
    source.records[("balances", "A1")] = [{"symbol": "USD", "total": 1, "available": 1}]
    assert reader.balances("A1", "alice")[0]["symbol"] == "USD"
    source.records[("executions", "A1")] = []
    assert reader.executions("A1", "alice", "X", 10) == []
    source.records[("ordersHistory", "A1")] = [{**ORDER, "status": "cancelled"}]
    assert reader.orders_history("A1", "alice", 0, 10)[0]["status"] == "cancelled"
    assert mapped.mapped_trading(None, {}) is None
