"""The sql connector as a market-data source: /history from the broker's bars, quotes polled."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import webtest

from connectors.sql._options import SqlOptions
from connectors.sql.connector import SqlConnector
from gateway.app import Gateway, build
from gateway.config import load_config
from gateway.config.types import Duration
from gateway.conformance.schemas import assert_valid
from gateway.plugins.records import Trade
from tests.conftest import bearer, with_store
from tests.sql_broker import EXAMPLE, load_back_office, load_broker


@pytest.fixture
def market(tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    module = load_broker()
    module.create(url)
    module.seed(url, now_ms=int(time.time() * 1000))
    config = load_config(EXAMPLE / "gateway.yaml", environ={"BROKER_DB_URL": url})
    config = with_store(config, f"sqlite:///{tmp_path / 'gateway.db'}")
    spec = config.connectors["broker_db"]
    options = dataclasses.replace(spec.options, poll_interval=Duration(0.05))
    connectors = {**config.connectors, "broker_db": dataclasses.replace(spec, options=options)}
    gateway = build(dataclasses.replace(config, connectors=connectors))
    gateway.start()
    yield gateway, url
    gateway.close()


def test_history_is_the_broker_s_bars(market: tuple[Gateway, str]) -> None:
    gateway, url = market
    app = webtest.TestApp(gateway.app)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT ts_min, o, h, l, c FROM bars_1m WHERE sym = 'EURUSD' ORDER BY ts_min")
        ).all()
    engine.dispose()
    last = rows[-1].ts_min
    start = last - 60 * 59
    resp = app.get(
        "/history",
        {"symbol": "EURUSD", "resolution": "1", "from": start, "to": last + 59},
    )
    assert_valid("getHistory", resp.json)
    body = resp.json
    assert body["s"] == "ok"
    expected = [r for r in rows if start <= r.ts_min <= last]
    assert body["t"] == [r.ts_min for r in expected]
    assert body["o"] == pytest.approx([r.o for r in expected])
    assert body["c"] == pytest.approx([r.c for r in expected])


def test_a_quote_changed_in_the_broker_s_table_reaches_quotes(
    market: tuple[Gateway, str],
) -> None:
    gateway, url = market
    app = webtest.TestApp(gateway.app)
    token = app.post("/authorize", {"login": "alice", "password": "alice-pass"}).json["d"][
        "access_token"
    ]
    load_back_office().set_quote(url, "EURUSD", 1.11111, 1.11121)
    deadline = time.monotonic() + 10
    while True:
        resp = app.get(
            "/quotes", {"accountId": "AC-10001", "symbols": "EURUSD"}, headers=bearer(token)
        )
        values = resp.json["d"][0].get("v", {})
        if values.get("bid") == 1.11111 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert_valid("getQuotes", resp.json)
    assert (values["bid"], values["ask"]) == (1.11111, 1.11121)


def test_the_quotes_last_column_becomes_trades_and_bad_values_are_logged_not_traded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    options = load_config(EXAMPLE / "gateway.yaml").connectors["broker_db"].options
    assert isinstance(options, SqlOptions) and options.market_data is not None
    quotes = options.market_data.quotes
    assert quotes is not None
    traded: dict[str, tuple[float, float]] = {}

    def trade(row: dict[str, object]) -> Trade | None:
        return SqlConnector._trade(quotes, row, "EURUSD", 100.0, traded)

    assert trade({"last": 1.1}) is None  # the last trade of before the start: not new
    assert trade({"last": 1.1}) is None  # unchanged
    assert trade({"last": 1.2, "last_size": 5}) == Trade("EURUSD", 100.0, 1.2, 5.0)
    with caplog.at_level(logging.ERROR):
        assert trade({"last": "1'; DROP TABLE quotes;--"}) is None
        assert trade({"last": 1.3, "last_size": [1]}) is None
    assert "DROP TABLE" in caplog.text and caplog.text.count("last:") == 2
    assert trade({"last": None}) is None  # no last: a quotes-only feed
    assert traded["EURUSD"] == (1.2, 5.0)  # bad rows changed nothing
