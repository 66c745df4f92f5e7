"""The two measurements of the FIX suite (see :mod:`bench.fix`), each with its servers.

* :func:`orders_part`: order round trips, placement to ``filled`` seen in ``GET /orders``,
  through the FIX venue simulator (``gateway fix-venue``) and, as the baseline, through the same
  paper venue inside the gateway (the demo), with ``GET /hello`` latency as the HTTP floor.
* :func:`market_part`: the same synthetic ticks into ``/streaming`` from a FIX upstream
  (:mod:`bench.fix_upstream`) and, as the baseline, from a ``csv_replay`` feed, once paced and
  once as a burst that measures how many messages per second get through.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from bench import servers, trading_load
from bench.hello import PATH as HELLO_PATH
from bench.market_config import symbol_names, write_config, write_ticks
from bench.market_stream import PhaseResult, StreamClients, analyse, latency_stats
from bench.trading import trading_config

ACCOUNT = "DEMO-USD"
INSTRUMENT = "BTCUSD"  # 24x7 in the demo, so the bench runs at any hour
FIX_DEMO = servers.REPO_ROOT / "examples" / "fix-demo" / "gateway.yaml"
ROUND_TRIP_TIMEOUT = 15.0
POLL_PAUSE = 0.001
"""Seconds between two ``GET /orders`` while waiting for a fill (the resolution of a trip)."""


def say(text: str) -> None:
    """Progress, on stderr."""
    print(text, file=sys.stderr, flush=True)


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else round(value / base, 3)


# -- servers ----------------------------------------------------------------------------------


def fix_demo_config(directory: Path, venue_port: int, source: Path = FIX_DEMO) -> Path:
    """``examples/fix-demo`` with its store in ``directory``, routed to ``venue_port``."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["extends"] = str((source.parent / data["extends"]).resolve())
    for spec in data["connectors"].values():
        for key in ("ticks", "bars"):
            if isinstance(spec.get(key), str):
                spec[key] = str((source.parent / spec[key]).resolve())
    data["connectors"]["upstream"]["port"] = venue_port
    data["store"] = {"url": f"sqlite:///{(directory / 'fix.db').resolve()}"}
    target = directory / "fix-gateway.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def _wait_line(server: servers.Server, marker: str, timeout: float = 30.0) -> str:
    """The first line of the server's log that starts with ``marker``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        with suppress(OSError):
            for line in server.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith(marker):
                    return line
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} never printed {marker!r}:\n{server.log_tail()}")


@contextmanager
def running(name: str, argv: list[str], log_dir: Path, marker: str) -> Iterator[servers.Server]:
    """A process that is ready once it prints a line starting with ``marker``."""
    server = servers.start(name, argv, 0, log_dir)
    try:
        _wait_line(server, marker)
        yield server
    finally:
        servers.stop(server)


# -- order round trips --------------------------------------------------------------------------


class Trader:
    """One keep-alive connection to a gateway, logged in as demo/demo."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.token = trading_load.login(servers.HOST, port)
        self.conn = http.client.HTTPConnection(servers.HOST, port, timeout=30)
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.count = 0

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def call(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        """The ``d`` of an ``ok`` answer; RuntimeError with the ``errmsg`` otherwise."""
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        status, answer = trading_load.call(
            servers.HOST, self.port, method, path, body, self.headers, self.conn
        )
        if status != 200 or not isinstance(answer, dict) or answer.get("s") != "ok":
            raise RuntimeError(f"{method} {path} answered {status}: {str(answer)[:300]}")
        return answer.get("d")

    def place(self) -> str:
        """A market order of 1 BTCUSD (buys and sells in turn, so the position stays flat)."""
        self.count += 1
        side = "buy" if self.count % 2 else "sell"
        form = {"instrument": INSTRUMENT, "qty": "1", "side": side, "type": "market"}
        d = self.call("POST", f"/accounts/{ACCOUNT}/orders?locale=en&requestId=b{self.count}", form)
        return str(d["orderId"])

    def status(self, order_id: str) -> str | None:
        """The order's status in ``GET /orders`` (None: not listed)."""
        for order in self.call("GET", f"/accounts/{ACCOUNT}/orders?locale=en"):
            if order["id"] == order_id:
                return str(order["status"])
        return None

    def round_trip(self) -> float:
        """Seconds from sending the placement to the first ``GET /orders`` showing it filled."""
        began = time.perf_counter()
        order_id = self.place()
        while True:
            status = self.status(order_id)
            if status == "filled":
                return time.perf_counter() - began
            if status in ("rejected", "cancelled"):
                raise RuntimeError(f"order {order_id} was {status}")
            if time.perf_counter() - began > ROUND_TRIP_TIMEOUT:
                raise RuntimeError(f"order {order_id} not filled after {ROUND_TRIP_TIMEOUT:g} s")
            time.sleep(POLL_PAUSE)

    def wait_trading(self, timeout: float = 60.0) -> None:
        """Until an order goes through (the FIX session may still be logging on)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.round_trip()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


def hello_latencies(port: int, count: int) -> list[float]:
    """Seconds of ``count`` sequential ``GET /hello`` on one keep-alive connection."""
    conn = http.client.HTTPConnection(servers.HOST, port, timeout=30)
    times = []
    for _ in range(count):
        began = time.perf_counter()
        conn.request("GET", HELLO_PATH)
        conn.getresponse().read()
        times.append(time.perf_counter() - began)
    conn.close()
    return times


def _ms(seconds: list[float]) -> dict[str, float]:
    return latency_stats([s * 1000 for s in seconds])


def orders_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Round trips through the FIX simulator and through the paper venue, in rounds."""
    for name in ("venue", "paper", "fix"):
        (tmp / name).mkdir()
    venue_config = trading_config(tmp / "venue")
    venue_port = servers.free_port()
    paper_port, fix_port, hello_port = (servers.free_port() for _ in range(3))
    venue_argv = [
        sys.executable, "-m", "gateway.cli", "fix-venue", str(venue_config),
        "--listen", f"{servers.HOST}:{venue_port}",
    ]  # fmt: skip
    fix_config = fix_demo_config(tmp / "fix", venue_port)
    say(f"fix orders: venue on {venue_port}, fix gateway on {fix_port}, paper on {paper_port}")
    rounds: list[dict[str, Any]] = []
    with (
        running("fix-venue", venue_argv, tmp, "fix-venue: accepting"),
        servers.serve_hello(hello_port, 1, tmp),
        servers.serve_gateway(trading_config(tmp / "paper"), paper_port, 1, tmp / "paper"),
        servers.serve_gateway(fix_config, fix_port, 1, tmp / "fix"),
    ):
        fix, paper = Trader(fix_port), Trader(paper_port)
        try:
            fix.wait_trading()
            paper.wait_trading()
            for number in range(1, args.fix_rounds + 1):
                say(f"fix orders: round {number}: {args.fix_orders} round trips each")
                hello = hello_latencies(hello_port, args.fix_orders)
                through_paper = [paper.round_trip() for _ in range(args.fix_orders)]
                through_fix = [fix.round_trip() for _ in range(args.fix_orders)]
                rounds.append(
                    {
                        "hello_ms": _ms(hello),
                        "paper_ms": _ms(through_paper),
                        "fix_ms": _ms(through_fix),
                    }
                )
        finally:
            fix.close()
            paper.close()
    summary: dict[str, Any] = {}
    for key in ("hello_ms", "paper_ms", "fix_ms"):
        summary[key] = {
            stat: round(statistics.median(r[key][stat] for r in rounds), 3)
            for stat in ("p50", "p99", "max")
        }
    fix_p50, paper_p50 = summary["fix_ms"]["p50"], summary["paper_ms"]["p50"]
    summary["fix_to_paper_p50"] = _ratio(fix_p50, paper_p50)
    summary["fix_to_paper_p99"] = _ratio(summary["fix_ms"]["p99"], summary["paper_ms"]["p99"])
    summary["fix_to_hello_p50"] = _ratio(fix_p50, summary["hello_ms"]["p50"])
    return {"orders_per_round": args.fix_orders, "summary": summary, "rounds": rounds}


# -- market data into /streaming ------------------------------------------------------------------


def _fix_feed_config(directory: Path, port: int, symbols: int) -> Path:
    """The market suite's minimal configuration with a ``fix`` feed instead of the replay."""
    ticks = directory / "unused.csv"
    write_ticks(ticks, rate=1, seconds=1, symbols=symbols)
    path = write_config(
        directory, ticks=ticks, start=0, symbols=symbols,
        store_url=f"sqlite:///{(directory / 'store.db').resolve()}", name="fix.yaml",
    )  # fmt: skip
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["connectors"] = {
        "upstream": {
            "type": "fix",
            "host": servers.HOST,
            "port": port,
            "sender_comp_id": "GATEWAY",
            "target_comp_id": "VENUE",
            "heartbeat": "30s",
            "reconnect_min": "0.2s",
            "market_data": {"symbols": symbol_names(symbols), "depth": 1},
        }
    }
    data["market"] = {"feeds": ["upstream"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class LateStartError(RuntimeError):
    """The gateway was not streaming yet when its first tick was due: try a longer lead."""


def _stream(port: int, *, start: float, rate: float, count: int, grace: float) -> dict[str, Any]:
    """One /streaming connection while ticks ``0 <= k < count`` are due from ``start``.

    The connection must be streaming (its first heartbeat in) before the first tick is due:
    a tick published earlier reaches nobody, and would count as lost.
    """
    with StreamClients(servers.HOST, port, "/streaming") as clients:
        clients.open(1)
        clients.pump(time.time() + 15.0, lambda: clients.started() == 1)
        if time.time() >= start:
            raise LateStartError(f"/streaming was ready {time.time() - start:.1f} s after tick 0")
        last_due = start + (count - 1) / rate

        def reached() -> bool:
            return time.time() > last_due and _last_tick(clients) >= count - 1

        clients.pump(last_due + grace, reached)
        result = analyse("gateway", clients, start=start, rate=rate, first=0, end=count)
        arrivals = [at for at, line in clients.connections[0].lines if b'"f":"t"' in line
                    or b'"f":"q"' in line]  # fmt: skip
    return _summary(result, arrivals)


def _last_tick(clients: StreamClients) -> int:
    for _, line in reversed(clients.connections[0].lines):
        message = json.loads(line)
        kind = message.get("f")
        if kind in ("t", "q"):
            return int(message["s"] if kind == "t" else message["bs"])
    return -1


def _summary(result: PhaseResult, arrivals: list[float]) -> dict[str, Any]:
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    return {
        **result.as_dict(),
        "msgs_per_s": round((len(arrivals) - 1) / span, 1) if span > 0 else None,
        "span_s": round(span, 3),
    }


def _with_lead(run: Callable[[float], dict[str, Any]], lead: float) -> dict[str, Any]:
    """``run(lead)``, with the lead doubled (up to twice) when the gateway started too late.

    On a loaded machine a gateway may take longer than the lead to start streaming; the
    result records the lead that was used.
    """
    for attempt in range(3):
        try:
            return {**run(lead), "lead_s": lead}
        except LateStartError as exc:
            if attempt == 2:
                raise RuntimeError(f"{exc}, even with a lead of {lead:g} s") from None
            say(f"  {exc}: again with a lead of {lead * 2:g} s")
            lead *= 2
    raise AssertionError("unreachable")


def _csv_run(tmp: Path, name: str, rate: float, count: int, lead: float, symbols: int) -> Any:
    directory = Path(tempfile.mkdtemp(prefix=f"csv-{name}-", dir=tmp))
    ticks = directory / "ticks.csv"
    write_ticks(ticks, rate=rate, seconds=count / rate, symbols=symbols)
    start = time.time() + lead
    config = write_config(
        directory, ticks=ticks, start=start, symbols=symbols,
        store_url=f"sqlite:///{(directory / 'store.db').resolve()}",
    )  # fmt: skip
    port = servers.free_port()
    with servers.serve_gateway(config, port, 1, directory):
        return _stream(port, start=start, rate=rate, count=count, grace=60.0)


def _fix_run(tmp: Path, name: str, rate: float, count: int, lead: float, symbols: int) -> Any:
    directory = Path(tempfile.mkdtemp(prefix=f"fix-{name}-", dir=tmp))
    start = time.time() + lead
    argv = [sys.executable, "-m", "bench.fix_upstream",
            "--symbols", str(symbols), "--rate", f"{rate:g}", "--count", str(count),
            "--start", f"{start:.6f}"]  # fmt: skip
    with running("fix-upstream", argv, directory, "ready ") as upstream:
        upstream_port = int(_wait_line(upstream, "ready ").split()[1])
        config = _fix_feed_config(directory, upstream_port, symbols)
        port = servers.free_port()
        with servers.serve_gateway(config, port, 1, directory):
            result = _stream(port, start=start, rate=rate, count=count, grace=60.0)
        # How fast the upstream got its messages out (the gateway reading them pushes back).
        sent = _wait_line(upstream, "sent ", 5.0).split()
        seconds = float(sent[2])
        result["upstream_msgs_per_s"] = round(count / seconds, 1) if seconds > 0 else None
    return result


def sink_rate(count: int, symbols: int) -> float | None:
    """Messages per second the upstream encodes and writes with nobody reading them."""
    argv = [sys.executable, "-m", "bench.fix_upstream", "--sink", "--rate", "1e9",
            "--count", str(count), "--symbols", str(symbols)]  # fmt: skip
    out = subprocess.run(argv, cwd=servers.REPO_ROOT, capture_output=True, text=True, check=True)
    seconds = float(out.stdout.split()[2])
    return round(count / seconds, 1) if seconds > 0 else None


def market_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Paced and burst runs, each from the replay (baseline) and from the FIX upstream."""
    symbols, lead = args.fix_md_symbols, args.fix_md_lead
    modes = [
        ("paced", args.fix_md_rate, max(1, int(args.fix_md_rate * args.fix_md_seconds))),
        ("burst", 1e6, args.fix_md_burst),
    ]
    runs: dict[str, Any] = {}
    for name, rate, count in modes:
        say(f"fix market data: {name}: {count:,} ticks at {rate:g}/s from the replay, then FIX")
        csv = _with_lead(partial(_csv_run, tmp, name, rate, count, symbols=symbols), lead)
        fix = _with_lead(partial(_fix_run, tmp, name, rate, count, symbols=symbols), lead)
        runs[name] = {
            "rate_per_s": rate,
            "ticks": count,
            "csv_replay": csv,
            "fix": fix,
            "msgs_ratio": _ratio(fix["msgs_per_s"], csv["msgs_per_s"]),
            "p50_ratio": _ratio(fix["latency_ms"]["p50"], csv["latency_ms"]["p50"]),
            "p99_ratio": _ratio(fix["latency_ms"]["p99"], csv["latency_ms"]["p99"]),
        }
    say("fix market data: the upstream alone (encoding into a drained socket)")
    sink = sink_rate(args.fix_md_burst, symbols)
    complete = all(r[k]["complete"] for r in runs.values() for k in ("csv_replay", "fix"))
    return {"symbols": symbols, "runs": runs, "upstream_alone_msgs_per_s": sink,
            "complete": complete, "finite": all(math.isfinite(r["fix"]["latency_ms"]["p50"])
                                                for r in runs.values())}  # fmt: skip
