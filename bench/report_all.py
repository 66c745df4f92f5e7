"""``python -m bench.report_all``: every benchmark of bench/, one report with its plots.

Runs each suite through its own command (:mod:`bench.ceiling`, then the HTTP suite of
:mod:`bench.run`, :mod:`bench.trading`, :mod:`bench.market`, :mod:`bench.fix`,
:mod:`bench.scale` and :mod:`bench.sql`), in process and one after the other, each writing its
own result files as when it runs alone. Then it reads what they wrote in this run and writes
``report.md`` (one table: each headline figure next to the hello app and nginx of the same run,
with the ratios; :mod:`bench.headlines`), ``report.json`` and the plots ``throughput.png`` and
``latency.png`` (:mod:`bench.report_plots`) into ``--output``, and prints the report.

Exit status: 0 when every suite measured without a failure, 1 when some measurement failed, 2
when a suite could not run (the others still run and are reported) or the report could not be
written, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from bench import arguments, ceiling, fix, headlines, market, report, run, scale, sql, trading
from bench.headlines import SUITES, Headline

QUICK = {"duration": 1, "rounds": 1, "warmup": 1.0}
"""``--quick``: one round of one-second targets, each after a one-second warm-up."""


def say(text: str) -> None:
    """Progress, on stderr."""
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Suite:
    """A suite's command, the JSON file it writes, and its arguments in this report."""

    main: Callable[[Sequence[str] | None], int]
    result: str
    argv: Callable[[argparse.Namespace], list[str]]


def _given(args: argparse.Namespace, *pairs: tuple[str, str]) -> list[str]:
    """``--option value`` for each of this report's options that is set (given, or --quick)."""
    out = []
    for name, option in pairs:
        value = getattr(args, name)
        if value is not None:
            out += [option, f"{value:g}" if isinstance(value, float) else str(value)]
    return out


def _load(args: argparse.Namespace) -> list[str]:
    return _given(
        args,
        ("duration", "--duration"),
        ("warmup", "--warmup"),
        ("connections", "--connections"),
        ("loadgen", "--loadgen"),
    )


def _ceiling(args: argparse.Namespace) -> list[str]:
    return _load(args) + _given(args, ("rounds", "--rounds"), ("nginx", "--nginx"))


def _http(args: argparse.Namespace) -> list[str]:
    return ["--suite", "http", *_load(args), *_given(args, ("rounds", "--rounds"))]


def _trading(args: argparse.Namespace) -> list[str]:
    quick = ["--open-orders", "200"] if args.quick else []
    return _load(args) + _given(args, ("rounds", "--trading-rounds")) + quick


def _market(args: argparse.Namespace) -> list[str]:
    # The 10M-bar stores are kept as they are: built once, they are cached between runs, and a
    # smaller --history-bars would rebuild the PostgreSQL one for the next full run.
    quick = [
        "--stream-connections", "4,16",
        "--stream-seconds", "2",
        "--history-requests", "50",
        "--memory-connections", "100",
    ] if args.quick else []  # fmt: skip
    return _given(args, ("rounds", "--history-rounds")) + quick


def _fix(args: argparse.Namespace) -> list[str]:
    quick = [
        "--fix-orders", "10", "--fix-md-seconds", "2", "--fix-md-burst", "5000"
    ] if args.quick else []  # fmt: skip
    return _given(args, ("rounds", "--fix-rounds")) + quick


def _scale(args: argparse.Namespace) -> list[str]:
    quick = ["--idle-streams", "500"] if args.quick else []
    return _given(args, ("duration", "--scale-duration"), ("rounds", "--scale-rounds")) + quick


def _sql(args: argparse.Namespace) -> list[str]:
    return _given(args, ("rounds", "--rounds")) + (["--calls", "200"] if args.quick else [])


REGISTRY = {
    "ceiling": Suite(ceiling.main, "ceiling.json", _ceiling),
    "http": Suite(run.main, "latest.json", _http),
    "trading": Suite(trading.main, "trading.json", _trading),
    "market": Suite(market.main, "market.json", _market),
    "fix": Suite(fix.main, "fix.json", _fix),
    "scale": Suite(scale.main, "scale.json", _scale),
    "sql": Suite(sql.main, "sql.json", _sql),
}
"""Every suite's entry point, in :data:`bench.headlines.SUITES` order."""


