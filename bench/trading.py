"""``python -m bench.trading`` (or ``python -m bench.run --suite trading``): managed trading.

Two figures of the demo's managed trading (paper venue, replayed feed, SQLite store), each as a
ratio to the hello app (:mod:`bench.hello`) measured in the same round:

* **placement throughput**: requests/s of ``POST /accounts/DEMO-USD/orders`` with N concurrent
  clients (against ``GET /hello`` with N connections, before and after) and with one (against
  ``GET /hello`` with one), every request a new resting limit order with its own
  ``requestId`` (:mod:`bench.trading_load`);
* **``GET /orders`` of an account holding 1000 open orders** (DEMO-EUR, filled before the
  rounds): p50 / p99 latency and requests/s, with one connection (against ``GET /hello`` with
  one) and with N (against the hello runs with N).

Both servers run one gunicorn worker: ``gateway serve`` serves a configuration with market data
(which trading needs) with one, so the hello app gets one too. Results go to
``bench/results/trading.json`` and ``trading.md``; the table is printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bench import arguments, loadgen, report, servers, trading_load, trading_report
from bench.hello import PATH as HELLO_PATH
from bench.loadgen import Generator, LoadResult, Request
from bench.report import Measurement

PLACE_ACCOUNT = "DEMO-USD"
"""Where the placements under load go (it tracks latency: one more write per placement)."""
LIST_ACCOUNT = "DEMO-EUR"
"""The account holding ``--open-orders`` orders for ``GET /orders``; nothing else goes there."""
LIMIT_ORDER = urllib.parse.urlencode(
    # A buy limit about 7 % below the replayed EURUSD (~1.08): it rests, and stays open.
    {"instrument": "EURUSD", "qty": "1000", "side": "buy", "type": "limit", "limitPrice": "1.0"}
).encode()
SETTLE_SECONDS = 0.5
"""Pause between a warm-up and its measurement."""
SEED_CLIENTS = 8
"""Threads placing the open orders before the rounds."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The trading suite's own options (shared with ``python -m bench.run``)."""
    g = p.add_argument_group("trading suite (see bench/README.md)")
    g.add_argument(
        "--trading-rounds",
        type=arguments.positive_int,
        default=2,
        metavar="N",
        help="rounds of hello, targets, hello; the table gives medians (default 2)",
    )
    g.add_argument(
        "--open-orders",
        type=arguments.positive_int,
        default=1000,
        metavar="N",
        help=f"open orders in {LIST_ACCOUNT} for GET /orders (default 1000)",
    )


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench.trading`` (``bench.run`` has the same options)."""
    p = argparse.ArgumentParser(
        prog="python -m bench.trading",
        description="Order placement throughput and GET /orders latency, as ratios to a "
        "hello-world Falcon app measured in the same run.",
    )
    p.add_argument("--duration", type=arguments.positive_int, default=5, metavar="S",
                   help="seconds of load per target (default 5)")  # fmt: skip
    p.add_argument("--warmup", type=arguments.non_negative, default=1.0, metavar="S",
                   help="seconds of unmeasured load before each target (default 1)")  # fmt: skip
    p.add_argument("--connections", type=arguments.positive_int, default=32, metavar="N",
                   help="concurrent keep-alive connections (default 32)")  # fmt: skip
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator (default: wrk when on PATH, else python)")  # fmt: skip
    p.add_argument("--output", type=Path, default=report.RESULTS_DIR, metavar="DIR",
                   help="where trading.json and trading.md go (default bench/results)")  # fmt: skip
    add_arguments(p)
    return p


def plural(count: int, noun: str) -> str:
    """``1 connection``, ``32 connections``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def say(text: str) -> None:
    """Progress, on stderr."""
    print(text, file=sys.stderr, flush=True)


def trading_config(directory: Path, source: Path = servers.DEMO_CONFIG) -> Path:
    """The demo configuration with its feed, paper venue and trading, its store in ``directory``.

    The feed's files stay where they are (their paths are made absolute); the repository's
    ``demo.db`` is never touched.
    """
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("trading"), dict):
        raise RuntimeError(f"{source}: no trading section to measure")
    connectors = data.get("connectors")
    for spec in connectors.values() if isinstance(connectors, dict) else ():
        for key in ("ticks", "bars"):
            if isinstance(spec, dict) and isinstance(spec.get(key), str):
                spec[key] = str((source.parent / spec[key]).resolve())
    store = data.get("store")
    url = f"sqlite:///{(directory / 'trading.db').resolve()}"
    data["store"] = {**(store if isinstance(store, dict) else {}), "url": url}
    target = directory / "gateway.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def open_orders(port: int, token: str, account: str) -> list[dict[str, Any]]:
    """The account's open orders, through ``GET /orders``."""
    status, body = trading_load.call(
        servers.HOST,
        port,
        "GET",
        f"/accounts/{account}/orders",
        None,
        {"Authorization": f"Bearer {token}"},
    )
    if status != 200 or not isinstance(body, dict) or body.get("s") != "ok":
        raise RuntimeError(f"GET /accounts/{account}/orders answered {status}: {str(body)[:300]}")
    return [o for o in body["d"] if o["status"] in ("placing", "working", "inactive")]


