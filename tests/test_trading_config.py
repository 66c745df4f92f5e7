"""Configuration of managed trading: the trading section, balances, leverage, cross-checks.

Error cases append to ``BASE`` of test_config_errors (six lines); most also append ``SETUP``
(a symbol X, a feed and an execution venue, lines 7 to 12), so their mistakes sit on line 13
and below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gateway.api._wire import to_wire
from gateway.cli import main
from gateway.config import GatewayConfig, load_config
from gateway.config.dump import dump_config
from gateway.config.jsonschema import config_json_schema
from gateway.config.trading import ACCOUNT_METRICS, LeverageRange, Trading
from gateway.config.types import Duration
from gateway.conformance.schemas import assert_valid
from tests.test_config_errors import BASE, ENVIRON, HASH, fake_registry, plus, problems_of

SYMBOL = (
    "symbols:\n  - {symbol: X, description: X, currency: USD, exchange-listed: T, "
    "exchange-traded: T, minmovement: 1, pricescale: 100, type: spot, timezone: Etc/UTC, "
    "session-regular: 24x7}\n"
)
CONNECTORS = (
    "connectors:\n  feed: {type: fake_market_data}\n  venue: {type: fake_execution}\n"
    "market: {feeds: [feed]}\n"
)
SETUP = SYMBOL + CONNECTORS
VENUE = "trading: {venue: venue}\n"
INSTRUMENT = "{name: X, description: X, type: spot, pipSize: 0.01, pipValue: 0.01, minTick: 0.01"

VALID = (
    BASE.replace("type: demo}", "type: demo, initialBalance: 25000.5}")
    + SETUP
    + "instruments:\n"
    + "  - "
    + INSTRUMENT
    + "}\n"
    + "  - "
    + INSTRUMENT.replace("name: X", "name: X.CFD").replace("spot", "cfd")
    + ", symbol: X, marginRate: 0.05,"
    + " leverage: {min: 2, max: 20, step: 0.5, default: 10}}\n"
    + "ui:\n"
    + "  accountSummaryRow:\n"
    + "    - {id: balance, title: Balance}\n"
    + "    - {id: unrealizedPl, title: P&L}\n"
    + "  accountManager:\n"
    + "    - id: summary\n"
    + "      columns: [{id: equity, title: Equity}, {id: marginLevel, title: Margin level}]\n"
    + "trading:\n"
    + "  venue: venue\n"
    + "  stream_interval: 250ms\n"
    + "  stream_ping: 10s\n"
    + "  preview_ttl: 2m\n"
)


def load(tmp_path: Path, yaml_text: str) -> GatewayConfig:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    return load_config(path, environ=ENVIRON, registry=fake_registry())


# --- what loads --------------------------------------------------------------------------------


def test_every_trading_key_is_parsed(tmp_path: Path) -> None:
    cfg = load(tmp_path, VALID)
    assert cfg.trading == Trading(
        venue="venue",
        stream_interval=Duration(0.25),
        stream_ping=Duration(10),
        preview_ttl=Duration(120),
    )
    assert cfg.accounts[0].initial_balance == 25000.5
    plain, cfd = cfg.instruments
    assert (plain.symbol, plain.leverage) == (None, None)
    assert cfd.symbol == "X"
    assert cfd.leverage == LeverageRange(min=2, max=20, step=0.5, default=10)


def test_defaults(tmp_path: Path) -> None:
    cfg = load(tmp_path, plus("instruments:\n  - " + INSTRUMENT + "}\n"))
    assert cfg.trading == Trading()
    assert cfg.trading.venue is None
    assert cfg.trading.stream_interval == Duration(0.5)
    assert cfg.trading.stream_ping == Duration(5)
    assert cfg.trading.preview_ttl == Duration(60)
    assert cfg.accounts[0].initial_balance == 100000.0
    assert (cfg.instruments[0].symbol, cfg.instruments[0].leverage) == (None, None)


def test_leverage_defaults_and_initial_value(tmp_path: Path) -> None:
    cfg = load(tmp_path, plus("instruments:\n  - " + INSTRUMENT + ", leverage: {max: 50}}\n"))
    leverage = cfg.instruments[0].leverage
    assert leverage == LeverageRange(min=1, max=50, step=1, default=None)
    assert leverage.initial == 50
    assert LeverageRange(max=50, default=5).initial == 5


def test_without_a_venue_nothing_of_managed_trading_is_checked(tmp_path: Path) -> None:
    # No feeds, an instrument without a symbol, summary ids that are not metrics: all fine
    # while nobody trades through the gateway.
    cfg = load(
        tmp_path,
        plus(
            "instruments:\n  - " + INSTRUMENT + ", symbol: NOPE}\n"
            "ui:\n  accountSummaryRow: [{id: pl, title: P&L}]\n"
            "  accountManager: [{id: t, columns: [{id: margin, title: Margin}]}]\n"
        ),
    )
    assert cfg.trading.venue is None


def test_the_dump_reloads_with_the_same_trading_settings(tmp_path: Path) -> None:
    cfg = load(tmp_path, VALID)
    dumped = dump_config(cfg)
    assert "trading:\n  venue: venue\n  stream_interval: 0.25s\n" in dumped
    assert "initialBalance: 25000.5" in dumped
    masked = {"password_hash: '***'": f"password_hash: '{HASH}'", "url: '***'": "url: sqlite://"}
    for secret, value in masked.items():
        dumped = dumped.replace(secret, value)
    again = load(tmp_path, dumped)
    assert again.trading == cfg.trading
    assert again.instruments == cfg.instruments


def test_account_metrics_are_the_documented_ids() -> None:
    assert ACCOUNT_METRICS == (
        "balance", "equity", "unrealizedPl", "realizedPl", "marginUsed", "marginAvailable",
        "marginLevel", "openOrders", "openPositions",
    )  # fmt: skip


# --- what is refused ---------------------------------------------------------------------------

METRICS = "balance, equity, unrealizedPl, realizedPl, marginUsed, marginAvailable, marginLevel, "
METRICS += "openOrders, openPositions"

CASES = [
    # --- the venue -------------------------------------------------------------------------
    pytest.param(
        plus(SETUP + "trading: {venue: venu}\n"),
        [
            "13:11: trading.venue: unknown connector 'venu' (did you mean venue?) "
            "(known: feed, venue)"
        ],
        id="unknown-venue",
    ),
    pytest.param(
        plus(SYMBOL + "market: {feeds: [feed]}\ntrading: {venue: venue}\n"),
        [
            "9:18: market.feeds[0]: unknown connector 'feed' (known: none)",
            "10:11: trading.venue: unknown connector 'venue' (known: none)",
        ],
        id="venue-without-connectors",
    ),
    pytest.param(
        plus(SETUP + "trading: {venue: feed}\n"),
        [
            "13:11: trading.venue: connector 'feed' (fake_market_data) does not have the "
            "execution role"
        ],
        id="venue-without-the-role",
    ),
    pytest.param(
        plus(SYMBOL + "connectors:\n  venue: {type: fake_execution}\n" + VENUE),
        [
            "11:11: trading.venue: managed trading prices orders from market data: list the "
            "connectors that feed it under market.feeds"
        ],
        id="venue-without-feeds",
    ),
    pytest.param(
        plus(SETUP + "trading: {venu: venue}\n"),
        ["13:11: trading.venu: unknown key (did you mean venue?)"],
        id="trading-unknown-key",
    ),
    pytest.param(
        plus(SETUP + "trading: venue\n"),
        ["13:10: trading: expected a mapping, got a string ('venue')"],
        id="trading-not-a-mapping",
    ),
    # --- stream timing ---------------------------------------------------------------------
    pytest.param(
        plus("trading:\n  stream_interval: 50ms\n"),
        ["8:20: trading.stream_interval: must be between 100ms and 5s"],
        id="stream-interval-too-short",
    ),
    pytest.param(
        plus("trading:\n  stream_interval: 10s\n"),
        ["8:20: trading.stream_interval: must be between 100ms and 5s"],
        id="stream-interval-too-long",
    ),
    pytest.param(
        plus("trading:\n  stream_ping: 500ms\n"),
        ["8:16: trading.stream_ping: must be between 1s and 1m (the spec pings every 5s)"],
        id="stream-ping-too-short",
    ),
    pytest.param(
        plus("trading:\n  stream_ping: 2m\n"),
        ["8:16: trading.stream_ping: must be between 1s and 1m (the spec pings every 5s)"],
        id="stream-ping-too-long",
    ),
    pytest.param(
        plus("trading:\n  stream_ping: often\n"),
        [
            "8:16: trading.stream_ping: expected a duration such as 30s, 15m or 1h, got a "
            "string ('often')"
        ],
        id="stream-ping-not-a-duration",
    ),
    pytest.param(
        plus("trading:\n  preview_ttl: 1s\n"),
        ["8:16: trading.preview_ttl: must be between 5s and 1h"],
        id="preview-ttl-too-short",
    ),
    pytest.param(
        plus("trading:\n  preview_ttl: 1d\n"),
        ["8:16: trading.preview_ttl: must be between 5s and 1h"],
        id="preview-ttl-too-long",
    ),
    # --- prices of instruments -------------------------------------------------------------
    pytest.param(
        plus(SETUP + VENUE + "instruments:\n  - " + INSTRUMENT.replace("X", "Y") + "}\n"),
        [
            "15:6: instruments[0].name: no symbol 'Y' in symbols: managed trading prices "
            "instruments from market data (set instruments[0].symbol)"
        ],
        id="instrument-name-not-a-symbol",
    ),
    pytest.param(
        plus(SETUP + VENUE + "instruments:\n  - " + INSTRUMENT + ", symbol: x}\n"),
        [
            "15:89: instruments[0].symbol: no symbol 'x' in symbols (did you mean X?): managed "
            "trading prices instruments from market data"
        ],
        id="instrument-symbol-not-a-symbol",
    ),
    pytest.param(
        plus(
            SETUP
            + VENUE
            + "instruments:\n  - "
            + INSTRUMENT
            + "}\n  - "
            + INSTRUMENT.replace("name: X", "name: XX")
            + "}\n"
        ),
        [
            "16:6: instruments[1].name: no symbol 'XX' in symbols (did you mean X?): managed "
            "trading prices instruments from market data (set instruments[1].symbol)"
        ],
        id="second-instrument-not-a-symbol",
    ),
    # --- account metrics -------------------------------------------------------------------
    pytest.param(
        plus(SETUP + VENUE + "ui:\n  accountSummaryRow:\n    - {id: pl, title: P&L}\n"),
        [f"16:8: ui.accountSummaryRow[0].id: unknown account metric 'pl' (known: {METRICS})"],
        id="summary-row-id-not-a-metric",
    ),
    pytest.param(
        plus(
            SETUP
            + VENUE
            + "ui:\n  accountSummaryRow:\n    - {id: balance, title: Balance}\n"
            + "    - {id: equty, title: Equity}\n"
        ),
        [
            "17:8: ui.accountSummaryRow[1].id: unknown account metric 'equty' (did you mean "
            f"equity?) (known: {METRICS})"
        ],
        id="summary-row-id-misspelt",
    ),
    pytest.param(
        plus(
            SETUP
            + VENUE
            + "ui:\n  accountManager:\n    - id: summary\n"
            + "      columns: [{id: balance, title: Balance}, {id: margin, title: Margin}]\n"
        ),
        [
            "17:49: ui.accountManager[0].columns[1].id: unknown account metric 'margin' (did "
            f"you mean marginUsed?) (known: {METRICS})"
        ],
        id="table-column-not-a-metric",
    ),
    pytest.param(
        plus(SETUP + VENUE).replace(
            "type: demo}",
            "type: demo, ui: {accountSummaryRow: [{id: Balance, title: B}], accountManager: "
            "[{id: t, columns: [{id: pnl, title: P}]}]}}",
        ),
        [
            "4:70: accounts[0].ui.accountSummaryRow[0].id: unknown account metric 'Balance' "
            f"(did you mean balance?) (known: {METRICS})",
            "4:131: accounts[0].ui.accountManager[0].columns[0].id: unknown account metric "
            f"'pnl' (known: {METRICS})",
        ],
        id="account-ui-ids-not-metrics",
    ),
    # --- initialBalance --------------------------------------------------------------------
    pytest.param(
        BASE.replace("type: demo}", "type: demo, initialBalance: 0}"),
        ["4:60: accounts[0].initialBalance: must be a finite number greater than 0"],
        id="initial-balance-zero",
    ),
    pytest.param(
        BASE.replace("type: demo}", "type: demo, initialBalance: -5}"),
        ["4:60: accounts[0].initialBalance: must be a finite number greater than 0"],
        id="initial-balance-negative",
    ),
    pytest.param(
        BASE.replace("type: demo}", "type: demo, initialBalance: .inf}"),
        ["4:60: accounts[0].initialBalance: must be a finite number greater than 0"],
        id="initial-balance-infinite",
    ),
    pytest.param(
        BASE.replace("type: demo}", "type: demo, initialBalance: 10k}"),
        ["4:60: accounts[0].initialBalance: expected a number, got a string ('10k')"],
        id="initial-balance-not-a-number",
    ),
    pytest.param(
        BASE.replace("type: demo}", "type: demo, initial_balance: 10}"),
        ["4:44: accounts[0].initial_balance: unknown key (did you mean initialBalance?)"],
        id="initial-balance-snake-case",
    ),
    # --- leverage --------------------------------------------------------------------------
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: 10}\n"),
        ["8:99: instruments[0].leverage: expected a mapping, got a number (10)"],
        id="leverage-not-a-mapping",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: {min: 2}}\n"),
        ["8:99: instruments[0].leverage.max: missing required key"],
        id="leverage-without-max",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: {min: 0, max: 10}}\n"),
        ["8:100: instruments[0].leverage.min: must be greater than 0"],
        id="leverage-min-zero",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: {min: 5, max: 2}}\n"),
        ["8:100: instruments[0].leverage.min: must not exceed max"],
        id="leverage-min-above-max",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: {max: 10, step: 0}}\n"),
        ["8:109: instruments[0].leverage.step: must be greater than 0"],
        id="leverage-step-zero",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: {max: 10, step: 4}}\n"),
        ["8:100: instruments[0].leverage.max: must be min plus a whole number of steps (4)"],
        id="leverage-max-off-the-steps",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: {max: 10, default: 20}}\n"),
        ["8:109: instruments[0].leverage.default: must be between min (1) and max (10)"],
        id="leverage-default-above-max",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: {max: 10, default: 2.5}}\n"),
        ["8:109: instruments[0].leverage.default: must be min plus a whole number of steps (1)"],
        id="leverage-default-off-the-steps",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: {max: .inf}}\n"),
        ["8:100: instruments[0].leverage.max: must be a finite number"],
        id="leverage-infinite",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", leverage: {max: 10, Step: 2}}\n"),
        ["8:109: instruments[0].leverage.Step: unknown key (did you mean step?)"],
        id="leverage-unknown-key",
    ),
]


@pytest.mark.parametrize(("yaml_text", "expected"), CASES)
def test_malformed_trading_config(tmp_path: Path, yaml_text: str, expected: list[str]) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    assert problems_of(path) == [f"{path}:{line}" for line in expected]


@pytest.mark.parametrize(
    ("low", "high", "step"), [(1, 100, 0.1), (0.5, 3.3, 0.2), (1, 1, 1), (10, 1000, 10)]
)
def test_leverage_steps_tolerate_binary_floats(low: float, high: float, step: float) -> None:
    assert list(LeverageRange(min=low, max=high, step=step).validate()) == []


# --- schema, reference and wire ------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return config_json_schema(fake_registry())


def test_the_json_schema_describes_the_new_keys(schema: dict[str, Any]) -> None:
    defs = schema["$defs"]
    assert defs["GatewayConfig"]["properties"]["trading"]["$ref"] == "#/$defs/Trading"
    assert list(defs["Trading"]["properties"]) == [
        "venue", "mapped", "stream_interval", "stream_ping", "preview_ttl",
    ]  # fmt: skip
    assert "required" not in defs["Trading"]
    balance = defs["Account"]["properties"]["initialBalance"]
    assert (balance["type"], balance["default"]) == ("number", 100000.0)
    assert {"symbol", "leverage"} <= set(defs["Instrument"]["properties"])
    assert list(defs["LeverageRange"]["properties"]) == ["min", "max", "step", "default"]
    assert defs["LeverageRange"]["required"] == ["max"]


def test_the_json_schema_accepts_the_valid_file_and_refuses_unknown_keys(
    schema: dict[str, Any],
) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    instance = yaml.safe_load(VALID)
    assert list(validator.iter_errors(instance)) == []
    instance["trading"]["venu"] = "venue"
    instance["instruments"][1]["leverage"]["Step"] = 1
    assert len(list(validator.iter_errors(instance))) == 2


def test_gateway_schema_prints_the_trading_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "trading" in printed["$defs"]["GatewayConfig"]["properties"]
    assert "LeverageRange" in printed["$defs"]


def test_instruments_on_the_wire_leave_out_symbol_and_leverage(tmp_path: Path) -> None:
    cfg = load(tmp_path, VALID)
    cfd = to_wire(cfg.instruments[1], "en")
    assert cfd["name"] == "X.CFD" and cfd["marginRate"] == 0.05
    assert "symbol" not in cfd and "leverage" not in cfd
    assert_valid("getInstruments", {"s": "ok", "d": [to_wire(i, "en") for i in cfg.instruments]})
    account = to_wire(cfg.accounts[0], "en")
    assert "initialBalance" not in account and "initial_balance" not in account
