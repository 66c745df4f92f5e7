"""Mapped mode's record checks: what a connector returns is held to the spec's shapes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from gateway.config import GatewayConfig
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


def test_commands_are_validated_then_handed_to_the_connector(demo_config: GatewayConfig) -> None:
    source = FakeAccountData()
    config = dataclasses.replace(
        demo_config, trading=dataclasses.replace(demo_config.trading, mapped="fake")
    )
    reader = mapped.mapped_trading(config, {"fake": source}, lambda: 1_800_000_000.0)
    assert reader is not None
    account = config.accounts[0]
    form = {"instrument": "EURUSD", "qty": "1000", "side": "sell", "type": "limit"}
    with pytest.raises(ApiError) as caught:
        reader.place(account, "demo", form, None)  # no limitPrice
    assert caught.value.code == "missing_field"
    assert source.commands == []
    new_id = reader.place(account, "demo", {**form, "limitPrice": "1.1"}, "req-1")
    assert new_id == "1"
    action, account_id, params = source.commands[0]
    assert (action, account_id) == ("place", account.id)
    assert params["side"] == "sell" and params["qty"] == 1000 and params["limit_price"] == 1.1
    assert params["request_id"] == "req-1" and len(params["nonce"]) == 32
    assert params["now_ms"] == 1_800_000_000_000
    source.records[("orders", account.id)] = [
        {**ORDER, "id": "1", "limitPrice": 1.1},
        {**ORDER, "id": "2", "status": "filled"},
    ]
    reader.modify(account, "demo", "1", {"qty": "2000", "limitPrice": "1.2"})
    assert source.commands[-1][0] == "modify" and source.commands[-1][2]["qty"] == 2000
    reader.cancel(account, "demo", "1")
    assert source.commands[-1][2]["order_id"] == "1"
    for order_id, code in (("2", "order_final"), ("3", "unknown_order")):
        with pytest.raises(ApiError) as caught:
            reader.cancel(account, "demo", order_id)
        assert caught.value.code == code
    source.records[("positions", account.id)] = [
        {"id": "9", "instrument": "EURUSD", "qty": 3000, "avgPrice": 1.1}
    ]
    for amount, code in (("4000", "close_amount"), ("x", "invalid_field"), ("0", "invalid_field")):
        with pytest.raises(ApiError) as caught:
            reader.close_position(account, "demo", "9", {"amount": amount})
        assert caught.value.code == code
    reader.close_position(account, "demo", "9", {"amount": "1000"})
    assert source.commands[-1][2]["amount"] == 1000
    reader.close_position(account, "demo", "9", {})
    assert source.commands[-1][2]["amount"] == 3000
    with pytest.raises(ApiError, match="unknown_position"):
        reader.close_position(account, "demo", "8", {})
    assert mapped.mapped_trading(demo_config, {}, lambda: 0.0) is None
