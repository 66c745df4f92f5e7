"""``python -m bench.fix`` (or ``python -m bench.run --suite fix``): the FIX connector.

Two measurements (:mod:`bench.fix_parts`), each next to a baseline measured in the same run:

* **order round trip**: a market order placed through ``POST /orders`` until ``GET /orders``
  shows it ``filled``, through the FIX venue simulator (``gateway fix-venue`` behind
  ``examples/fix-demo``), against the same trip through the paper venue inside the gateway (the
  demo) and against ``GET /hello``;
* **market data into /streaming**: synthetic ticks from a FIX upstream against the same ticks
  from a ``csv_replay`` feed, paced (latency) and as a burst (messages per second).

Results go to ``bench/results/fix.json`` and ``fix.md``; the page is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import arguments, fix_parts, report, trading_report
from bench.fix_parts import say

PARTS = ("orders", "market")


def _parts(text: str) -> tuple[str, ...]:
    return arguments.parts(text, PARTS)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The FIX suite's own options (shared with ``python -m bench.run``)."""
    g = p.add_argument_group("FIX suite (see bench/README.md)")
    g.add_argument("--fix-parts", type=_parts, default=PARTS, metavar="LIST",
                   help="what to measure: orders,market (default both)")  # fmt: skip
    g.add_argument("--fix-orders", type=arguments.positive_int, default=50, metavar="N",
                   help="round trips per venue per round (default 50)")  # fmt: skip
    g.add_argument("--fix-rounds", type=arguments.positive_int, default=3, metavar="N",
                   help="rounds of hello, paper, FIX round trips (default 3)")  # fmt: skip
    g.add_argument("--fix-md-rate", type=arguments.positive, default=1000.0, metavar="N",
                   help="ticks per second of the paced run (default 1000)")  # fmt: skip
    g.add_argument("--fix-md-seconds", type=arguments.positive, default=5.0, metavar="S",
                   help="seconds of the paced run (default 5)")  # fmt: skip
    g.add_argument("--fix-md-burst", type=arguments.positive_int, default=20000, metavar="N",
                   help="ticks of the burst run, all due at once (default 20000)")  # fmt: skip
    g.add_argument("--fix-md-symbols", type=arguments.positive_int, default=4, metavar="N",
                   help="symbols of the synthetic ticks (default 4)")  # fmt: skip
    g.add_argument("--fix-md-lead", type=arguments.positive, default=4.0, metavar="S",
                   help="seconds from a gateway's start to its first tick (default 4)")  # fmt: skip


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench.fix``."""
    p = argparse.ArgumentParser(
        prog="python -m bench.fix",
        description="FIX order round trips and market data into /streaming, next to baselines "
        "measured in the same run.",
    )
    p.add_argument("--output", type=Path, default=report.RESULTS_DIR, metavar="DIR",
                   help="where fix.json and fix.md go (default bench/results)")  # fmt: skip
    add_arguments(p)
    return p


def run(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Measure; the exit status (0 fine, 1 ticks were missing) and the JSON document.

    Raises RuntimeError when the run could not be made (a server did not start, an order was
    refused or never filled).
    """
    began = time.monotonic()
    document: dict[str, Any] = {
        **report.head("fix"),
        "settings": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in vars(args).items()
            if k.startswith("fix_")
        },
    }
    with tempfile.TemporaryDirectory(prefix="gateway-bench-fix-") as tmp:
        if "orders" in args.fix_parts:
            (Path(tmp) / "orders").mkdir()
            document["orders"] = fix_parts.orders_part(args, Path(tmp) / "orders")
        if "market" in args.fix_parts:
            (Path(tmp) / "market").mkdir()
            document["market"] = fix_parts.market_part(args, Path(tmp) / "market")
    document["elapsed_s"] = round(time.monotonic() - began, 1)
    market = document.get("market")
    status = 0 if market is None or market["complete"] else 1
    return status, document


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}×"


