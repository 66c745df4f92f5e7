"""``python -m bench.ceiling``: the HTTP ceiling, nginx's static answer next to the hello app.

Two servers on free loopback ports, loaded one after the other by the same load generator with
the same connections:

* **hello**: the hello app (:mod:`bench.hello`) under the gateway's gunicorn settings, the
  baseline every other suite compares with;
* **nginx**: nginx answering the same body itself (:class:`bench.nginx.StaticNginx`: plain
  HTTP, ``return 200``, as many worker processes as hello has workers, keep-alive and access log
  as hello's), the most this machine serves over HTTP: the ceiling.

Each round loads hello and nginx with ``--connections`` connections, then with one: the
one-connection runs are the latency floor of the one-connection figures of the other suites
(placements, /history, FIX round trips). ``nginx / hello`` is taken per round; the table gives
medians. Results go to ``bench/results/ceiling.json`` and ``ceiling.md``; the page is printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import arguments, loadgen, report, servers
from bench.hello import PATH as HELLO_PATH
from bench.hello import gunicorn_options
from bench.loadgen import Generator, LoadResult, Request
from bench.nginx import StaticNginx
from bench.run import measure

BODY = '{"s":"ok","d":"hello, world"}'
"""What both servers answer: the hello app's document, byte for byte."""
SERVERS = ("hello", "nginx")


def say(text: str) -> None:
    """Progress, on stderr."""
    print(text, file=sys.stderr, flush=True)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The suite's options: the HTTP suite's load settings, and the nginx to run."""
    p.add_argument("--duration", type=arguments.positive_int, default=5, metavar="S",
                   help="seconds of load per target (default 5)")  # fmt: skip
    p.add_argument("--rounds", type=arguments.positive_int, default=3, metavar="N",
                   help="rounds of hello and nginx; medians are reported (default 3)")  # fmt: skip
    p.add_argument("--warmup", type=arguments.non_negative, default=1.0, metavar="S",
                   help="seconds of unmeasured load before each target (default 1)")  # fmt: skip
    p.add_argument("--connections", type=arguments.positive_int, default=32, metavar="N",
                   help="concurrent keep-alive connections (default 32)")  # fmt: skip
    p.add_argument("--workers", type=arguments.positive_int, default=None, metavar="N",
                   help="gunicorn workers and nginx worker processes (default: "
                   "GUNICORN_DEFAULTS)")  # fmt: skip
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator (default: wrk when on PATH, else python)")  # fmt: skip
    p.add_argument("--nginx", default=None, metavar="PATH",
                   help="the nginx to run (default: on PATH, or /usr/sbin/nginx)")  # fmt: skip


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench.ceiling``."""
    return report.suite_parser(
        "ceiling",
        "nginx answering a static body next to the hello app: the HTTP ceiling of this machine, "
        "measured with the same load generator and connections.",
        add_arguments,
    )


def _figures(result: LoadResult) -> dict[str, Any]:
    return {
        "rps": round(result.rps, 1),
        "p50_ms": round(result.latency_p50_ms, 3),
        "p99_ms": round(result.latency_p99_ms, 3),
        "mean_ms": round(result.latency_mean_ms, 3),
        "successes": result.successes,
        "errors": result.errors,
        "error_kinds": result.error_kinds,
    }


def _ratio(value: float, base: float) -> float | None:
    return float(f"{value / base:.3g}") if base > 0 else None


def _round(
    args: argparse.Namespace, generator: Generator, ports: dict[str, int]
) -> list[dict[str, Any]]:
    """One round: each server with N connections, then each with one."""
    entries = []
    for connections in dict.fromkeys((args.connections, 1)):
        figures = {}
        for name in SERVERS:
            say(f"ceiling: {name}, {connections} connection{'' if connections == 1 else 's'}")
            result = measure(
                generator,
                ports[name],
                Request("GET", HELLO_PATH),
                duration=args.duration,
                warmup=args.warmup,
                connections=connections,
            )
            figures[name] = _figures(result)
        for name in SERVERS:
            entries.append(
                {
                    "server": name,
                    "connections": connections,
                    **figures[name],
                    "to_hello": {
                        key: _ratio(figures[name][key], figures["hello"][key])
                        for key in ("rps", "p50_ms", "p99_ms")
                    },
                }
            )
    return entries


