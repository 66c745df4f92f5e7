"""The results of a run: a JSON document, the Markdown table made from it, and the files."""

from __future__ import annotations

import datetime
import json
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
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


def build(
    *,
    generator: str,
    settings: dict[str, Any],
    ceilings: Sequence[Measurement],
    targets: Sequence[Measurement],
) -> dict[str, Any]:
    """The JSON document of a run; ratios are to the mean of the ceiling measurements."""
    rates = [m.result.rps for m in ceilings]
    ceiling = sum(rates) / len(rates) if rates else 0.0
    spread = (max(rates) - min(rates)) / ceiling if ceiling > 0 and len(rates) > 1 else 0.0
    cpus = os.cpu_count() or 1
    notes = [
        "ratio = requests/s of the target / mean requests/s of GET /hello, a bare Falcon app "
        "served under the same gunicorn settings, measured in this same run. Compare ratios "
        "between runs and machines, not requests/s: the machine is shared and noisy.",
        f"The hello ceiling was measured before and after the targets; they differ by "
        f"{spread:.0%} of their mean, a rough measure of this run's noise.",
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
        "ceiling": {"rps": round(ceiling, 1), "spread": round(spread, 3)},
        "results": [_entry(m, ceiling) for m in [*ceilings, *targets]],
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
        f"Load generator: {report['load_generator']}; "
        f"{s['duration_s']:g} s per target after a {s['warmup_s']:g} s warm-up; gunicorn "
        f"{s['gunicorn']['worker_class']}, {s['gunicorn']['workers']} workers × "
        f"{s['gunicorn']['threads']} threads; {report['machine']['cpus']} CPUs.",
        "",
        "| Target | Conns | Requests/s | Ratio to hello | Successes | Errors | Mean ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in report["results"]:
        ratio = entry["ratio"]
        lat = entry["latency_ms"]
        lines.append(
            f"| {entry['label']} | {entry['connections']} | {_thousands(entry['rps'])} | "
            f"{'n/a' if ratio is None else f'{ratio:g}'} | {entry['successes']:,} | "
            f"{entry['errors']:,} | {lat['mean']:.1f} | {lat['p99']:.1f} |"
        )
    lines += ["", f"Ceiling: {_thousands(report['ceiling']['rps'])} requests/s.", "", "Notes:", ""]
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
