"""Smoke test of the FIX benchmark: a tiny run of the whole suite, end to end.

Three round trips per venue through ``gateway fix-venue`` and through the demo's paper venue,
then a paced and a burst run of synthetic ticks from the FIX upstream and from the replay.
Nothing is asserted about speed: only that every figure was measured, every order filled, every
tick arrived and the page is written. A fast test checks that the FIX upstream's messages are
the replay's ticks, so that the two feeds compared carry the same data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# `bench` is importable because `tests` is a package (see tests/test_bench_smoke.py).
from bench import fix
from bench.fix_upstream import tick_body
from bench.market_config import tick_of, tick_row
from connectors.fix._market import MarketBooks
from connectors.fix._options import FixOptions, MarketDataOptions
from connectors.fix._wire import Tag, encode, parse
from gateway.plugins.records import Quote, Trade


@pytest.mark.slow
def test_tiny_fix_run_fills_orders_and_streams_every_tick(tmp_path: Path) -> None:
    args = fix.parser().parse_args(
        [
            "--fix-orders", "3",
            "--fix-rounds", "1",
            "--fix-md-rate", "200",
            "--fix-md-seconds", "1",
            "--fix-md-burst", "2000",  # spans several reads: a rate needs two arrival times
            "--fix-md-lead", "3",
            "--output", str(tmp_path),
        ]
    )  # fmt: skip
    status, document, text = fix.run_and_write(args)

    assert status == 0, document and document.get("market", {}).get("runs")
    assert document is not None
    summary = document["orders"]["summary"]
    for key in ("hello_ms", "paper_ms", "fix_ms"):
        assert 0 < summary[key]["p50"] <= summary[key]["max"], summary
    assert summary["fix_to_paper_p50"] is not None and summary["fix_to_paper_p50"] > 0
    assert len(document["orders"]["rounds"]) == 1
    market = document["market"]
    assert market["complete"] is True
    assert set(market["runs"]) == {"paced", "burst"}
    for run in market["runs"].values():
        for feed in ("csv_replay", "fix"):
            assert run[feed]["complete"] and run[feed]["missing"] == 0, run[feed]
            assert run[feed]["msgs_per_s"] > 0
        assert run["fix"]["upstream_msgs_per_s"] > 0
        assert run["msgs_ratio"] is not None
    assert market["upstream_alone_msgs_per_s"] > 0
    assert json.loads((tmp_path / "fix.json").read_text(encoding="utf-8")) == document
    assert (tmp_path / "fix.md").read_text(encoding="utf-8") == text
    assert "Order round trip" in text and "Market data into `/streaming`" in text


def test_the_fix_upstream_plays_the_replays_ticks() -> None:
    """Tick k from the upstream becomes the same trade or quote as row k of the tick file."""
    options = FixOptions(
        host="127.0.0.1",
        port=1,
        sender_comp_id="GATEWAY",
        target_comp_id="VENUE",
        market_data=MarketDataOptions(symbols=("B0", "B1", "B2", "B3"), depth=1),
    )
    books = MarketBooks(options)
    header = [(Tag.MsgType, "X"), (Tag.SenderCompID, "VENUE"), (Tag.TargetCompID, "GATEWAY"),
              (Tag.MsgSeqNum, "1"), (Tag.SendingTime, "20261125-10:00:00")]  # fmt: skip
    for k in range(40):
        row = tick_row(k, 100.0, 4).strip().split(",")
        ticks = books.apply(parse(encode(header, tick_body(k, 4))))
        if row[2] == "trade":
            assert len(ticks) == 1 and isinstance(ticks[0], Trade)
            assert (ticks[0].symbol, ticks[0].price, ticks[0].size) == (
                row[1],
                float(row[3]),
                float(row[4]),
            )
            assert tick_of({"f": "t", "s": ticks[0].size}) == k
        else:
            assert len(ticks) == 1 and isinstance(ticks[0], Quote), (k, ticks)
            quote = ticks[0]
            assert (quote.symbol, quote.bid, quote.bid_size, quote.ask, quote.ask_size) == (
                row[1],
                float(row[5]),
                float(row[6]),
                float(row[7]),
                float(row[8]),
            )