def markdown(document: dict[str, Any]) -> str:
    """The suite's Markdown page."""
    lines = [
        "## FIX connector",
        "",
        f"{document['generated_at']}; {document['machine']['cpus']} CPUs; total "
        f"{document['elapsed_s']:g} s. `python -m bench.fix` (see bench/README.md).",
        "",
    ]
    orders = document.get("orders")
    if orders:
        s = orders["summary"]
        lines += [
            f"### Order round trip (placement to `filled` in `/orders`), "
            f"{orders['orders_per_round']} per venue per round, medians over "
            f"{len(orders['rounds'])} rounds",
            "",
            "| Path | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|",
        ]
        for key, label in (
            ("fix_ms", "FIX: gateway → `gateway fix-venue` → paper venue"),
            ("paper_ms", "baseline: paper venue inside the gateway (demo)"),
            ("hello_ms", "floor: one `GET /hello`"),
        ):
            lines.append(
                f"| {label} | {_num(s[key]['p50'])} | {_num(s[key]['p99'])} | "
                f"{_num(s[key]['max'])} |"
            )
        lines += [
            "",
            f"FIX / paper: p50 {_times(s['fix_to_paper_p50'])}, p99 "
            f"{_times(s['fix_to_paper_p99'])}; FIX / hello p50 {_times(s['fix_to_hello_p50'])}.",
            "",
        ]
    market = document.get("market")
    if market:
        lines += [
            f"### Market data into `/streaming` ({market['symbols']} symbols, one connection)",
            "",
            "| Run | Feed | Ticks | Messages/s | p50 / p99 ms | Complete |",
            "|---|---|---:|---:|---:|---|",
        ]
        for name, run_ in market["runs"].items():
            offered = "all due at once" if name == "burst" else f"{run_['rate_per_s']:g}/s"
            for feed in ("csv_replay", "fix"):
                r = run_[feed]
                lat = r["latency_ms"]
                lines.append(
                    f"| {name} ({offered}) | {feed} | {run_['ticks']:,} | "
                    f"{_num(r['msgs_per_s'], 0)} | {lat['p50']:.2f} / {lat['p99']:.2f} | "
                    f"{'yes' if r['complete'] else 'NO: ' + '; '.join(r['problems'])} |"
                )
        burst = market["runs"].get("burst", {})
        sink = market["upstream_alone_msgs_per_s"]
        fix_rate = burst.get("fix", {}).get("msgs_per_s")
        # The upstream limits the FIX burst when it cannot produce much more than got through.
        limited = sink is None or fix_rate is None or sink < 1.5 * fix_rate
        lines += [
            "",
            f"FIX / replay, burst messages/s: {_times(burst.get('msgs_ratio'))}; paced p50 "
            f"{_times(market['runs'].get('paced', {}).get('p50_ratio'))}. The upstream alone "
            f"encodes {_num(sink, 0)} messages/s into a drained socket"
            + (
                ": close to the FIX burst's rate, so the upstream may be what limits it."
                if limited
                else ", well above the FIX burst's rate: the gateway is what limits it."
            ),
            "",
        ]
    return "\n".join(lines)


def write(document: dict[str, Any], text: str, directory: Path) -> tuple[Path, Path]:
    """``fix.json`` and ``fix.md`` in ``directory``; their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "fix.json", directory / "fix.md"
    trading_report.replace(json_path, json.dumps(document, indent=2) + "\n")
    trading_report.replace(md_path, text)
    return json_path, md_path


def run_and_write(args: argparse.Namespace) -> tuple[int, dict[str, Any] | None, str]:
    """Run, write ``fix.json`` and ``fix.md``; status (2: could not be made, 130: Ctrl-C)."""
    status, document = report.guarded("fix", run, args)
    if document is None:
        return status, None, ""
    text = markdown(document)
    json_path, md_path = write(document, text, args.output)
    say(f"written: {json_path} and {md_path}")
    return status, document, text


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.fix``."""
    args = parser().parse_args(argv)
    report.stop_on_sigterm()
    status, _document, text = run_and_write(args)
    print(text, end="")
    return status


if __name__ == "__main__":
    sys.exit(main())
