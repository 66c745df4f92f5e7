"""The trading suite's results: every figure next to the hello runs of its own round."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import Measurement


@dataclass(frozen=True)
class Round:
    """One round: the hello runs (with the load's connections, and with one) and the targets.

    Each target names its baseline: ``load`` (the hello runs with as many connections, before
    and after the targets) or ``single`` (the hello run with one connection).
    """

    hello_load: Sequence[Measurement]
    hello_single: Sequence[Measurement]
    targets: Sequence[tuple[Measurement, str]]


def _ratio(value: float, base: float, digits: int = 3) -> float | None:
    if base <= 0:
        return None
    ratio = value / base
    return float(f"{ratio:.{digits}g}") if ratio else 0.0


def _baseline(runs: Sequence[Measurement]) -> dict[str, float]:
    return {
        "rps": round(statistics.fmean(m.result.rps for m in runs), 1),
        "p50_ms": round(statistics.fmean(m.result.latency_p50_ms for m in runs), 3),
        "p99_ms": round(statistics.fmean(m.result.latency_p99_ms for m in runs), 3),
    }


def _entry(m: Measurement, baseline_name: str, baseline: dict[str, float]) -> dict[str, Any]:
    r = m.result
    return {
        "label": m.label,
        "server": m.server,
        "method": m.request.method,
        "path": m.request.path,
        "connections": m.connections,
        "baseline": baseline_name,
        "rps": round(r.rps, 1),
        "ratio": _ratio(r.rps, baseline["rps"]),
        "successes": r.successes,
        "errors": r.errors,
        "error_kinds": r.error_kinds,
        "duration_s": round(r.duration, 3),
        "latency_ms": {
            "mean": round(r.latency_mean_ms, 2),
            "p50": round(r.latency_p50_ms, 2),
            "p99": round(r.latency_p99_ms, 2),
        },
        "latency_ratio": {
            "p50": _ratio(r.latency_p50_ms, baseline["p50_ms"]),
            "p99": _ratio(r.latency_p99_ms, baseline["p99_ms"]),
        },
    }


def build_round(r: Round) -> dict[str, Any]:
    """A round's baselines and every measurement of it as an entry with its ratios."""
    baselines = {"load": _baseline(r.hello_load), "single": _baseline(r.hello_single)}
    results = [_entry(m, "load", baselines["load"]) for m in r.hello_load]
    results += [_entry(m, "single", baselines["single"]) for m in r.hello_single]
    results += [_entry(m, name, baselines[name]) for m, name in r.targets]
    rates = [m.result.rps for m in r.hello_load]
    mean = statistics.fmean(rates) if rates else 0.0
    spread = (max(rates) - min(rates)) / mean if mean > 0 and len(rates) > 1 else None
    return {"baselines": baselines, "hello_spread": spread, "results": results}


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(f"{statistics.median(present):.3g}") if present else None


def summarize(rounds: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per label: medians over the rounds, the ratio's range, errors summed."""
    labels: dict[str, list[dict[str, Any]]] = {}
    for r in rounds:
        for entry in r["results"]:
            labels.setdefault(entry["label"], []).append(entry)
    rows = []
    for label, entries in labels.items():
        ratios = [e["ratio"] for e in entries if e["ratio"] is not None]
        kinds: dict[str, int] = {}
        for e in entries:
            for kind, n in e["error_kinds"].items():
                kinds[kind] = kinds.get(kind, 0) + n
        rows.append(
            {
                "label": label,
                "server": entries[0]["server"],
                "connections": entries[0]["connections"],
                "baseline": entries[0]["baseline"],
                "rps_median": round(statistics.median(e["rps"] for e in entries), 1),
                "ratio_median": _median(ratios),
                "ratio_min": min(ratios) if ratios else None,
                "ratio_max": max(ratios) if ratios else None,
                "latency_ms": {
                    "p50_median": round(
                        statistics.median(e["latency_ms"]["p50"] for e in entries), 2
                    ),
                    "p99_median": round(
                        statistics.median(e["latency_ms"]["p99"] for e in entries), 2
                    ),
                    "p99_max": max(e["latency_ms"]["p99"] for e in entries),
                },
                "latency_ratio": {
                    "p50_median": _median([e["latency_ratio"]["p50"] for e in entries]),
                    "p99_median": _median([e["latency_ratio"]["p99"] for e in entries]),
                },
                "successes": sum(e["successes"] for e in entries),
                "errors": sum(e["errors"] for e in entries),
                "error_kinds": kinds,
            }
        )
    return rows


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _times(value: object) -> str:
    return f"{value:g}×" if isinstance(value, int | float) else "n/a"


def markdown(document: dict[str, Any]) -> str:
    """The suite's page: settings, the setup, the table and the notes."""
    s = document["settings"]
    setup = document["setup"]
    lines = [
        f"# Gateway trading benchmark, {document['generated_at']}",
        "",
        f"Load generator: {document['load_generator']}; {s['rounds']} "
        f"round{'' if s['rounds'] == 1 else 's'} of "
        f"{s['duration_s']:g} s per target after a {s['warmup_s']:g} s warm-up; gunicorn "
        f"{s['gunicorn']}; {document['machine']['cpus']} CPUs; total {document['elapsed_s']:g} s.",
        "",
        f"Set-up: {setup['open_orders']:,} resting limit orders placed in {s['list_account']} by "
        f"{setup['clients']} clients in {setup['seconds']:g} s ({_num(setup['per_s'])}/s); "
        f"placements under load go to {s['place_account']} "
        f"({document['orders']['place_account_open_at_end']:,} open there at the end).",
        "",
        "| Target | Conns | Requests/s (median) | Ratio to hello (median) | Ratio range | "
        "p50 / p99 ms | p50 / p99 to hello | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in document["summary"]:
        low, high = row["ratio_min"], row["ratio_max"]
        lat, lr = row["latency_ms"], row["latency_ratio"]
        lines.append(
            f"| {row['label']} | {row['connections']} | {_num(row['rps_median'])} | "
            f"{_times(row['ratio_median'])} | "
            f"{'n/a' if low is None else f'{low:g}–{high:g}'} | "
            f"{lat['p50_median']:.2f} / {lat['p99_median']:.2f} | "
            f"{_times(lr['p50_median'])} / {_times(lr['p99_median'])} | {row['errors']:,} |"
        )
    lines += ["", "Notes:", ""]
    lines += [f"- {note}" for note in document["notes"]]
    return "\n".join(lines) + "\n"


def replace(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file, so that readers never see half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write(document: dict[str, Any], text: str, directory: Path) -> tuple[Path, Path]:
    """Write ``trading.json`` and ``trading.md`` into ``directory``; their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "trading.json", directory / "trading.md"
    replace(json_path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    replace(md_path, text)
    return json_path, md_path
