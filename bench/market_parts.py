"""The three measurements of the market suite, each with its servers (see :mod:`bench.market`).

Each ``*_part(args, tmp)`` starts what it needs on free loopback ports, measures, stops it and
returns its section of the JSON document; ``tmp`` is a directory of its own for configurations,
tick files, throwaway stores and server logs.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import market_history as mh
from bench import servers
from bench.market_config import write_config, write_silent_config, write_ticks
from bench.market_echo import PATH as ECHO_PATH
from bench.market_memory import measure_idle, summary, worker_pid
from bench.market_report import history_summary, streaming_summary
from bench.market_stream import PhaseResult, run_baseline, run_gateway

GUNICORN_CONF = servers.REPO_ROOT / "config" / "gunicorn.conf.py"


def say(text: str) -> None:
    """Progress, on stderr."""
    print(text, file=sys.stderr, flush=True)


def echo_command(port: int) -> list[str]:
    """The streaming baseline under the gateway's gunicorn settings, one worker."""
    return [sys.executable, "-m", "bench.market_echo", "--bind", f"{servers.HOST}:{port}"]


def stop_now(server: servers.Server) -> None:
    """Kill a server that held streams: its process group, by id, at once.

    gunicorn's quick shutdown (what :func:`bench.servers.stop` sends) lets a gthread worker's
    threads finish first, and a thread whose stream's client has gone only notices at its second
    heartbeat write (the first one succeeds): ten seconds wasted per server.
    """
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


# -- 1. streaming latency --------------------------------------------------------------------


def _gateway_stream(args: argparse.Namespace, tmp: Path, connections: int) -> PhaseResult:
    directory = tmp / f"stream-{connections}"
    directory.mkdir()
    ticks = directory / "ticks.csv"
    # Enough ticks for the window even if the gateway starts a whole lead late.
    seconds = args.stream_seconds + args.stream_lead + 3
    total = write_ticks(ticks, rate=args.stream_rate, seconds=seconds, symbols=args.stream_symbols)
    start = time.time() + args.stream_lead
    config = write_config(
        directory,
        ticks=ticks,
        start=start,
        symbols=args.stream_symbols,
        store_url=_sqlite_url(directory / "store.db"),
    )
    port = servers.free_port()
    with servers.serve_gateway(config, port, 1, directory):
        return run_gateway(
            servers.HOST,
            port,
            connections,
            start=start,
            rate=args.stream_rate,
            seconds=args.stream_seconds,
            total_ticks=total,
        )


