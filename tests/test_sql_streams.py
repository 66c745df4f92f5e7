"""Mapped mode's trading streams: changes in the broker's tables reach TradingView by polling."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
import webob
import webtest

from gateway.app import Gateway, build
from gateway.config import load_config
from gateway.config.types import Duration
from gateway.conformance.schemas import assert_stream_message
from tests.conftest import bearer, with_store
from tests.sql_broker import EXAMPLE, load_broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    module = load_broker()
    module.create(url)
    module.seed(url)
    config = load_config(EXAMPLE / "gateway.yaml", environ={"BROKER_DB_URL": url})
    config = with_store(config, f"sqlite:///{tmp_path / 'gateway.db'}")
    # Fast polling and pings for the test.
    spec = config.connectors["broker_db"]
    options = dataclasses.replace(spec.options, poll_interval=Duration(0.05))
    connectors = {**config.connectors, "broker_db": dataclasses.replace(spec, options=options)}
    trading = dataclasses.replace(config.trading, stream_ping=Duration(1))
    config = dataclasses.replace(config, connectors=connectors, trading=trading)
    gateway = build(config)
    gateway.start()
    yield gateway, url
    gateway.close()


@contextmanager
def stream(
    gateway: Gateway, token: str, path: str, account: str = "AC-10001"
) -> Iterator[Iterator[Any]]:
    request = webob.Request.blank(f"/accounts/{account}{path}", headers=bearer(token))
    status, headers, body = request.call_application(gateway.app)
    assert status.startswith("200"), (status, b"".join(body))
    assert ("x-accel-buffering", "no") in [(k.lower(), v) for k, v in headers]
    try:
        yield (orjson.loads(chunk) for chunk in body)
    finally:
        body.close()


def execute(url: str, sql: str, **params: Any) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


def token_of(gateway: Gateway) -> str:
    """alice's access token."""
    app = webtest.TestApp(gateway.app)
    resp = app.post("/authorize", {"login": "alice", "password": "alice-pass"})
    token: str = resp.json["d"]["access_token"]
    return token


def now_ms() -> int:
    """The time a back office stamps on a row it changes (``updated_at``, Unix ms).

    A final order is in ``/orders`` only if it changed today: an update that kept the seeded
    time would drop the order from the stream between midnight and the seeded order's hour.
    """
    return int(time.time() * 1000)


def fill_at_its_limit(url: str, order_id: str) -> None:
    """What the broker's back office does to fill a limit order, stamping the change's time."""
    execute(
        url,
        "UPDATE orders SET st = 'F', filled_qty = qty, avg_px = lmt_px, updated_at = :now"
        " WHERE ord_id = :id",
        id=int(order_id),
        now=now_ms(),
    )


def next_list(messages: Iterator[Any], op: str) -> list[Any]:
    for _ in range(100):
        message = next(messages)
        assert_stream_message(op, message)
        if isinstance(message, list) and message:
            return message
    raise AssertionError("no change arrived")


def test_a_fill_in_the_broker_s_tables_reaches_the_orders_stream(
    broker: tuple[Gateway, str],
) -> None:
    gateway, url = broker
    token = token_of(gateway)
    with stream(gateway, token, "/stream/orders") as messages:
        snapshot = next(messages)
        assert_stream_message("streamOrders", snapshot)
        working = [o for o in snapshot if o["status"] == "working"]
        assert working
        order_id = working[0]["id"]
        fill_at_its_limit(url, order_id)
        [update] = next_list(messages, "streamOrders")
        assert (update["id"], update["status"]) == (order_id, "filled")
        assert update["filledQty"] == update["qty"]  # whole entities, as the spec wants


def test_positions_and_state_streams(broker: tuple[Gateway, str]) -> None:
    gateway, url = broker
    token = token_of(gateway)
    with stream(gateway, token, "/stream/positions") as messages:
        [position] = next(messages)
        execute(url, "UPDATE positions SET net_qty = 0 WHERE pos_id = :id", id=int(position["id"]))
        assert next_list(messages, "streamPositions") == [{"id": position["id"], "qty": 0}]
    with stream(gateway, token, "/stream/state") as messages:
        state = next(messages)
        assert_stream_message("streamState", state)
        execute(url, "UPDATE trading_accounts SET balance = 123.45 WHERE acct_no = 'AC-10001'")
        for _ in range(100):
            message = next(messages)
            if message != {"s": "ok"} and message != state:
                break
        assert message["balance"] == 123.45
    # Quiet streams ping.
    with stream(gateway, token, "/stream/orders") as messages:
        next(messages)
        assert next(messages) == {"s": "ok"}


def test_net_and_individual_position_streams_of_a_netting_account(
    broker: tuple[Gateway, str],
) -> None:
    gateway, url = broker
    token = token_of(gateway)
    opened = now_ms()
    with (
        stream(gateway, token, "/stream/individualPositions", "AC-10002") as lots,
        stream(gateway, token, "/stream/netPositions", "AC-10002") as nets,
    ):
        assert next(lots) == [] and next(nets) == []
        # The back office books a fill: the position opens.
        execute(
            url,
            "INSERT INTO positions (acct_no, sym, net_qty, avg_px, opened_at)"
            " VALUES ('AC-10002', 'EURUSD', -5000, 1.0805, :now)",
            now=opened,
        )
        [lot] = next_list(lots, "streamIndividualPositions")
        assert (lot["side"], lot["qty"], lot["price"]) == ("sell", 5000, 1.0805)
        assert lot["date"] == str(opened)
        [net] = next_list(nets, "streamNetPositions")
        assert (net["id"], net["qty"], net["shortQty"]) == ("EURUSD", -5000, 5000)
        # Closed: both say so with a zero quantity.
        execute(url, "UPDATE positions SET net_qty = 0 WHERE acct_no = 'AC-10002'")
        assert next_list(lots, "streamIndividualPositions") == [{"id": lot["id"], "qty": 0}]
        assert next_list(nets, "streamNetPositions") == [{"id": "EURUSD", "qty": 0}]
