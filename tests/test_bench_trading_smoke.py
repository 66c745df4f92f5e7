"""Smoke test of the trading benchmark: a tiny run of the whole suite, end to end.

Twenty open orders, one round of one-second targets from four connections, with the Python load
generator (always available; wrk may not be). Nothing is asserted about speed: only that every
figure was measured, every request succeeded and the results are well formed. The placing load
itself (wrk's script and the Python fallback) runs against a tiny in-process venue that refuses
every third order; two fast tests read a wrk summary and check the throwaway configuration.
"""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

# `bench` is importable because `tests` is a package (see tests/test_bench_smoke.py).
from bench import loadgen, trading, trading_load
from bench.loadgen import Generator, Request, wrk_executable

LABELS = {
    "GET /hello (before)",
    "GET /hello (after)",
    "GET /hello (1 connection)",
    "GET /orders (20 open), 1 connection",
    "POST /orders (new limit order), 1 connection",
    "POST /orders (new limit order)",
    "GET /orders (20 open)",
}


@pytest.mark.slow
def test_tiny_trading_run_places_orders_and_lists_them(tmp_path: Path) -> None:
    args = trading.parser().parse_args(
        [
            "--duration", "1",
            "--warmup", "0",
            "--connections", "4",
            "--trading-rounds", "1",
            "--open-orders", "20",
            "--loadgen", "python",
            "--output", str(tmp_path),
        ]
    )  # fmt: skip
    status, document, text = trading.run_and_write(args)

    assert status == 0, document
    assert document is not None
    assert document["suite"] == "trading"
    assert document["setup"]["open_orders"] == 20 and document["setup"]["per_s"] > 0
    rows = {row["label"]: row for row in document["summary"]}
    assert set(rows) == LABELS
    for row in rows.values():
        assert row["errors"] == 0 and row["successes"] > 0, row
        assert row["ratio_median"] is not None and row["ratio_median"] > 0, row
        assert row["latency_ratio"]["p50_median"] is not None, row
        assert row["latency_ms"]["p50_median"] > 0, row
    assert rows["GET /orders (20 open), 1 connection"]["baseline"] == "single"
    assert rows["POST /orders (new limit order), 1 connection"]["baseline"] == "single"
    assert rows["POST /orders (new limit order)"]["connections"] == 4
    # Every placement counted as a success is an order resting in the store (some answered
    # after the window closed are there too, uncounted).
    placed = sum(
        rows[f"POST /orders (new limit order){c}"]["successes"] for c in ("", ", 1 connection")
    )
    assert document["orders"]["place_account_open_at_end"] >= placed

    (round_,) = document["rounds"]
    assert set(round_["baselines"]) == {"load", "single"}
    assert json.loads((tmp_path / "trading.json").read_text()) == document
    assert (tmp_path / "trading.md").read_text() == text
    assert "| POST /orders (new limit order) | 4 |" in text


class _Venue(http.server.BaseHTTPRequestHandler):
    """Answers every POST with JSON; every third request id (by its counter) is refused."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request_id = self.path.rsplit("requestId=", 1)[1]
        self.seen.append(request_id)
        refused = int(request_id.rsplit("-", 1)[1]) % 3 == 0
        body = b'{"s":"error","errmsg":"no"}' if refused else b'{"s":"ok","d":{"orderId":"1"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet


@pytest.mark.slow
@pytest.mark.parametrize("generator", ["wrk", "python"])
def test_every_placement_has_a_request_id_of_its_own_and_refusals_count_as_errors(
    generator: Generator,
) -> None:
    if generator == "wrk" and wrk_executable() is None:
        pytest.skip("wrk is not on PATH")
    _Venue.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Venue)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        request = Request("POST", "/orders?requestId=", headers=(trading_load.FORM,), body=b"a=1")
        result = trading_load.run(
            generator,
            "127.0.0.1",
            server.server_address[1],
            request,
            prefix="r1-",
            duration=1.0,
            connections=2,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert len(_Venue.seen) == len(set(_Venue.seen)) > 10
    assert all(r.startswith("r1-") for r in _Venue.seen)
    assert result.successes > 0 and result.error_kinds.get("refused", 0) > 0, result
    assert result.errors == result.error_kinds["refused"]


def test_wrk_summary_counts_refusals_and_status_errors_as_errors() -> None:
    line = (
        f"{loadgen.SUMMARY_MARKER} "
        '{"requests":10,"duration_us":1000000,"connect":0,"read":0,"write":0,'
        '"status":1,"timeout":0,"mean_us":1500.0,"p50_us":1000,"p99_us":4000,"refused":2}'
    )
    result = loadgen.parse_wrk_output(f"Running 1s test\n{line}\n")
    assert (result.successes, result.errors) == (7, 3)
    assert result.error_kinds == {"status": 1, "refused": 2}
    assert result.latency_p99_ms == 4.0


def test_trading_config_keeps_the_venue_and_points_the_feed_at_the_demo_data(
    tmp_path: Path,
) -> None:
    data = yaml.safe_load(trading.trading_config(tmp_path).read_text())
    assert data["trading"]["venue"] == "paper" and data["connectors"]["paper"]["type"] == "paper"
    assert Path(data["connectors"]["feed"]["ticks"]).is_absolute()
    assert Path(data["connectors"]["feed"]["ticks"]).exists()
    assert data["store"]["url"] == f"sqlite:///{(tmp_path / 'trading.db').resolve()}"
