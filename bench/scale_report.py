"""The scale suite's Markdown page (``bench/results/scale.md``)."""

from __future__ import annotations

from typing import Any

NOTES = [
    "Every figure is compared with a baseline measured in the same run; the machine is shared "
    "and noisy, so compare ratios between runs, not requests/s.",
    "Idle streams: one gunicorn worker (`GATEWAY_WORKERS=1`, the container's settings, "
    "`--worker-connections` raised to hold them) on a configuration whose feed publishes "
    "nothing, so every stream carries only its heartbeat (every 5 s). The streams are opened "
    "by one epoll thread and read throughout; the ordinary requests come from wrk (1 thread) "
    "meanwhile. The threads worker gets one thread per stream (`--threads N+64`); with its "
    "default of 128 threads, streams beyond 128 would wait without an answer. The baseline of "
    "each worker class is its own run without streams.",
    "Instances: each instance is `gateway serve examples/cluster/gateway.yaml --workers 2` on "
    "PostgreSQL and Redis (one process of the cluster plays the demo's replayed feed and the "
    "paper venue, as in production). nginx runs deploy/nginx's template (TLS, HTTP/1.1 "
    "keep-alive upstream); wrk (1 thread) speaks TLS to it. `nginx alone` is nginx answering "
    "a fixed body itself: the HTTP ceiling of this machine. The instances, nginx, PostgreSQL, "
    "Redis and wrk share the same CPUs, so a second instance on one machine adds processes, "
    "not CPUs: the 2-over-1 ratio here shows what the cluster's coordination costs, and "
    "instances on their own hosts add their CPUs (docs/operations.md, Capacity).",
]


def _ratio(value: object) -> str:
    return f"{value:.2f}×" if isinstance(value, int | float) else "—"


def _idle_md(part: dict[str, Any]) -> list[str]:
    if "error" in part:
        return [f"Not measured: {part['error']}"]
    lines = [
        f"Ordinary requests: {part['path']}, {part['connections']} keep-alive connections, "
        f"{part['seconds']} s each.",
        "",
        "| Worker class | Idle streams (streaming) | Requests/s without → with | "
        "p50 ms without → with | p99 ms without → with | Requests/s ratio | p99 ratio | "
        "Worker RSS MiB | KiB per stream |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in part["classes"]:
        q, w = c["quiet"], c["loaded"]
        lines.append(
            f"| {c['worker_class']} | {c['streams']:,} ({c['streaming']:,}) | "
            f"{q['rps']:,.0f} → {w['rps']:,.0f} | {q['p50_ms']:.2f} → {w['p50_ms']:.2f} | "
            f"{q['p99_ms']:.1f} → {w['p99_ms']:.1f} | {_ratio(c['rps_ratio'])} | "
            f"{_ratio(c['p99_ratio'])} | {c['rss_mib'][0]:.0f} → {c['rss_mib'][1]:.0f} | "
            f"{c['kib_per_stream']:.0f} |"
        )
    by = {c["worker_class"]: c for c in part["classes"]}
    if "gevent" in by and "threads" in by:
        gevent_rps, thread_rps = by["gevent"]["loaded"]["rps"], by["threads"]["loaded"]["rps"]
        if thread_rps:
            lines += [
                "",
                f"With the streams open, gevent answers {gevent_rps / thread_rps:.2f}× the "
                "requests/s of threads.",
            ]
    return lines


def _cpu(row: dict[str, Any], name: str) -> str:
    value = row.get(f"{name}_cpu_ms")
    return f"{value:.2f}" if isinstance(value, int | float) else "—"


def _instances_md(part: dict[str, Any]) -> list[str]:
    if "error" in part:
        return [f"Not measured: {part['error']}"]
    lines = [
        f"The polling mix is one logged-in user's second at TradingView's default intervals "
        f"({len(part['polling'])} requests: 2 × /quotes, 2 × /orders, 2 × /state, 1 × "
        f"/positions), in turn with one bearer token; {part['connections']} connections "
        f"through nginx (TLS), {part['seconds']} s per target, median of {part['rounds']} "
        "rounds. CPU ms per request: user and system time of each group of processes during "
        "the measured load, divided by the requests answered.",
        "",
        "| Target | Requests/s | Ratio to hello | p50 ms | p99 ms | Errors | CPU ms/request: "
        "app | nginx | PostgreSQL | Redis |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in part["summary"]:
        lines.append(
            f"| {row['target']} | {row['rps']:,.0f} | {_ratio(row['ratio_to_hello'])} | "
            f"{row['p50_ms']:.2f} | {row['p99_ms']:.1f} | {row['errors']} | "
            f"{_cpu(row, 'app')} | {_cpu(row, 'nginx')} | {_cpu(row, 'postgres')} | "
            f"{_cpu(row, 'redis')} |"
        )
    lines += ["", f"Two instances / one instance: {_ratio(part['two_over_one'])}."]
    return lines


def markdown(document: dict[str, Any]) -> str:
    """The page: one section per measured part, then the notes."""
    machine = document["machine"]
    lines = [
        f"# Gateway scale benchmark, {document['generated_at']}",
        "",
        f"{machine['cpus']} CPUs shared by every server and client; total "
        f"{document['elapsed_s']:g} s.",
    ]
    if "idle" in document:
        lines += ["", "## Idle streams held by one worker", "", *_idle_md(document["idle"])]
    if "instances" in document:
        lines += [
            "",
            "## One and two instances behind nginx",
            "",
            *_instances_md(document["instances"]),
        ]
    lines += ["", "Notes:", "", *[f"- {note}" for note in NOTES]]
    return "\n".join(lines) + "\n"
