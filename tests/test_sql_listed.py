"""Symbols and instruments read from the broker's tables, converted and checked like YAML."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import webtest

from gateway.app import build
from gateway.cli import main
from gateway.config import ConfigError, load_config
from gateway.conformance.schemas import assert_valid
from tests.conftest import bearer, with_store
from tests.sql_broker import EXAMPLE, load_broker


@pytest.fixture
def example(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the example's YAML next to its freshly seeded database."""
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    module = load_broker()
    module.create(url)
    module.seed(url)
    path = tmp_path / "gateway.yaml"
    path.write_text((EXAMPLE / "gateway.yaml").read_text())
    yield path, url


def execute(url: str, sql: str, **params: object) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


def serve(path: Path, tmp_path: Path) -> webtest.TestApp:
    config = with_store(load_config(path), f"sqlite:///{tmp_path / 'gw.db'}")
    return webtest.TestApp(build(config).app)


def test_the_table_s_symbols_and_instruments_are_served(
    example: tuple[Path, str], tmp_path: Path
) -> None:
    path, url = example
    # The YAML's EURUSD wins over the table's row of the same name; the YAML's futures
    # contract (the table lacks its root and expiration) comes before the table's rows.
    execute(url, "UPDATE symbols SET descr = 'from the table' WHERE sym = 'EURUSD'")
    app = serve(path, tmp_path)
    info = app.get("/symbol_info").json
    assert_valid("getSymbolInfo", info)
    assert info["symbol"] == ["EURUSD", "ESZ6", "AAPL", "BTCUSD"]
    by_name = {name: i for i, name in enumerate(info["symbol"])}
    assert info["description"][by_name["EURUSD"]] == "Euro / US Dollar"
    assert info["pricescale"][by_name["AAPL"]] == 100
    assert info["session-regular"][by_name["AAPL"]] == "0930-1600:23456"
    assert info["type"][by_name["BTCUSD"]] == "crypto"
    token = app.post("/authorize", {"login": "alice", "password": "alice-pass"}).json["d"]
    resp = app.get("/accounts/AC-10001/instruments", headers=bearer(token["access_token"]))
    assert_valid("getInstruments", resp.json)
    instruments = {i["name"]: i for i in resp.json["d"]}
    assert list(instruments) == ["EURUSD", "AAPL", "BTCUSD", "ESZ6"]
    assert instruments["EURUSD"]["description"] == "Euro / US Dollar"
    assert (instruments["ESZ6"]["type"], instruments["ESZ6"]["pipValue"]) == ("futures", 12.5)
    assert (instruments["BTCUSD"]["minQty"], instruments["BTCUSD"]["qtyStep"]) == (0.001, 0.001)
    # A listed instrument trades: its quantity rules come from the table.
    resp = app.post(
        "/accounts/AC-10001/orders",
        {"instrument": "AAPL", "side": "buy", "type": "limit", "qty": "0.5", "limitPrice": "100"},
        headers=bearer(token["access_token"]),
    )
    assert resp.json["s"] == "error" and "0.5" in resp.json["errmsg"]


def test_template_text_in_the_table_is_data(example: tuple[Path, str], tmp_path: Path) -> None:
    path, url = example
    payload = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    execute(url, "UPDATE symbols SET descr = :d WHERE sym = 'AAPL'", d=payload)
    info = serve(path, tmp_path).get("/symbol_info").json
    assert info["description"][info["symbol"].index("AAPL")] == payload


def test_bad_rows_are_left_out_and_reported_by_check_connect(
    example: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path, url = example
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        insert = sa.text(
            "INSERT INTO symbols (sym, descr, kind, tick, lot_step, min_qty, max_qty, pip_value,"
            " margin_rate, contract_size, pip_size)"
            " VALUES (:sym, :descr, :kind, :tick, 1, 1, 10, 1, 0.1, 1, :tick)"
        )
        # A tick that is no power of ten: pricescale 33 is not one TradingView takes.
        conn.execute(insert, {"sym": "ODD", "descr": "Odd tick", "kind": "EQ", "tick": 0.03})
        # A kind the mapping does not know: its expression fails for this row.
        conn.execute(insert, {"sym": "OPT1", "descr": "An option", "kind": "OP", "tick": 0.01})
    engine.dispose()
    assert main(["check", str(path), "--connect"]) == 1
    err = capsys.readouterr().err
    assert "connectors.broker_db.market_data.symbols: row 4 (ODD): pricescale:" in err
    assert "connectors.broker_db.market_data.symbols: row 5:" in err and "'OP'" in err
    assert err.count("gateway.yaml:") >= 2  # each problem names the declaration's line
    # Served anyway at run time (serve refuses before): the good rows, and the bad ones logged.
    with caplog.at_level(logging.ERROR, "gateway.config"):
        info = serve(path, tmp_path).get("/symbol_info").json
    assert info["symbol"] == ["EURUSD", "ESZ6", "AAPL", "BTCUSD"]
    assert "row 4 (ODD)" in caplog.text


def test_check_without_connect_does_not_touch_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text((EXAMPLE / "gateway.yaml").read_text())
    assert main(["check", str(path)]) == 0
    assert not (tmp_path / "broker.db").exists()
    # With --connect, a missing database file is reported, never created (read-only opening).
    assert main(["check", str(path), "--connect"]) == 1
    assert "unable to open database file" in capsys.readouterr().err
    assert not (tmp_path / "broker.db").exists()


def test_listing_fields_must_be_keys_of_the_entry(tmp_path: Path) -> None:
    text = (EXAMPLE / "gateway.yaml").read_text()
    text = text.replace("          pricescale: ", "          pricescal: ", 1)
    text = text.replace("          qtyStep: lot_step", "          qty_step: lot_step", 1)
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert (
        "market_data.symbols.fields.pricescal: not a key of symbols (did you mean pricescale?)"
        in (message)
    )
    assert "account_data.instruments.fields.qty_step: not a key of instruments" in message
    assert "market_data.symbols.fields: missing the spec field(s) pricescale" in message