def streaming_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Baseline, gateway, baseline for each number of connections."""
    port = servers.free_port()
    runs: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    with servers.serving("baseline-stream", echo_command(port), port, tmp, "/"):
        for n in args.stream_connections:

            def baseline(n: int = n) -> PhaseResult:
                return run_baseline(
                    servers.HOST, port, ECHO_PATH, n,
                    rate=args.stream_rate, seconds=args.stream_seconds,
                )  # fmt: skip

            say(f"streaming: {n} connections: baseline, gateway, baseline")
            before = baseline()
            gateway = _gateway_stream(args, tmp, n)
            after = baseline()
            for label, result in (("before", before), ("gateway", gateway), ("after", after)):
                runs.append({"label": label, **result.as_dict()})
            rows.append(streaming_summary(n, gateway, [before, after]))
    return {
        "rate_per_s": args.stream_rate,
        "symbols": args.stream_symbols,
        "seconds": args.stream_seconds,
        "summary": rows,
        "runs": runs,
    }


# -- 2. history ------------------------------------------------------------------------------


def _history_backend(
    backend: str, args: argparse.Namespace, tmp: Path, layout: mh.Layout
) -> dict[str, Any]:
    entry: dict[str, Any] = {"backend": backend}
    say(f"history: {backend}: preparing a store of {layout.rows:,} bars")
    try:
        if backend == "sqlite":
            path, built = mh.sqlite_store(layout, args.cache_dir)
            url = _sqlite_url(path)
        else:
            url, built = mh.postgres_store(args.postgres_url, layout)
    except mh.UnavailableError as exc:
        say(f"history: {backend} skipped: {exc}")
        return {**entry, "status": "skipped", "note": f"skipped: {exc}"}
    safe_url = sa.engine.make_url(url).render_as_string(hide_password=True)
    entry.update(status="ok", store=safe_url, build_s=None if built is None else round(built, 1))
    config = write_silent_config(
        tmp, symbols=layout.symbols, store_url=url, name=f"history-{backend}.yaml"
    )
    sample = mh.windows(layout, args.history_requests)
    port = servers.free_port()
    with servers.serve_gateway(config, port, 1, tmp / f"history-{backend}"):
        mh.check_http(servers.HOST, port, sample[0])
        raw, close_raw = mh.raw_reader(url)
        inproc, close_inproc = mh.gateway_reader(url)
        http, close_http = mh.http_reader(servers.HOST, port)
        try:
            say(f"history: {backend}: {len(sample)} windows × raw, in-process, HTTP")
            times = mh.measure(
                {
                    "raw": (raw, mh.DAY_BARS),
                    "in-process": (inproc, mh.DAY_BARS),
                    "http": (http, None),
                },
                sample,
                args.history_rounds,
            )
        finally:
            close_raw()
            close_inproc()
            close_http()
    return {**entry, **history_summary(times)}


def history_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """/history on SQLite and PostgreSQL against the raw query."""
    layout = mh.Layout.for_rows(args.history_bars)
    backends = []
    for backend in ("sqlite", "postgresql"):
        if backend == "postgresql" and args.no_postgres:
            backends.append({"backend": backend, "status": "skipped", "note": "--no-postgres"})
            continue
        (tmp / f"history-{backend}").mkdir()
        backends.append(_history_backend(backend, args, tmp, layout))
    return {
        "bars": layout.rows,
        "symbols": layout.symbols,
        "minutes": layout.minutes,
        "requests": args.history_requests,
        "rounds": args.history_rounds,
        "backends": backends,
    }


# -- 3. memory -------------------------------------------------------------------------------


def memory_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Worker RSS with idle streams: gateway serve, many threads, and the baseline app."""
    directory = tmp
    config = write_silent_config(
        directory,
        symbols=args.stream_symbols,
        store_url=_sqlite_url(directory / "store.db"),
        name="idle.yaml",
    )
    results = []
    counts = (0, *sorted(args.memory_connections))
    say("memory: gateway serve (gevent)")
    port = servers.free_port()
    with servers.serve_gateway(config, port, 1, directory) as server:
        pid = worker_pid(server.process.pid)
        points = measure_idle(servers.HOST, port, "/streaming", pid, counts)
        stop_now(server)
    results.append(summary("gateway serve (gevent)", 0, points))

    threads = max(args.memory_connections) + 24
    say(f"memory: threads worker, gunicorn -c config/gunicorn.conf.py --threads {threads}")
    port = servers.free_port()
    argv = [
        "env", f"GATEWAY_CONFIG={config}", "GATEWAY_WORKER_CLASS=threads", sys.executable,
        "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--bind", f"{servers.HOST}:{port}",
        "--threads", str(threads), "--worker-connections", str(threads + 64),
    ]  # fmt: skip
    with servers.serving("gateway-threads", argv, port, directory, "/") as server:
        pid = worker_pid(server.process.pid)
        points = measure_idle(servers.HOST, port, "/streaming", pid, counts)
        stop_now(server)
    results.append(summary("threads worker, a thread per stream", threads, points))

    say("memory: baseline stream app")
    port = servers.free_port()
    with servers.serving("baseline-idle", echo_command(port), port, directory, "/") as server:
        pid = worker_pid(server.process.pid)
        points = measure_idle(servers.HOST, port, f"{ECHO_PATH}?idle=1", pid, counts)
        stop_now(server)
    results.append(summary("baseline stream app", 0, points))
    gateway_kib, baseline_kib = results[0]["kib_per_connection"], results[2]["kib_per_connection"]
    ratio = round(gateway_kib / baseline_kib, 2) if gateway_kib and baseline_kib else None
    return {"servers": results, "ratio_to_baseline": ratio}