class Suite:
    """The servers' ports, the load generator and the options: one measurement at a time."""

    def __init__(
        self, args: argparse.Namespace, generator: Generator, hello_port: int, gateway_port: int
    ) -> None:
        self.args = args
        self.generator = generator
        self.hello_port = hello_port
        self.gateway_port = gateway_port

    def _announce(self, label: str, connections: int) -> None:
        conns = plural(connections, "connection")
        say(f"  measuring {label} for {self.args.duration:g} s ({conns})")

    def get(self, server: str, label: str, request: Request, connections: int) -> Measurement:
        """Warm up (not measured), let what is in flight finish, then load with ``request``."""
        port = self.hello_port if server == "hello" else self.gateway_port
        if self.args.warmup > 0:
            loadgen.run(
                self.generator,
                servers.HOST,
                port,
                request,
                duration=self.args.warmup,
                connections=connections,
            )
            time.sleep(SETTLE_SECONDS)
        self._announce(label, connections)
        result = loadgen.run(
            self.generator,
            servers.HOST,
            port,
            request,
            duration=self.args.duration,
            connections=connections,
        )
        return Measurement(label, server, request, connections, result)

    def place(self, label: str, request: Request, prefix: str, connections: int) -> Measurement:
        """As :meth:`get`, each request a new order (``requestId`` = ``prefix`` + a counter)."""

        def load(duration: float, tag: str) -> LoadResult:
            return trading_load.run(
                self.generator,
                servers.HOST,
                self.gateway_port,
                request,
                prefix=f"{prefix}{tag}-",
                duration=duration,
                connections=connections,
            )

        if self.args.warmup > 0:
            load(self.args.warmup, "w")
            time.sleep(SETTLE_SECONDS)
        self._announce(label, connections)
        return Measurement(label, "gateway", request, connections, load(self.args.duration, "m"))


NOTES = [
    "ratio = requests/s of the target / mean requests/s of the hello runs it is compared with, "
    "in the same round: GET /hello with as many connections (just before and just after the "
    "targets), or GET /hello with one connection for the one-connection rows. Latency ratios "
    "are the target's p50 (p99) over the hello runs' p50 (p99). The table gives medians over "
    "the rounds. Compare ratios, not requests/s: the machine is shared and noisy.",
    "POST /orders: every request is a new buy limit order of 1000 EURUSD at 1.0 (about 7 % "
    "below the replayed quotes, so it rests) with a requestId of its own; only answers "
    '{"s": "ok"} count (the gateway refuses orders with HTTP 200 and {"s": "error"}). A placement '
    "is three write transactions on the store (the order; its hand-over to the paper venue; a "
    "transaction id for latency tracking) and a read. Writes to one account are serialized by "
    "design, so concurrent placements wait for each other: compare the one-connection row "
    "(no waiting) with the N-connection row.",
    "Orders placed under load stay open (how many: in the set-up line), so each round starts "
    "with more resting EURUSD orders; the paper venue looks at every resting order of an "
    "instrument on each of its quotes and after each resting placement, so later rounds place "
    "somewhat slower (the JSON has every round).",
    "GET /orders: an account holding exactly the set-up's open orders (nothing else is placed "
    "there), so every answer is one query and that many orders rendered to JSON.",
    f"Both servers run one gunicorn worker ({servers.worker_setting(1)}): `gateway serve` "
    "serves a configuration with market data with one, and managed "
    "trading needs market data. The gateway also replays the demo's feed meanwhile, and the "
    "paper venue looks at its resting orders on every quote.",
]


def _rounds(suite: Suite, token: str) -> list[trading_report.Round]:
    args = suite.args
    auth = ("Authorization", f"Bearer {token}")
    hello = Request("GET", HELLO_PATH)
    listing = Request("GET", f"/accounts/{LIST_ACCOUNT}/orders", headers=(auth,))
    placing = Request(
        "POST",
        f"/accounts/{PLACE_ACCOUNT}/orders?locale=en&requestId=",
        headers=(trading_load.FORM, auth),
        body=LIMIT_ORDER,
    )
    listed = f"GET /orders ({args.open_orders:,} open)"
    rounds: list[trading_report.Round] = []
    for number in range(1, args.trading_rounds + 1):
        say(f"round {number} of {args.trading_rounds}")
        before = suite.get("hello", "GET /hello (before)", hello, args.connections)
        single = suite.get("hello", "GET /hello (1 connection)", hello, 1)
        list_single = suite.get("gateway", f"{listed}, 1 connection", listing, 1)
        place_single = suite.place(
            "POST /orders (new limit order), 1 connection", placing, f"r{number}s", 1
        )
        place = suite.place(
            "POST /orders (new limit order)", placing, f"r{number}n", args.connections
        )
        list_load = suite.get("gateway", listed, listing, args.connections)
        after = suite.get("hello", "GET /hello (after)", hello, args.connections)
        rounds.append(
            trading_report.Round(
                hello_load=[before, after],
                hello_single=[single],
                targets=[
                    (list_single, "single"),
                    (place_single, "single"),
                    (place, "load"),
                    (list_load, "load"),
                ],
            )
        )
        # The listed account must still hold exactly the set-up's orders.
        still = len(open_orders(suite.gateway_port, token, LIST_ACCOUNT))
        if still != args.open_orders:
            raise RuntimeError(f"{LIST_ACCOUNT} holds {still} open orders, not {args.open_orders}")
    return rounds