class _Parser(argparse.ArgumentParser):
    """A mistake on the command line is one line, not the usage and a line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _suites(text: str) -> tuple[str, ...]:
    return arguments.parts(text, SUITES)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = _Parser(
        prog="python -m bench.report_all",
        description="Run every benchmark of bench/ and write one report (Markdown and PNG "
        "plots): each figure next to the hello app and nginx measured in the same run.",
    )
    option = p.add_argument
    option("--suites", type=_suites, default=SUITES, metavar="LIST",
           help=f"the suites to run, of {','.join(SUITES)} (default all)")  # fmt: skip
    option("--quick", action="store_true",
           help="one round of 1 s targets and fewer ticks, orders and streams: minutes instead "
           "of a quarter of an hour, for checking that everything runs")  # fmt: skip
    option("--duration", type=arguments.positive_int, default=None, metavar="S",
           help="seconds of load per target (default: each suite's own)")  # fmt: skip
    option("--rounds", type=arguments.positive_int, default=None, metavar="N",
           help="rounds of every suite that has them (default: each suite's own)")  # fmt: skip
    option("--warmup", type=arguments.non_negative, default=None, metavar="S",
           help="seconds of warm-up before each target (default: each suite's own)")  # fmt: skip
    option("--connections", type=arguments.positive_int, default=None, metavar="N",
           help="connections of the ceiling, HTTP and trading suites (default 32)")  # fmt: skip
    option("--loadgen", choices=("auto", "wrk", "python"), default=None,
           help="load generator of those suites (default: wrk when on PATH)")  # fmt: skip
    option("--nginx", default=None, metavar="PATH",
           help="the ceiling's nginx (default: on PATH, or /usr/sbin/nginx)")  # fmt: skip
    option("--output", type=Path, default=report.RESULTS_DIR, metavar="DIR",
           help="where the report, its plots and every suite's files go (default "
           "bench/results)")  # fmt: skip
    return p


@dataclass
class Outcome:
    """How one suite went: its exit status, its seconds and, if it wrote one, its document."""

    status: int
    seconds: float
    document: dict[str, Any] | None
    load: float
    """The machine's 1-minute load average when it started: others' work shows there."""


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_size


def run_suite(name: str, args: argparse.Namespace) -> Outcome:
    """Run one suite through its command; its document only if it wrote one now.

    A suite that could not run leaves the file of an earlier run in place: that file is not
    this run's, so it is not read (its stamp has not changed).
    """
    suite = REGISTRY[name]
    path = args.output / suite.result
    before = _stamp(path)
    argv = [*suite.argv(args), "--output", str(args.output)]
    say(f"== {name}: python -m {suite.main.__module__} {shlex.join(argv)}")
    load = round(os.getloadavg()[0], 2)
    began = time.monotonic()
    try:
        # The suites print their pages on stdout; this command's stdout is the report alone.
        with contextlib.redirect_stdout(sys.stderr):
            status = suite.main(argv)
    except KeyboardInterrupt:
        status = 130
    except Exception as exc:  # any failure is one line, and the other suites still run
        say(f"bench: {name}: could not run: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        status = 2
    seconds = round(time.monotonic() - began, 1)
    document = None
    if status != 130 and _stamp(path) not in (None, before):
        document = json.loads(path.read_text(encoding="utf-8"))
    say(f"== {name}: exit status {status}, {seconds:g} s")
    return Outcome(status, seconds, document, load)


# -- the report ------------------------------------------------------------------------------

NOTES = [
    "Ratios in parentheses are the measured figure over that column's (for latencies, p50 over "
    "p50 and p99 over p99): below 1 for requests/s and above 1 for latencies mean slower than "
    "the baseline. They are ratios of the medians shown; each suite's page also gives the "
    "median of its per-round ratios, which may differ slightly.",
    "**hello app**: a bare Falcon app under the gateway's own gunicorn settings. A suite that "
    "measures it in its own rounds (http, trading, fix, scale) is compared with those runs, "
    "with as many workers as its gateway; the other rows with the ceiling suite's runs with "
    "the same connections.",
    "**nginx**: nginx answering the same body itself (`return 200`, plain HTTP, keep-alive and "
    "access log as the hello app), loaded by the same load generator with the same "
    "connections: what this machine serves over HTTP at most. The scale suite's rows use its "
    "own nginx, over TLS as in the reference deployment.",
    "**Other baseline**: a suite's own reference for what is not one HTTP request: a bare "
    "streaming app, the raw SQL query, the paper venue in process, the `csv_replay` feed, the "
    "same worker without streams, SQLAlchemy alone.",
    "Every server and the load generator share the machine's CPUs, and the machine is shared "
    "and noisy: compare ratios between runs, not absolute figures.",
]


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def markdown(document: dict[str, Any], rows: Sequence[Headline], plots: Sequence[str]) -> str:
    """The report page: how it was made, the table, the notes, the suites and the plots."""
    machine = document["machine"]
    lines = [
        f"# Benchmark report, {document['generated_at']}",
        "",
        f"`{document['command']}` on {machine['cpus']} CPUs ({machine['platform']}, Python "
        f"{machine['python']}), {_minutes(document['elapsed_s'])} in all. Load generator: "
        f"{document['load_generator']}.",
        "",
        headlines.table(rows).rstrip("\n"),
        "",
        *[f"- {note}" for note in NOTES],
        "",
        "Suites of this run (each page has every figure and its notes; the load average is the "
        "machine's over the minute before the suite started, the previous suite's work "
        "included: much more than the CPU count means other work shared the machine):",
        "",
    ]
    for name, suite in document["suites"].items():
        state = {0: "ok", 1: "some measurements failed", 2: "could not run"}.get(
            suite["status"], f"exit status {suite['status']}"
        )
        page_name = Path(REGISTRY[name].result).with_suffix(".md").name
        page = f"[{page_name}]({page_name})" if suite["measured"] else "no page written"
        lines.append(
            f"- {name}: {state}, {_minutes(suite['seconds'])} (load average {suite['load']:g} "
            f"when it started); {page}"
        )
    if document["not_measured"]:
        lines += ["", "Not measured in this run:", ""]
        lines += [f"- {text}" for text in document["not_measured"]]
    for name in plots:
        lines += ["", f"![{name.capitalize()}]({name}.png)"]
    return "\n".join(lines) + "\n"


def write_report(
    args: argparse.Namespace, argv: Sequence[str], outcomes: dict[str, Outcome], elapsed: float
) -> str:
    """Write ``report.md``, ``report.json`` and the plots; the page."""
    from bench import report_plots  # matplotlib: imported only when there is a report to draw

    documents = {n: o.document for n, o in outcomes.items() if o.document is not None}
    rows = headlines.collect(documents)
    missing = headlines.not_measured(documents)
    missing += [f"{n}: the suite could not run" for n, o in outcomes.items() if o.document is None]
    drawn = []
    for name, draw in (("throughput", report_plots.throughput), ("latency", report_plots.latency)):
        path = args.output / f"{name}.png"
        if draw(rows, path):
            drawn.append(name)
        else:  # an earlier run's plot would not match this report
            path.unlink(missing_ok=True)
    document: dict[str, Any] = {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "-m", "bench.report_all", *argv]),
        "machine": {
            "cpus": os.cpu_count() or 1,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "elapsed_s": round(elapsed, 1),
        "load_generator": (documents.get("ceiling") or documents.get("http") or {}).get(
            "load_generator", "none (no HTTP load in this run)"
        ),
        "suites": {
            n: {
                "status": o.status,
                "seconds": o.seconds,
                "load": o.load,
                "measured": o.document is not None,
            }
            for n, o in outcomes.items()
        },
        "not_measured": missing,
        "plots": [f"{name}.png" for name in drawn],
        "headlines": [dataclasses.asdict(row) for row in rows],
    }
    text = markdown(document, rows, drawn)
    report.write_suite("report", document, text, args.output)
    return text


def _preflight(args: argparse.Namespace) -> str | None:
    """Why the report cannot be made at all, checked before half an hour of measuring."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]')"
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"--output {args.output}: {exc.strerror or exc}"
    if not os.access(args.output, os.W_OK):
        return f"--output {args.output}: not writable"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suites and write the report; the exit status (see the module's docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
    problem = _preflight(args)
    if problem is not None:
        say(f"bench: {problem}")
        return 2
    report.stop_on_sigterm()
    began = time.monotonic()
    outcomes: dict[str, Outcome] = {}
    for name in SUITES:
        if name in args.suites:
            outcomes[name] = run_suite(name, args)
            if outcomes[name].status == 130:
                say("interrupted; servers stopped, no report written")
                return 130
    try:
        text = write_report(args, argv, outcomes, time.monotonic() - began)
    except OSError as exc:
        say(f"bench: the report could not be written: {exc}")
        return 2
    print(text, end="")
    say(f"written: {args.output / 'report.md'}, report.json and the plots; "
        f"{_minutes(time.monotonic() - began)}")  # fmt: skip
    return max(o.status for o in outcomes.values())


if __name__ == "__main__":
    raise SystemExit(main())