def summarize(rounds: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per server and connection count: medians over the rounds, errors summed."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for entries in rounds:
        for e in entries:
            groups.setdefault((e["server"], e["connections"]), []).append(e)
    rows = []
    for (server, connections), entries in groups.items():
        row: dict[str, Any] = {"server": server, "connections": connections}
        for key in ("rps", "p50_ms", "p99_ms", "mean_ms"):
            row[key] = round(statistics.median(e[key] for e in entries), 3)
        row["successes"] = sum(e["successes"] for e in entries)
        row["errors"] = sum(e["errors"] for e in entries)
        row["to_hello"] = {}
        for key in ("rps", "p50_ms", "p99_ms"):
            ratios = [e["to_hello"][key] for e in entries if e["to_hello"][key] is not None]
            row["to_hello"][key] = float(f"{statistics.median(ratios):.3g}") if ratios else None
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Measure; the exit status (0 fine, 1 some request failed) and the JSON document.

    Raises RuntimeError when the run could not be made (nginx missing or not starting, a server
    that did not start, wrk failing).
    """
    began = time.monotonic()
    generator = loadgen.choose(args.loadgen)
    options = gunicorn_options(f"{servers.HOST}:0", args.workers)
    workers = int(options["workers"])
    rounds = []
    with tempfile.TemporaryDirectory(prefix="gateway-bench-ceiling-") as tmp:
        tmpdir = Path(tmp)
        hello_port = servers.free_port()
        nginx = StaticNginx(
            tmpdir / "nginx",
            HELLO_PATH,
            BODY,
            workers=workers,
            keepalive=int(options["keepalive"]),
            exe=args.nginx,
        )
        try:
            say(
                f"ceiling: hello (port {hello_port}) and nginx (port {nginx.port}), {workers} "
                f"workers each; load generator: {generator}"
            )
            with servers.serve_hello(hello_port, workers, tmpdir):
                ports = {"hello": hello_port, "nginx": nginx.port}
                for number in range(1, args.rounds + 1):
                    say(f"ceiling: round {number} of {args.rounds}")
                    rounds.append(_round(args, generator, ports))
        finally:
            nginx.stop()
    summary = summarize(rounds)
    document: dict[str, Any] = {
        **report.head("ceiling"),
        "load_generator": loadgen.describe(generator),
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "workers": workers,
            "gunicorn": servers.worker_setting(workers),
            "body": BODY,
        },
        "summary": summary,
        "rounds": rounds,
        "elapsed_s": round(time.monotonic() - began, 1),
    }
    status = 1 if any(row["errors"] or not row["successes"] for row in summary) else 0
    return status, document


def _times(value: object) -> str:
    return f"{value:g}×" if isinstance(value, int | float) else "n/a"


def markdown(document: dict[str, Any]) -> str:
    """The suite's page: one row per server and connection count."""
    s = document["settings"]
    lines = [
        f"# HTTP ceiling, {document['generated_at']}",
        "",
        f"Load generator: {document['load_generator']}; {s['rounds']} "
        f"round{'' if s['rounds'] == 1 else 's'} of {s['duration_s']:g} s per target after a "
        f"{s['warmup_s']:g} s warm-up; {document['machine']['cpus']} CPUs; total "
        f"{document['elapsed_s']:g} s. Both answer `{s['body']}` to `GET {HELLO_PATH}`.",
        "",
        "| Server | Conns | Requests/s (median) | p50 / p99 ms | Requests/s to hello | "
        "p50 / p99 to hello | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        "hello": f"hello app (gunicorn, {s['gunicorn']})",
        "nginx": f"nginx, `return 200` ({s['workers']} worker processes)",
    }
    for row in document["summary"]:
        ratio = row["to_hello"]
        lines.append(
            f"| {names[row['server']]} | {row['connections']} | {row['rps']:,.0f} | "
            f"{row['p50_ms']:.2f} / {row['p99_ms']:.2f} | {_times(ratio['rps'])} | "
            f"{_times(ratio['p50_ms'])} / {_times(ratio['p99_ms'])} | {row['errors']:,} |"
        )
    lines += [
        "",
        "nginx answers from its configuration, without an application: no server on this "
        "machine answers HTTP much faster, so it is the ceiling the hello app and the gateway "
        "are read against. Both keep connections alive (75 s, no cap on requests) and write an "
        "access log; the load generator shares the CPUs with them.",
    ]
    return "\n".join(lines) + "\n"


def run_and_write(args: argparse.Namespace) -> int:
    """Run the suite, write ``ceiling.json`` and ``ceiling.md``, print the page; the status."""
    return report.run_and_publish("ceiling", run, markdown, args, say)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.ceiling``."""
    args = parser().parse_args(argv)
    report.stop_on_sigterm()
    return run_and_write(args)


if __name__ == "__main__":
    raise SystemExit(main())