def run(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Measure; the exit status (0 fine, 1 some request failed) and the JSON document.

    Raises RuntimeError when the run could not be made (a server did not start, the set-up's
    orders were refused, wrk failed).
    """
    began = time.monotonic()
    generator = loadgen.choose(args.loadgen)
    with tempfile.TemporaryDirectory(prefix="gateway-bench-trading-") as tmp:
        tmpdir = Path(tmp)
        config = trading_config(tmpdir)
        hello_port, gateway_port = servers.free_port(), servers.free_port()
        say(
            f"trading: starting hello (port {hello_port}) and gateway (port {gateway_port}), "
            f"1 worker each; load generator: {generator}"
        )
        with (
            servers.serve_hello(hello_port, 1, tmpdir),
            servers.serve_gateway(config, gateway_port, 1, tmpdir),
        ):
            token = trading_load.login(servers.HOST, gateway_port)
            if open_orders(gateway_port, token, LIST_ACCOUNT):
                raise RuntimeError(f"{LIST_ACCOUNT} has open orders in a fresh store")
            say(f"placing {args.open_orders:,} orders in {LIST_ACCOUNT}")
            seed = Request(
                "POST",
                f"/accounts/{LIST_ACCOUNT}/orders?locale=en&requestId=",
                headers=(trading_load.FORM, ("Authorization", f"Bearer {token}")),
                body=LIMIT_ORDER,
            )
            seconds = trading_load.place_many(
                servers.HOST, gateway_port, seed, "seed-", args.open_orders, SEED_CLIENTS
            )
            held = len(open_orders(gateway_port, token, LIST_ACCOUNT))
            if held != args.open_orders:
                raise RuntimeError(f"{LIST_ACCOUNT} holds {held} open orders after the set-up")
            suite = Suite(args, generator, hello_port, gateway_port)
            rounds = [trading_report.build_round(r) for r in _rounds(suite, token)]
            placed_open = len(open_orders(gateway_port, token, PLACE_ACCOUNT))

    summary = trading_report.summarize(rounds)
    spreads = [r["hello_spread"] for r in rounds if r["hello_spread"] is not None]
    notes = [
        *NOTES,
        f"Noise: the two GET /hello runs with {args.connections} connections differed by "
        f"{statistics.median(spreads):.0%} of their mean (median over rounds; worst "
        f"{max(spreads):.0%})."
        if spreads
        else "Noise: one hello run per round.",
    ]
    if generator == "python":
        notes.append(
            "wrk was not used: the Python fallback client needs far more CPU per request than "
            "wrk and takes it from the servers, so its ratios are not comparable with wrk's."
        )
    document: dict[str, Any] = {
        **report.head("trading"),
        "load_generator": loadgen.describe(generator),
        "settings": {
            "rounds": args.trading_rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "open_orders": args.open_orders,
            "place_account": PLACE_ACCOUNT,
            "list_account": LIST_ACCOUNT,
            "gunicorn": servers.worker_setting(1),
        },
        "setup": {
            "open_orders": args.open_orders,
            "clients": SEED_CLIENTS,
            "seconds": round(seconds, 2),
            "per_s": round(args.open_orders / seconds, 1) if seconds > 0 else 0.0,
        },
        "orders": {"place_account_open_at_end": placed_open},
        "summary": summary,
        "rounds": rounds,
        "notes": notes,
        "elapsed_s": round(time.monotonic() - began, 1),
    }
    status = 1 if any(row["errors"] or not row["successes"] for row in summary) else 0
    return status, document


def run_and_write(args: argparse.Namespace) -> tuple[int, dict[str, Any] | None, str]:
    """Run the suite, write ``trading.json`` and ``trading.md``; status, document and page.

    Status: 0 when every request succeeded, 1 when some failed, 2 when the run could not be
    made (the document is then None), 130 on Ctrl-C.
    """
    status, document = report.guarded("trading", run, args)
    if document is None:
        return status, None, ""
    text = trading_report.markdown(document)
    json_path, md_path = trading_report.write(document, text, args.output)
    say(f"written: {json_path} and {md_path}")
    for row in document["summary"]:
        if row["errors"] or not row["successes"]:
            say(
                f"warning: {row['label']}: {row['successes']} successes, "
                f"{row['errors']} errors {row['error_kinds']}"
            )
    return status, document, text


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.trading``."""
    p = parser()
    args = p.parse_args(argv)
    report.stop_on_sigterm()
    status, _document, text = run_and_write(args)
    print(text, end="")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
