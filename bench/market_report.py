"""The market suite's results: summaries of the measurements and the Markdown page."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from bench.market_stream import PhaseResult, latency_stats, percentile

STREAM_TARGET_P99_MS = 100.0
HISTORY_TARGET_RATIO = 3.0


def _ratio(value: float, base: float) -> float | None:
    return round(value / base, 2) if base > 0 else None


def streaming_summary(
    connections: int, gateway: PhaseResult, baselines: Sequence[PhaseResult]
) -> dict[str, Any]:
    """One row of the streaming table: the gateway against the mean of its baseline runs."""
    gw = latency_stats(gateway.latencies_ms)
    base = [latency_stats(b.latencies_ms) for b in baselines]
    mean = {k: round(statistics.fmean(b[k] for b in base), 3) for k in ("p50", "p99", "max")}
    return {
        "connections": connections,
        "ticks_per_connection": gateway.end - gateway.first,
        "identical": gateway.identical,
        "complete": gateway.complete,
        "baseline_complete": all(b.complete for b in baselines),
        "gateway_ms": gw,
        "baseline_ms": mean,
        "ratio_p50": _ratio(gw["p50"], mean["p50"]),
        "ratio_p99": _ratio(gw["p99"], mean["p99"]),
        "target_p99_ms": STREAM_TARGET_P99_MS,
        "meets_target": gateway.complete and gw["p99"] < STREAM_TARGET_P99_MS,
    }


def history_summary(times: dict[str, list[float]]) -> dict[str, Any]:
    """Median and p99 of each reader, and the ratios to the raw query's median."""
    stats = {
        name: {
            "median": round(statistics.median(v), 3),
            "p99": round(percentile(sorted(v), 99), 3),
            "requests": len(v),
        }
        for name, v in times.items()
    }
    raw = stats["raw"]["median"]
    http = _ratio(stats["http"]["median"], raw)
    return {
        "ms": stats,
        "ratio_inprocess": _ratio(stats["in-process"]["median"], raw),
        "ratio_http": http,
        "target_ratio": HISTORY_TARGET_RATIO,
        "meets_target": http is not None and http <= HISTORY_TARGET_RATIO,
    }


def _yes(flag: object) -> str:
    return "yes" if flag else "**no**"


def _lat(ms: dict[str, float]) -> str:
    return f"{ms['p50']:.2f} / {ms['p99']:.2f} / {ms['max']:.1f}"


def _ratio_text(value: object) -> str:
    return f"{value:g}×" if isinstance(value, int | float) else "n/a"


def _streaming_md(part: dict[str, Any]) -> list[str]:
    lines = [
        "## Tick-to-client latency on /streaming",
        "",
        f"{part['rate_per_s']:g} ticks/s over {part['symbols']} symbols, "
        f"{part['seconds']:g} s per run; latency = arrival − scheduled publish time.",
        "",
        "| Conns | Ticks/conn | Identical, complete | Gateway p50 / p99 / max ms | "
        "Baseline p50 / p99 / max ms | Ratio p50 | Ratio p99 | p99 < 100 ms |",
        "|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for row in part["summary"]:
        lines.append(
            f"| {row['connections']} | {row['ticks_per_connection']:,} | "
            f"{_yes(row['identical'])}, {_yes(row['complete'])} | {_lat(row['gateway_ms'])} | "
            f"{_lat(row['baseline_ms'])} | {_ratio_text(row['ratio_p50'])} | "
            f"{_ratio_text(row['ratio_p99'])} | {_yes(row['meets_target'])} |"
        )
    return lines


def _history_md(part: dict[str, Any]) -> list[str]:
    lines = [
        "## /history, one day of one-minute bars (1440 bars)",
        "",
        f"Store: {part['bars']:,} bars ({part['symbols']} symbols × {part['minutes']:,} "
        f"minutes); {part['requests']} random one-day windows per reader, "
        f"{part['rounds']} interleaved rounds.",
        "",
        "| Backend | Store | Raw SQL median / p99 ms | In-process median / p99 ms | "
        "HTTP median / p99 ms | In-process / raw | HTTP / raw | HTTP ≤ 3× raw |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for b in part["backends"]:
        if b.get("status") != "ok":
            lines.append(f"| {b['backend']} | {b.get('note', 'skipped')} | | | | | | |")
            continue
        ms = b["ms"]
        built = b["build_s"]
        store = "reused" if built is None else f"built in {built:.0f} s"
        lines.append(
            f"| {b['backend']} | {store} | "
            + " | ".join(
                f"{ms[k]['median']:.2f} / {ms[k]['p99']:.2f}" for k in ("raw", "in-process", "http")
            )
            + f" | {_ratio_text(b['ratio_inprocess'])} | {_ratio_text(b['ratio_http'])} | "
            f"{_yes(b['meets_target'])} |"
        )
    return lines


def _memory_md(part: dict[str, Any]) -> list[str]:
    lines = [
        "## Memory per idle /streaming connection (worker RSS)",
        "",
        "| Server | Threads | Connections open (streaming) → worker RSS MiB | KiB per connection |",
        "|---|---:|---|---:|",
    ]
    for s in part["servers"]:
        points = ", ".join(
            f"{p['connections']}"
            + (f" ({p['streaming']})" if p["streaming"] != p["connections"] else "")
            + f" → {p['rss_kib'] / 1024:.1f}"
            for p in s["points"]
        )
        per = s["kib_per_connection"]
        lines.append(
            f"| {s['label']} | {s['threads'] or '—'} | {points} | "
            f"{'n/a' if per is None else f'{per:.0f}'} |"
        )
    ratio = part.get("ratio_to_baseline")
    if ratio is not None:
        lines += ["", f"Gateway KiB per connection / baseline KiB per connection: {ratio:g}×."]
    return lines


def markdown(document: dict[str, Any]) -> str:
    """The market suite's results as a Markdown page."""
    lines = [
        f"# Gateway market-data benchmark, {document['generated_at']}",
        "",
        f"{document['machine']['cpus']} CPUs shared by the servers and the clients; gunicorn "
        f"{document['settings']['gunicorn']}; total {document['elapsed_s']:.0f} s.",
    ]
    for key, render in (
        ("streaming", _streaming_md),
        ("history", _history_md),
        ("memory", _memory_md),
    ):
        part = document.get(key)
        if part is None:
            continue
        lines.append("")
        if "error" in part:
            lines += [f"## {key}", "", f"Not measured: {part['error']}"]
        else:
            lines += render(part)
    lines += ["", "Notes:", ""]
    lines += [f"- {note}" for note in document["notes"]]
    return "\n".join(lines) + "\n"
