"""``python -m bench.run``: the gateway's requests/s as ratios to a hello-world ceiling.

Serves the hello app (:mod:`bench.hello`) and the demo gateway (a throwaway copy of
``examples/demo/gateway.yaml`` with its SQLite store in a temporary directory) on free loopback
ports under the same gunicorn settings, then loads, one after the other: ``GET /hello``,
``GET /accounts`` with a bearer token, ``POST /authorize`` and ``GET /hello`` again. Results go
to ``bench/results/latest.json`` and ``latest.md`` and the table is printed.

``--suite market`` runs the market-data suite (:mod:`bench.market`) instead, into
``market.json`` and ``market.md``; ``--suite trading`` the trading suite (:mod:`bench.trading`),
into ``trading.json`` and ``trading.md``; ``--suite fix`` the FIX suite (:mod:`bench.fix`), into
``fix.json`` and ``fix.md``; ``--suite all`` runs the four and combines them in ``latest.*``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import arguments, fix, loadgen, market, report, scale, servers, trading, trading_report
from bench.hello import PATH as HELLO_PATH
from bench.hello import gunicorn_options
from bench.loadgen import Generator, LoadResult, Request
from bench.market_report import markdown as market_markdown
from bench.report import Measurement

LOGIN = "demo"
PASSWORD = "demo"  # noqa: S105 - the demo configuration's published password
AUTHORIZE_BODY = urllib.parse.urlencode({"login": LOGIN, "password": PASSWORD}).encode()
FORM = ("Content-Type", "application/x-www-form-urlencoded")
SETTLE_SECONDS = 0.5
"""Pause between a warm-up and its measurement."""


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Requests/s of the gateway as ratios to a hello-world Falcon app.",
    )
    p.add_argument(
        "--duration",
        type=arguments.positive_int,
        default=5,
        metavar="S",
        help="seconds of load per target (default 5)",
    )
    p.add_argument(
        "--rounds",
        type=arguments.positive_int,
        default=3,
        metavar="N",
        help="rounds of hello, targets, hello; the report gives medians (default 3)",
    )
    p.add_argument(
        "--warmup",
        type=arguments.non_negative,
        default=1.0,
        metavar="S",
        help="seconds of unmeasured load before each target (default 1)",
    )
    p.add_argument(
        "--connections",
        type=arguments.positive_int,
        default=32,
        metavar="N",
        help="concurrent keep-alive connections (default 32)",
    )
    p.add_argument(
        "--authorize-connections",
        type=arguments.positive_int,
        default=None,
        metavar="N",
        help="connections for POST /authorize (default: the CPU count; see bench/README.md)",
    )
    p.add_argument(
        "--workers",
        type=arguments.positive_int,
        default=None,
        metavar="N",
        help="gunicorn workers for both servers (default: GUNICORN_DEFAULTS)",
    )
    p.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator (default: wrk when on PATH, else python)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=report.RESULTS_DIR,
        metavar="DIR",
        help="where latest.json and latest.md go (default bench/results)",
    )
    p.add_argument(
        "--suite",
        choices=("http", "market", "trading", "fix", "scale", "all"),
        default="http",
        help="http: requests/s (this suite, latest.*); market: streaming latency, /history and "
        "streaming memory (bench.market, market.*); trading: order placement and GET /orders "
        "(bench.trading, trading.*); fix: FIX order round trips and market data (bench.fix, "
        "fix.*); scale: idle streams per worker and one vs two instances behind nginx "
        "(bench.scale, scale.*; needs PostgreSQL, Redis and nginx); all: http, market, "
        "trading and fix, combined in latest.* (default http)",
    )
    market.add_arguments(p)
    trading.add_arguments(p)
    fix.add_arguments(p)
    scale.add_arguments(p)
    return p


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def obtain_token(port: int) -> str:
    """Log in as demo/demo with ``POST /authorize``; the access token."""
    conn = http.client.HTTPConnection(servers.HOST, port, timeout=30)
    try:
        conn.request("POST", "/authorize", body=AUTHORIZE_BODY, headers=dict([FORM]))
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    data: Any = json.loads(body) if body else None
    if response.status != 200 or not isinstance(data, dict) or data.get("s") != "ok":
        raise RuntimeError(f"POST /authorize answered {response.status}: {body[:300]!r}")
    token: str = data["d"]["access_token"]
    return token


def measure(
    generator: Generator,
    port: int,
    request: Request,
    *,
    duration: float,
    warmup: float,
    connections: int,
) -> LoadResult:
    """Warm up (not measured), let the server finish what is in flight, then load."""
    if warmup > 0:
        _say(f"  warming up {request.label} for {warmup:g} s")
        loadgen.run(
            generator, servers.HOST, port, request, duration=warmup, connections=connections
        )
        # Requests still being served when the warm-up's client stopped would otherwise eat
        # into the measured window (for POST /authorize: one Argon2 hash per connection).
        time.sleep(SETTLE_SECONDS)
    _say(f"  measuring {request.label} for {duration:g} s ({connections} connections)")
    return loadgen.run(
        generator, servers.HOST, port, request, duration=duration, connections=connections
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark: 0 when every request succeeded, 1 when some failed, 2 when the run
    could not be made, 130 on Ctrl-C."""
    p = parser()
    args = p.parse_args(argv)
    report.stop_on_sigterm()
    if args.suite == "market":
        return market.run_and_write(args)
    if args.suite == "trading":
        trading_status, _document, trading_text = trading.run_and_write(args)
        print(trading_text, end="")
        return trading_status
    if args.suite == "scale":
        return scale.run_and_write(args)
    if args.suite == "fix":
        fix_status, _document, fix_text = fix.run_and_write(args)
        print(fix_text, end="")
        return fix_status
    try:
        generator = loadgen.choose(args.loadgen)
    except RuntimeError as exc:
        p.error(str(exc))
    options = gunicorn_options(f"{servers.HOST}:0", args.workers)
    workers = int(options["workers"])
    authorize_connections = args.authorize_connections or min(args.connections, os.cpu_count() or 1)
    settings = {
        "rounds": args.rounds,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "connections": args.connections,
        "authorize_connections": authorize_connections,
        "gunicorn": {
            **{k: options[k] for k in ("worker_class", "workers", "keepalive")},
            "description": servers.worker_setting(workers),
        },
    }

    def run(
        server: str, port: int, label: str, request: Request, connections: int | None = None
    ) -> Measurement:
        connections = connections or args.connections
        result = measure(
            generator,
            port,
            request,
            duration=args.duration,
            warmup=args.warmup,
            connections=connections,
        )
        return Measurement(label, server, request, connections, result)

    hello = Request("GET", HELLO_PATH)
    authorize = Request("POST", "/authorize", headers=(FORM,), body=AUTHORIZE_BODY)
    try:
        with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
            tmpdir = Path(tmp)
            config = servers.throwaway_demo_config(tmpdir)
            hello_port, gateway_port = servers.free_port(), servers.free_port()
            _say(
                f"starting hello (port {hello_port}) and gateway (port {gateway_port}), "
                f"{workers} workers each; load generator: {generator}"
            )
            with (
                servers.serve_hello(hello_port, workers, tmpdir),
                servers.serve_gateway(config, gateway_port, workers, tmpdir),
            ):
                rounds: list[report.Round] = []
                for number in range(1, args.rounds + 1):
                    _say(f"round {number} of {args.rounds}")
                    before = run("hello", hello_port, "GET /hello (before)", hello)
                    token = obtain_token(gateway_port)
                    accounts = Request(
                        "GET", "/accounts", headers=(("Authorization", f"Bearer {token}"),)
                    )
                    targets = [
                        run("gateway", gateway_port, "GET /accounts", accounts),
                        run(
                            "gateway",
                            gateway_port,
                            "POST /authorize",
                            authorize,
                            authorize_connections,
                        ),
                    ]
                    after = run("hello", hello_port, "GET /hello (after)", hello)
                    rounds.append(([before, after], targets))
    except KeyboardInterrupt:
        _say("interrupted; servers stopped")
        return 130
    except RuntimeError as exc:  # a server that did not start, a load generator that failed
        _say(f"bench: {exc}")
        return 2

    document = report.build(
        generator=loadgen.describe(generator),
        settings=settings,
        rounds=rounds,
    )
    market_status = trading_status = fix_status = 0
    if args.suite == "all":
        try:
            market_status, market_document = market.run(args)
        except KeyboardInterrupt:
            _say("interrupted; servers stopped")
            return 130
        market_text = market_markdown(market_document)
        # Written to trading.* here; a run that could not be made is reported, not combined.
        trading_status, trading_document, trading_text = trading.run_and_write(args)
        if trading_status == 130:
            return 130
        # Written to fix.* likewise.
        fix_status, fix_document, fix_text = fix.run_and_write(args)
        if fix_status == 130:
            return 130
        combined = {**document, "trading": trading_document} if trading_document else document
        if fix_document:
            combined["fix"] = fix_document
        json_path, md_path = report.write_all(combined, market_document, market_text, args.output)
        pages = report.markdown(document) + "\n" + market_text
        if trading_text or fix_text:
            pages += "".join("\n" + text for text in (trading_text, fix_text) if text)
            trading_report.replace(md_path, pages)
        print(pages, end="")
    else:
        json_path, md_path = report.write(document, args.output)
        print(report.markdown(document), end="")
    _say(f"written: {json_path} and {md_path}")
    failed = [e for e in document["summary"] if e["errors"] or not e["successes"]]
    for entry in failed:
        _say(
            f"warning: {entry['label']}: {entry['successes']} successes, "
            f"{entry['errors']} errors {entry['error_kinds']}"
        )
    return max(1 if failed else 0, market_status, trading_status, fix_status)


if __name__ == "__main__":
    raise SystemExit(main())
