"""``gateway conformance``: TradingView's acceptance checks against any broker server's URL."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.conformance.client import Client
from gateway.conformance.model import Context
from gateway.conformance.runner import SUITES, checks_for, run, summary, write_reports


def _suites(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in SUITES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown suite {', '.join(unknown) or text!r}; known: {', '.join(SUITES)}"
        )
    return names


def _bounded_seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"between {low:g} and {high:g} seconds, not {text}")
        return value

    return parse


_stream_seconds = _bounded_seconds(5, 86400)
_fill_seconds = _bounded_seconds(1, 3600)
_wait_seconds = _bounded_seconds(0, 3600)


def add_command(sub: Any) -> None:
    """Add ``gateway conformance`` to the command line's subparsers."""
    p = sub.add_parser(
        "conformance",
        help="run TradingView's acceptance checks against a broker server",
        description="Runs TradingView's acceptance checks against URL: the data integration's "
        "(authorization, groups, symbol info, history, streaming) and the trading "
        "integration's (spec shapes, CORS, 401, a scenario of real orders that it undoes): one "
        "line per check, a summary, exit status 1 if any failed.",
    )
    p.add_argument("--url", required=True, help="the server's base URL (http or https)")
    p.add_argument("--login", help="a user for POST /authorize")
    p.add_argument("--password", help="that user's password (default: asked for on stdin)")
    p.add_argument("--token", help="a bearer token to use instead of logging in")
    p.add_argument(
        "--suite", type=_suites, default=tuple(SUITES), metavar="LIST",
        help=f"suites to run, of {', '.join(SUITES)} (default all)",
    )  # fmt: skip
    p.add_argument(
        "--stream-seconds", type=_stream_seconds, default=150.0, metavar="S",
        help="how long the streaming checks record (default 150; at least 120 covers a whole "
        "minute for the history equality; TradingView records for hours)",
    )  # fmt: skip
    p.add_argument(
        "--history-wait", type=_wait_seconds, default=120.0, metavar="S",
        help="how long history.noDataChanges waits before asking again (default 120, as "
        "TradingView; 0 skips it)",
    )  # fmt: skip
    p.add_argument("--account", help="the account the trading checks use (default the first)")
    p.add_argument(
        "--symbol", help="the instrument the trading scenario trades (default: one with a quote)"
    )
    p.add_argument(
        "--fill-seconds", type=_fill_seconds, default=15.0, metavar="S",
        help="how long the trading scenario waits for a fill or an order's change (default 15)",
    )  # fmt: skip
    p.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    p.set_defaults(func=cmd_conformance)


def cmd_conformance(args: argparse.Namespace) -> int:
    """Run the checks; 0 when none failed, 1 when one did, 2 for bad arguments."""
    if args.login and args.token:
        print("gateway conformance: give --login or --token, not both", file=sys.stderr)
        return 2
    try:
        client = Client(args.url, verify_tls=not args.insecure)
    except ValueError as exc:
        print(f"gateway conformance: --url: {exc}", file=sys.stderr)
        return 2
    password = args.password
    if args.login and password is None:
        password = sys.stdin.readline().rstrip("\r\n")
    client.token = args.token
    ctx = Context(
        client,
        login=args.login,
        password=password,
        token_given=bool(args.token),
        stream_seconds=args.stream_seconds,
        account=args.account,
        symbol=args.symbol,
        fill_seconds=args.fill_seconds,
        history_wait=args.history_wait,
        progress=lambda text: print(f"  … {text}", file=sys.stderr, flush=True),
    )
    checks = checks_for(args.suite)
    outcomes = run(ctx, checks, say=lambda text: print(text, flush=True))
    print(summary(outcomes))
    write_reports(args.url, outcomes, args.json, args.junit)
    return 1 if any(o.status == "failed" for o in outcomes) else 0
