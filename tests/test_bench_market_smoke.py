"""Smoke test of the market benchmark: a tiny run of its measurement machinery.

Two /streaming connections for two seconds (gateway and baseline) and /history from a SQLite
store of 10,000 bars; the memory part's /proc readers are checked on this process. Nothing is
asserted about speed: only that the measurements were made and are well formed.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

# `bench` is importable because `tests` is a package (see tests/test_bench_smoke.py).
from bench import market, market_memory
from bench.market_report import markdown
from bench.market_stream import StreamConnection


@pytest.mark.slow
def test_tiny_market_run_measures_streaming_and_history(tmp_path: Path) -> None:
    args = market.parser().parse_args(
        [
            "--parts", "streaming,history",
            "--stream-connections", "2",
            "--stream-seconds", "2",
            "--stream-lead", "1.5",
            "--history-bars", "10000",
            "--history-requests", "20",
            "--history-rounds", "1",
            "--no-postgres",
            "--cache-dir", str(tmp_path),
            "--output", str(tmp_path),
        ]
    )  # fmt: skip
    status, document = market.run(args)

    assert status == 0, document
    (row,) = document["streaming"]["summary"]
    assert row["connections"] == 2
    assert row["identical"] and row["complete"] and row["baseline_complete"]
    assert row["ticks_per_connection"] >= 300  # 2 s at 200 ticks/s
    for side in ("gateway_ms", "baseline_ms"):
        assert all(math.isfinite(v) and v > -5 for v in row[side].values()), row
    assert row["ratio_p99"] is not None and row["ratio_p99"] > 0

    sqlite, postgres = document["history"]["backends"]
    assert postgres["status"] == "skipped"
    assert sqlite["status"] == "ok", sqlite
    assert sqlite["ms"]["http"]["requests"] == 20
    assert sqlite["ratio_http"] > 0 and sqlite["ratio_inprocess"] > 0
    assert "| sqlite |" in markdown(document)


def test_chunked_lines_split_anywhere_are_reassembled() -> None:
    conn = StreamConnection(sock=None)  # type: ignore[arg-type]
    chunks = [b'{"a":1}\n{"b":', b"2}\n{}", b"\n"]
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    wire += b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"
    for i in range(0, len(wire), 3):  # split everywhere: inside sizes, lines and CRLFs
        conn.feed(wire[i : i + 3], at=float(i))
    assert conn.status == 200 and conn.chunked and conn.ended
    assert [line for _, line in conn.lines] == [b'{"a":1}', b'{"b":2}', b"{}"]


def test_children_and_rss_come_from_proc() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in market_memory.children(os.getpid())
        assert market_memory.rss_kib(child.pid) > 0
    finally:
        child.kill()
        child.wait()
