"""``python -m bench.market`` (or ``python -m bench.run --suite market``): market-data figures.

Three measurements in one run, each against a baseline measured in the same run:

1. **Tick-to-client latency on /streaming** with 16 and 64 connections: a synthetic tick file
   replayed by ``gateway serve`` (csv_replay with a fixed start), every tick's arrival minus its
   scheduled publish time, against a trivial chunked stream (:mod:`bench.market_echo`) under the
   same gunicorn settings (:mod:`bench.market_stream`).
2. **/history of one day (1440 bars) from a 10-million-bar store** on SQLite and PostgreSQL,
   through HTTP and in process, against the raw SQL query (:mod:`bench.market_history`).
3. **Memory per idle /streaming connection**: the worker's RSS with 0 to 1000 streams open
   (:mod:`bench.market_memory`).

The parts themselves are in :mod:`bench.market_parts`. Results go to
``bench/results/market.json`` and ``market.md``; the tables are printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import arguments, report, servers
from bench.market_parts import history_part, memory_part, say, streaming_part
from bench.market_report import markdown
from gateway.serving import GUNICORN_DEFAULTS

PARTS = ("streaming", "history", "memory")
DEFAULT_POSTGRES = os.environ.get(
    "GATEWAY_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/gateway_bench"
)
THREADS = int(GUNICORN_DEFAULTS["threads"])


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas: {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers: {text!r}")
    return values


def _parts(text: str) -> tuple[str, ...]:
    return arguments.parts(text, PARTS)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The market suite's options (shared with ``python -m bench.run``)."""
    g = p.add_argument_group("market suite (see bench/README.md)")
    g.add_argument(
        "--parts",
        type=_parts,
        default=PARTS,
        metavar="LIST",
        help="what to measure (default streaming,history,memory)",
    )
    g.add_argument(
        "--stream-connections",
        type=_counts,
        default=(16, 64),
        metavar="LIST",
        help="simultaneous /streaming connections per run (default 16,64)",
    )
    g.add_argument(
        "--stream-seconds",
        type=arguments.positive,
        default=8.0,
        metavar="S",
        help="measured seconds of ticks per run (default 8)",
    )
    g.add_argument(
        "--stream-rate",
        type=arguments.positive,
        default=200.0,
        metavar="N",
        help="ticks per second, all symbols together (default 200)",
    )
    g.add_argument(
        "--stream-symbols",
        type=int,
        default=4,
        metavar="N",
        help="symbols of the synthetic feed (default 4)",
    )
    g.add_argument(
        "--stream-lead",
        type=arguments.positive,
        default=3.0,
        metavar="S",
        help="seconds from starting the gateway to its replay's start (default 3)",
    )
    g.add_argument(
        "--history-bars",
        type=int,
        default=10_000_000,
        metavar="N",
        help="one-minute bars in the store (default 10000000)",
    )
    g.add_argument(
        "--history-requests",
        type=int,
        default=300,
        metavar="N",
        help="one-day windows read by each reader (default 300)",
    )
    g.add_argument(
        "--history-rounds",
        type=int,
        default=3,
        metavar="N",
        help="interleaved rounds of raw, in-process and HTTP reads (default 3)",
    )
    g.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES,
        metavar="URL",
        help="database for the PostgreSQL store, created if missing (default "
        "$GATEWAY_BENCH_POSTGRES or postgresql+psycopg://postgres@127.0.0.1:5432/"
        "gateway_bench)",
    )
    g.add_argument("--no-postgres", action="store_true", help="measure /history on SQLite only")
    g.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        metavar="DIR",
        help="where the SQLite bar store is cached between runs (default: the temporary directory)",
    )
    g.add_argument(
        "--memory-connections",
        type=_counts,
        default=(200, 1000),
        metavar="LIST",
        help="idle streams on each server of the memory part (default 200,1000)",
    )


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench.market``."""
    return report.suite_parser(
        "market",
        "Market-data latency, /history cost and streaming memory, as ratios to baselines "
        "measured in the same run.",
        add_arguments,
    )


# -- the run ---------------------------------------------------------------------------------

NOTES = [
    "Every figure is compared with a baseline measured in the same run; the machine is shared "
    "and noisy, so compare ratios between runs, not milliseconds.",
    "Streaming: the client (one thread, epoll, raw sockets, chunked decoding; JSON parsed only "
    "after each run) shares the CPUs with the server. Latency = wall time of the recv that "
    "completed a message − the tick's scheduled publish time (replay start + offset; streamed "
    "`t` is whole seconds, so ticks are matched by their unique sizes). The baseline is a bare "
    f"Falcon app under the same gunicorn settings ({servers.worker_setting(1)}) whose streams "
    "sleep until each line is due; its runs before and after the gateway's are averaged. "
    "Messages later than 1 s count as missing.",
    "History: the store is generated in the database and cached (SQLite under the temporary "
    "directory, PostgreSQL in its own database); the first reader (raw) reads every window "
    "once before timing so that all readers find the same pages cached. Raw = the SELECT of "
    "BarStore.range through the driver (sqlite3 / psycopg, autocommit), rows fetched. "
    "In-process = gateway.market.history.answer() on a BarStore (SQLAlchemy, Bar objects, the "
    "response dict). HTTP = GET /history on `gateway serve`, one keep-alive connection, body "
    "read but not parsed (so it includes JSON encoding, gunicorn and the access log).",
    "Memory: VmRSS of the single gunicorn worker, median of 3 readings after the streams "
    "received their first heartbeat. `gateway serve` runs the gevent worker (a greenlet per "
    "connection). The threads worker serves each stream on a thread of its own: it is run the "
    "container's way, `GATEWAY_WORKER_CLASS=threads gunicorn -c config/gunicorn.conf.py "
    "--threads N`, with a thread per stream; with its default of "
    f"{THREADS} threads, further connections would wait without an answer (the `(streaming)` "
    "count would show it). The baseline app runs under the gateway's default settings.",
]


def run(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Measure the selected parts; the exit status and the JSON document.

    Status: 0 when everything was measured and every check passed, 1 when a check failed (a
    connection missed ticks), 2 when a part could not be measured (its error is recorded).
    """
    began = time.monotonic()
    document: dict[str, Any] = {
        **report.head("market"),
        "settings": {
            "gunicorn": servers.worker_setting(1),
        },
    }
    steps = {"streaming": streaming_part, "history": history_part, "memory": memory_part}
    status = report.run_parts("market", steps, args.parts, args, document, say)
    streams = document.get("streaming", {}).get("summary", [])
    if status == 0 and not all(r["complete"] and r["baseline_complete"] for r in streams):
        status = 1
    document["elapsed_s"] = round(time.monotonic() - began, 1)
    document["notes"] = NOTES
    return status, document


def run_and_write(args: argparse.Namespace) -> int:
    """Run the suite, write ``market.json`` and ``market.md``, print the tables; the status."""
    return report.run_and_publish("market", run, markdown, args, say)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.market``."""
    args = parser().parse_args(argv)
    report.stop_on_sigterm()
    return run_and_write(args)


if __name__ == "__main__":
    raise SystemExit(main())
