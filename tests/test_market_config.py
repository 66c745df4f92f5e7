"""Malformed ``market`` sections, each with its exact one-line message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_config_errors import plus, problems_of

SYMBOL = (
    "symbols:\n  - {symbol: X, description: X, currency: USD, exchange-listed: T, "
    "exchange-traded: T, minmovement: 1, pricescale: 100, type: spot, timezone: Etc/UTC, "
    "session-regular: 24x7}\n"
)

CASES = [
    pytest.param(
        plus(SYMBOL + "connectors:\n  feed: {type: fake_market_data}\nmarket:\n  feeds: [fed]\n"),
        ["12:11: market.feeds[0]: unknown connector 'fed' (did you mean feed?) (known: feed)"],
        id="unknown-feed",
    ),
    pytest.param(
        plus(SYMBOL + "connectors:\n  venue: {type: fake_execution}\nmarket:\n  feeds: [venue]\n"),
        [
            "12:11: market.feeds[0]: connector 'venue' (fake_execution) does not have the "
            "market_data role"
        ],
        id="feed-without-the-role",
    ),
    pytest.param(
        plus("connectors:\n  feed: {type: fake_market_data}\nmarket:\n  feeds: [feed]\n"),
        ["10:3: market.feeds: market data needs symbols: list them under symbols"],
        id="feed-without-symbols",
    ),
    pytest.param(
        plus("market:\n  feeds: feed\n"),
        ["8:10: market.feeds: expected a list, got a string ('feed')"],
        id="feeds-not-a-list",
    ),
    pytest.param(
        plus("market:\n  feed: [x]\n"),
        ["8:3: market.feed: unknown key (did you mean feeds?)"],
        id="unknown-key",
    ),
    pytest.param(
        plus("market:\n  heartbeat: 1m\n"),
        [
            "8:14: market.heartbeat: must be between 1s and 30s (TradingView expects one every "
            "5s by default)"
        ],
        id="heartbeat-too-long",
    ),
    pytest.param(
        plus("market:\n  heartbeat: soon\n"),
        [
            "8:14: market.heartbeat: expected a duration such as 30s, 15m or 1h, got a string "
            "('soon')"
        ],
        id="heartbeat-not-a-duration",
    ),
    pytest.param(
        plus("market:\n  stream_buffer_bytes: 1024\n"),
        ["8:24: market.stream_buffer_bytes: must be at least 65536 bytes"],
        id="buffer-too-small",
    ),
    pytest.param(
        plus("market:\n  stream_buffer_bytes: 4MB\n"),
        ["8:24: market.stream_buffer_bytes: expected a whole number, got a string ('4MB')"],
        id="buffer-with-a-unit",
    ),
    pytest.param(
        plus("market:\n  depth_levels: 0\n"),
        ["8:17: market.depth_levels: must be between 1 and 50"],
        id="no-depth-levels",
    ),
    pytest.param(
        plus("market:\n  backfill: forever\n"),
        [
            "8:13: market.backfill: expected a duration such as 30s, 15m or 1h, got a string "
            "('forever')"
        ],
        id="backfill-not-a-duration",
    ),
    pytest.param(
        plus("market:\n  max_tick_age: 0s\n"),
        ["8:17: market.max_tick_age: must be longer than 0 seconds"],
        id="max-tick-age-zero",
    ),
    pytest.param(
        plus("market:\n  max_tick_age: [30s]\n"),
        ["8:17: market.max_tick_age: expected a duration such as 30s, 15m or 1h, got a list"],
        id="max-tick-age-not-a-duration",
    ),
]


@pytest.mark.parametrize(("yaml_text", "expected"), CASES)
def test_malformed_market_section(tmp_path: Path, yaml_text: str, expected: list[str]) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    assert problems_of(path) == [f"{path}:{line}" for line in expected]
