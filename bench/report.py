"""The results of a run: a JSON document, the Markdown table made from it, and the files."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from bench.loadgen import LoadResult, Request

RESULTS_DIR = Path(__file__).resolve().parent / "results"
"""Where ``latest.json`` and ``latest.md`` go unless ``--output`` says otherwise."""

ARGON2_NOTE = (
    "POST /authorize verifies an Argon2id password hash (m=64 MiB, t=3, p=4: roughly 50 ms of "
    "CPU per call by design, so that guessing passwords is expensive; its mean latency column "
    "shows what it costs here) and then writes a token to the store. Its ratio is expected to "
    "be far below 1: it measures the password hash, not the framework or the gateway's request "
    "handling. It is loaded from fewer connections (default: one per CPU) because it is "
    "CPU-bound from there on, and more connections would only queue requests for seconds, so "
    "that few of them finish inside the window."
)


@dataclass(frozen=True)
class Measurement:
    """One load run against one server."""

    label: str
    server: str
    request: Request
    connections: int
    result: LoadResult


def guarded(
    suite: str,
    run: Callable[[argparse.Namespace], tuple[int, dict[str, Any]]],
    args: argparse.Namespace,
) -> tuple[int, dict[str, Any] | None]:
    """``run(args)``, with a suite's exits: 130 on Ctrl-C, 2 when the run could not be made.

    The document is None in both cases; the reason is printed on stderr. A server that stops
    answering (a socket's timeout, a refused connection) is such a reason too, not a traceback.
    """
    try:
        return run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; servers stopped", file=sys.stderr, flush=True)
        return 130, None
    except RuntimeError as exc:
        print(f"bench: {suite}: {exc}", file=sys.stderr, flush=True)
        return 2, None
    except OSError as exc:
        print(f"bench: {suite}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 2, None


def stop_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C does: the ``finally`` blocks stop the servers."""

    def terminated(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)


def publish(
    suite: str,
    document: dict[str, Any],
    text: str,
    directory: Path,
    say: Callable[[str], None],
) -> None:
    """Write ``<suite>.json`` and ``<suite>.md``, print the page and say where they went."""
    paths = write_suite(suite, document, text, directory)
    print(text, end="")
    say(f"written: {paths[0]} and {paths[1]}")


def run_and_publish(
    suite: str,
    run: Callable[[argparse.Namespace], tuple[int, dict[str, Any]]],
    markdown: Callable[[dict[str, Any]], str],
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> int:
    """Run a suite (``guarded``) and publish its page; the suite's exit status."""
    status, document = guarded(suite, run, args)
    if document is not None:
        publish(suite, document, markdown(document), args.output, say)
    return status


def suite_parser(
    suite: str, description: str, add_arguments: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    """The command line of ``python -m bench.<suite>``: its options and ``--output``."""
    p = argparse.ArgumentParser(prog=f"python -m bench.{suite}", description=description)
    add_arguments(p)
    p.add_argument(
        "--output",
        type=Path,
        default=RESULTS_DIR,
        metavar="DIR",
        help=f"where {suite}.json and {suite}.md go (default bench/results)",
    )
    return p


Part = Callable[[argparse.Namespace, Path], dict[str, Any]]
"""One measurement of a suite: its arguments and a directory of its own in, its document out."""


def run_parts(
    suite: str,
    parts: Mapping[str, Part],
    selected: Sequence[str],
    args: argparse.Namespace,
    document: dict[str, Any],
    say: Callable[[str], None],
) -> int:
    """Run the ``selected`` parts in order, each into ``document[name]``; 2 if one could not be
    measured (its error is recorded and the others still run), else 0."""
    status = 0
    with tempfile.TemporaryDirectory(prefix=f"gateway-bench-{suite}-") as tmp:
        for name, part in parts.items():
            if name not in selected:
                continue
            directory = Path(tmp) / name
            directory.mkdir()
            started = time.monotonic()
            try:
                document[name] = part(args, directory)
            except (RuntimeError, OSError) as exc:
                say(f"{name}: not measured: {exc}")
                document[name] = {"error": str(exc)}
                status = 2
            document[name]["elapsed_s"] = round(time.monotonic() - started, 1)
            say(f"{name}: {document[name]['elapsed_s']:g} s")
    return status


def head(suite: str) -> dict[str, Any]:
    """The fields every suite's document starts with: its name, when, and on what machine."""
    return {
        "suite": suite,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count() or 1,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def _round(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}") if value else 0.0


def _entry(m: Measurement, ceiling: float) -> dict[str, Any]:
    r = m.result
    return {
        "label": m.label,
        "server": m.server,
        "method": m.request.method,
        "path": m.request.path,
        "connections": m.connections,
        "rps": round(r.rps, 1),
        "ratio": _round(r.rps / ceiling, 3) if ceiling > 0 else None,
        "successes": r.successes,
        "errors": r.errors,
        "error_kinds": r.error_kinds,
        "duration_s": round(r.duration, 3),
        "latency_ms": {
            "mean": round(r.latency_mean_ms, 2),
            "p50": round(r.latency_p50_ms, 2),
            "p99": round(r.latency_p99_ms, 2),
        },
    }


Round = tuple[Sequence[Measurement], Sequence[Measurement]]
"""One round: the hello measurements that bracket it, and the targets measured between them."""


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _summary(label: str, entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    ratios = [e["ratio"] for e in entries if e["ratio"] is not None]
    return {
        "label": label,
        "connections": entries[0]["connections"],
        "rps_median": round(_median([e["rps"] for e in entries]), 1),
        "ratio_median": _round(_median(ratios)) if ratios else None,
        "ratio_min": _round(min(ratios)) if ratios else None,
        "ratio_max": _round(max(ratios)) if ratios else None,
        "successes": sum(e["successes"] for e in entries),
        "errors": sum(e["errors"] for e in entries),
        "latency_ms": {
            "mean_median": round(_median([e["latency_ms"]["mean"] for e in entries]), 2),
            "p99_max": round(max(e["latency_ms"]["p99"] for e in entries), 2),
        },
    }


def build(*, generator: str, settings: dict[str, Any], rounds: Sequence[Round]) -> dict[str, Any]:
    """The JSON document of a run.

    Each target's ratio is taken against the mean of the hello runs of its own round, measured
    just before and just after it; the summary gives the median over rounds and the range.
    """
    per_round: list[dict[str, Any]] = []
    spreads: list[float] = []
    for ceilings, targets in rounds:
        rates = [m.result.rps for m in ceilings]
        ceiling = sum(rates) / len(rates) if rates else 0.0
        if ceiling > 0 and len(rates) > 1:
            spreads.append((max(rates) - min(rates)) / ceiling)
        per_round.append(
            {
                "ceiling_rps": round(ceiling, 1),
                "results": [_entry(m, ceiling) for m in [*ceilings, *targets]],
            }
        )
    labels: dict[str, list[dict[str, Any]]] = {}
    for r in per_round:
        for entry in r["results"]:
            labels.setdefault(entry["label"], []).append(entry)
    cpus = os.cpu_count() or 1
    notes = [
        "ratio = requests/s of the target / mean requests/s of GET /hello, a bare Falcon app "
        "served under the same gunicorn settings, measured just before and just after the "
        "target in the same round. The table gives the median over the rounds and the range. "
        "Compare ratios between runs and machines, not requests/s: the machine is shared and "
        "noisy.",
        f"Noise: the two hello runs of a round differed by {_median(spreads):.0%} of their mean "
        f"(median over rounds; worst {max(spreads):.0%})."
        if spreads
        else "Noise: one hello run.",
        "GET /accounts sends a valid bearer token (from POST /authorize as demo/demo), so every "
        "request includes the token lookup in the store (a throwaway SQLite file, WAL mode).",
        ARGON2_NOTE,
        f"The load generator and both servers share this machine's {cpus} CPUs; gunicorn's "
        "access log is on for both servers, as in production.",
    ]
    if generator.startswith("python"):
        notes.append(
            "wrk was not used: the Python fallback client needs far more CPU per request than "
            "wrk and takes it from the servers, so its ratios are not comparable with wrk's."
        )
    return {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": cpus,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "load_generator": generator,
        "settings": settings,
        "summary": [_summary(label, entries) for label, entries in labels.items()],
        "rounds": per_round,
        "notes": notes,
    }


def _thousands(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown page: a header line, the table and the notes."""
    s = report["settings"]
    lines = [
        f"# Gateway benchmark, {report['generated_at']}",
        "",
        f"Load generator: {report['load_generator']}; {s['rounds']} rounds of "
        f"{s['duration_s']:g} s per target after a {s['warmup_s']:g} s warm-up; gunicorn "
        f"{s['gunicorn']['description']}; {report['machine']['cpus']} CPUs.",
        "",
        "| Target | Conns | Requests/s (median) | Ratio to hello (median) | Ratio range | "
        "Errors | Mean ms | p99 ms (max) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in report["summary"]:
        median, low, high = entry["ratio_median"], entry["ratio_min"], entry["ratio_max"]
        lat = entry["latency_ms"]
        lines.append(
            f"| {entry['label']} | {entry['connections']} | {_thousands(entry['rps_median'])} | "
            f"{'n/a' if median is None else f'{median:g}'} | "
            f"{'n/a' if low is None else f'{low:g}–{high:g}'} | {entry['errors']:,} | "
            f"{lat['mean_median']:.1f} | {lat['p99_max']:.1f} |"
        )
    lines += ["", "Notes:", ""]
    lines += [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write(report: dict[str, Any], directory: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """Write ``latest.json`` and ``latest.md`` into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "latest.json", directory / "latest.md"
    _replace(json_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    _replace(md_path, markdown(report))
    return json_path, md_path


def write_suite(
    suite: str, document: dict[str, Any], markdown_text: str, directory: Path = RESULTS_DIR
) -> tuple[Path, Path]:
    """Write a suite's ``<suite>.json`` and ``<suite>.md``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / f"{suite}.json", directory / f"{suite}.md"
    _replace(json_path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    _replace(md_path, markdown_text)
    return json_path, md_path


def write_market(
    document: dict[str, Any], markdown_text: str, directory: Path = RESULTS_DIR
) -> tuple[Path, Path]:
    """Write the market suite's ``market.json`` and ``market.md``; return their paths."""
    return write_suite("market", document, markdown_text, directory)


def write_all(
    http_report: dict[str, Any],
    market_document: dict[str, Any],
    market_markdown: str,
    directory: Path = RESULTS_DIR,
) -> tuple[Path, Path]:
    """``--suite all``: ``latest.*`` hold both suites, ``market.*`` the market suite alone.

    ``latest.json`` is the HTTP suite's document with the market document under ``"market"``
    (so that readers of the HTTP fields see no change); ``latest.md`` is both pages in turn.
    """
    write_market(market_document, market_markdown, directory)
    json_path, md_path = directory / "latest.json", directory / "latest.md"
    combined = {**http_report, "market": market_document}
    _replace(json_path, json.dumps(combined, indent=2, ensure_ascii=False) + "\n")
    _replace(md_path, markdown(http_report) + "\n" + market_markdown)
    return json_path, md_path
