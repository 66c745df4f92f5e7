"""The report's headline figures: one per row, next to the baselines measured in the same run.

Each suite's JSON document (as its own command wrote it) gives a few :class:`Headline` rows: the
figure measured, the hello app's figure (the suite's own hello runs where it has them, else the
ceiling suite's), nginx's static answer with the same connections (:mod:`bench.ceiling`; the
scale suite's own nginx behind TLS for its rows), and the suite's other baseline where it has one
(a bare streaming app, the raw SQL query, the paper venue in process...). Figures that are not
HTTP requests (memory, ticks per second, in-process calls) have no hello or nginx counterpart.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["rps", "latency", "value"]
"""What a row compares: requests/s, latency p50 / p99, or another quantity (``Figure.unit``)."""
SUITES = ("ceiling", "http", "trading", "market", "fix", "scale", "sql")
"""Every suite, in the order they run and appear."""
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Figure:
    """What one server or path measured; the fields its row's kind needs are set."""

    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    value: float | None = None
    unit: str = ""
    connections: int | None = None
    name: str = ""
    """What it is, for the suite's own baselines (``bare streaming app``)."""


@dataclass(frozen=True)
class Headline:
    """One row of the report."""

    suite: str
    measure: str
    kind: Kind
    connections: int | None
    measured: Figure
    hello: Figure | None = None
    nginx: Figure | None = None
    baseline: Figure | None = None

    def references(self) -> dict[str, Figure]:
        """The baselines it has, by column: ``hello``, ``nginx``, ``baseline``."""
        found = {"hello": self.hello, "nginx": self.nginx, "baseline": self.baseline}
        return {name: figure for name, figure in found.items() if figure is not None}


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``, or None when either is missing or the base is 0."""
    if value is None or base is None or base <= 0:
        return None
    return value / base


def ratios(row: Headline, reference: Figure) -> tuple[float | None, ...]:
    """The row's figure over the reference's: one ratio, or two (p50, p99) for latencies."""
    m = row.measured
    if row.kind == "rps":
        return (ratio(m.rps, reference.rps),)
    if row.kind == "latency":
        return ratio(m.p50_ms, reference.p50_ms), ratio(m.p99_ms, reference.p99_ms)
    return (ratio(m.value, reference.value),)


# -- reading the suites' documents -----------------------------------------------------------


class Ceiling:
    """The ceiling suite's medians by server and connections (empty when it did not run)."""

    def __init__(self, document: dict[str, Any] | None) -> None:
        self.rows = {
            (row["server"], row["connections"]): row for row in (document or {}).get("summary", [])
        }

    def figure(self, server: str, connections: int) -> Figure | None:
        """hello's or nginx's figure with ``connections`` connections, if measured."""
        row = self.rows.get((server, connections))
        if row is None:
            return None
        return Figure(row["rps"], row["p50_ms"], row["p99_ms"], connections=connections)


def _median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def _ceiling(document: dict[str, Any], ceiling: Ceiling) -> list[Headline]:
    rows = []
    conns = sorted({c for _server, c in ceiling.rows}, reverse=True)
    for c in conns:
        hello, nginx = ceiling.figure("hello", c), ceiling.figure("nginx", c)
        if hello is not None:
            workers = document["settings"]["workers"]
            measure = (
                f"**hello app**, `GET /hello`, gunicorn as `gateway serve` ({workers} workers)"
            )
            rows.append(Headline("ceiling", measure, "rps", c, hello, nginx=nginx))
        if nginx is not None:
            measure = "**nginx**, the same body from `return 200` (the HTTP ceiling)"
            rows.append(Headline("ceiling", measure, "rps", c, nginx, hello=hello))
    return rows


def _http(document: dict[str, Any], ceiling: Ceiling) -> list[Headline]:
    connections = document["settings"]["connections"]
    entries: dict[str, list[dict[str, Any]]] = {}
    for r in document["rounds"]:
        for e in r["results"]:
            entries.setdefault(e["label"], []).append(e)
    hello_entries = [
        e for label, es in entries.items() if label.startswith("GET /hello") for e in es
    ]
    hello = Figure(
        _median(r["ceiling_rps"] for r in document["rounds"]),
        _median(e["latency_ms"]["p50"] for e in hello_entries),
        _median(e["latency_ms"]["p99"] for e in hello_entries),
        connections=connections,
    )
    names = {
        "GET /accounts": "`GET /accounts` (bearer token checked in the store)",
        "POST /authorize": "`POST /authorize` (an Argon2id hash per login, by design)",
    }
    rows = []
    for row in document["summary"]:
        if row["label"].startswith("GET /hello"):
            continue
        es = entries[row["label"]]
        measured = Figure(
            row["rps_median"],
            _median(e["latency_ms"]["p50"] for e in es),
            _median(e["latency_ms"]["p99"] for e in es),
            connections=row["connections"],
        )
        nginx = ceiling.figure("nginx", connections)
        measure = names.get(row["label"], row["label"])
        rows.append(Headline("http", measure, "rps", row["connections"], measured, hello, nginx))
    return rows


def _trading(document: dict[str, Any], ceiling: Ceiling) -> list[Headline]:
    load_conns = document["settings"]["connections"]
    hellos = {}
    for name, conns in (("load", load_conns), ("single", 1)):
        runs = [r["baselines"][name] for r in document["rounds"]]
        hellos[name] = Figure(
            _median(b["rps"] for b in runs),
            _median(b["p50_ms"] for b in runs),
            _median(b["p99_ms"] for b in runs),
            connections=conns,
        )
    rows = []
    for row in document["summary"]:
        if row["server"] == "hello":
            continue
        lat = row["latency_ms"]
        c = row["connections"]
        measured = Figure(row["rps_median"], lat["p50_median"], lat["p99_median"], connections=c)
        label = row["label"].removesuffix(", 1 connection")
        hello, nginx = hellos[row["baseline"]], ceiling.figure("nginx", c)
        rows.append(Headline("trading", f"`{label}`", "rps", c, measured, hello, nginx))
    return rows


def _market(document: dict[str, Any], ceiling: Ceiling) -> list[Headline]:
    rows = []
    for s in document.get("streaming", {}).get("summary", []):
        gw, base = s["gateway_ms"], s["baseline_ms"]
        rows.append(
            Headline(
                "market",
                "tick → client latency on `/streaming`",
                "latency",
                s["connections"],
                Figure(p50_ms=gw["p50"], p99_ms=gw["p99"]),
                baseline=Figure(p50_ms=base["p50"], p99_ms=base["p99"], name="bare streaming app"),
            )
        )
    history = document.get("history", {})
    for b in history.get("backends", []):
        if b.get("status") != "ok":
            continue
        http, raw = b["ms"]["http"], b["ms"]["raw"]
        backend = BACKENDS.get(b["backend"], b["backend"])
        rows.append(
            Headline(
                "market",
                f"`/history`, 1440 bars of {history['bars']:,}, {backend}",
                "latency",
                1,
                Figure(p50_ms=http["median"], p99_ms=http["p99"]),
                hello=ceiling.figure("hello", 1),
                nginx=ceiling.figure("nginx", 1),
                baseline=Figure(p50_ms=raw["median"], p99_ms=raw["p99"], name="raw SQL"),
            )
        )
    servers = {s["label"]: s for s in document.get("memory", {}).get("servers", [])}
    base = servers.get("baseline stream app")
    for label, name in (
        ("gateway serve (gevent)", "memory per idle `/streaming` connection (gevent)"),
        ("threads worker, a thread per stream", "the same, threads worker"),
    ):
        if label in servers and base is not None:
            kib, base_kib = servers[label]["kib_per_connection"], base["kib_per_connection"]
            rows.append(
                Headline(
                    "market",
                    name,
                    "value",
                    None,
                    Figure(value=kib, unit="KiB"),
                    baseline=Figure(value=base_kib, unit="KiB", name="bare streaming app"),
                )
            )
    return rows


def _fix(document: dict[str, Any], ceiling: Ceiling) -> list[Headline]:
    rows = []
    orders = document.get("orders")
    if orders:
        s = orders["summary"]
        rows.append(
            Headline(
                "fix",
                "market order through FIX, `POST /orders` until `filled`",
                "latency",
                1,
                Figure(p50_ms=s["fix_ms"]["p50"], p99_ms=s["fix_ms"]["p99"]),
                hello=Figure(p50_ms=s["hello_ms"]["p50"], p99_ms=s["hello_ms"]["p99"]),
                nginx=ceiling.figure("nginx", 1),
                baseline=Figure(
                    p50_ms=s["paper_ms"]["p50"],
                    p99_ms=s["paper_ms"]["p99"],
                    name="paper venue in process",
                ),
            )
        )
    runs = (document.get("market") or {}).get("runs", {})
    if "burst" in runs:
        burst = runs["burst"]
        rows.append(
            Headline(
                "fix",
                f"FIX ticks into `/streaming`, {burst['ticks']:,} at once",
                "value",
                1,
                Figure(value=burst["fix"]["msgs_per_s"], unit="msgs/s"),
                baseline=Figure(
                    value=burst["csv_replay"]["msgs_per_s"], unit="msgs/s", name="csv_replay feed"
                ),
            )
        )
    if "paced" in runs:
        paced = runs["paced"]
        fix, replay = paced["fix"]["latency_ms"], paced["csv_replay"]["latency_ms"]
        rows.append(
            Headline(
                "fix",
                f"FIX ticks into `/streaming` at {paced['rate_per_s']:,.0f}/s, latency",
                "latency",
                1,
                Figure(p50_ms=fix["p50"], p99_ms=fix["p99"]),
                baseline=Figure(p50_ms=replay["p50"], p99_ms=replay["p99"], name="csv_replay feed"),
            )
        )
    return rows


def _scale(document: dict[str, Any], ceiling: Ceiling) -> list[Headline]:
    rows = []
    idle = document.get("idle", {})
    for c in idle.get("classes", []):
        q, w = c["quiet"], c["loaded"]
        rows.append(
            Headline(
                "scale",
                f"`GET /history` with {c['streams']:,} idle streams open, {c['worker_class']} "
                "worker",
                "rps",
                idle["connections"],
                Figure(w["rps"], w["p50_ms"], w["p99_ms"]),
                baseline=Figure(q["rps"], q["p50_ms"], q["p99_ms"], name="no stream open"),
            )
        )
    instances = document.get("instances", {})
    by = {row["target"]: row for row in instances.get("summary", [])}

    def figure(target: str, name: str = "") -> Figure | None:
        row = by.get(target)
        return None if row is None else Figure(row["rps"], row["p50_ms"], row["p99_ms"], name=name)

    for target in ("polling, 1 instance", "polling, 2 instances"):
        measured = figure(target)
        if measured is None:
            continue
        instances_text = target.removeprefix("polling, ")
        rows.append(
            Headline(
                "scale",
                f"TradingView's polling through nginx (TLS), {instances_text} on PostgreSQL",
                "rps",
                instances["connections"],
                measured,
                hello=figure("hello, 1 instance", "behind the same nginx"),
                nginx=figure("nginx alone", "alone, TLS"),
            )
        )
    return rows


def _sql(document: dict[str, Any], ceiling: Ceiling) -> list[Headline]:
    return [
        Headline(
            "sql",
            f"mapped mode, `{row['endpoint']}` through the mapping (in process)",
            "value",
            None,
            Figure(value=row["mapped_us"], unit="µs"),
            baseline=Figure(value=row["baseline_us"], unit="µs", name="SQLAlchemy alone"),
        )
        for row in document["rows"]
    ]


_READERS: dict[str, Callable[[dict[str, Any], Ceiling], list[Headline]]] = {
    "ceiling": _ceiling,
    "http": _http,
    "trading": _trading,
    "market": _market,
    "fix": _fix,
    "scale": _scale,
    "sql": _sql,
}


def collect(documents: dict[str, dict[str, Any]]) -> list[Headline]:
    """The rows of every suite's document, in :data:`SUITES` order."""
    ceiling = Ceiling(documents.get("ceiling"))
    rows: list[Headline] = []
    for suite in SUITES:
        if suite in documents:
            rows += _READERS[suite](documents[suite], ceiling)
    return rows


def not_measured(documents: dict[str, dict[str, Any]]) -> list[str]:
    """``suite/part: error`` for each part a suite could not measure (it recorded why)."""
    found = []
    for suite, document in documents.items():
        for part, section in document.items():
            if isinstance(section, dict) and "error" in section:
                found.append(f"{suite}/{part}: {str(section['error']).splitlines()[0]}")
        for b in document.get("history", {}).get("backends", []):
            if b.get("status") != "ok":
                found.append(f"{suite}/history/{b.get('backend')}: {b.get('status')}")
    return found


# -- the Markdown table ----------------------------------------------------------------------


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3g}"


def _times(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}×"
    if value == 0:
        return "0×"
    # Three significant digits, never in exponent notation (0.0000988×, not 9.88e-05×).
    digits = max(0, 2 - math.floor(math.log10(value)))
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") + "×"


def _figure(kind: Kind, f: Figure) -> str:
    if kind == "rps":
        return f"{_number(f.rps or 0.0)}/s"
    if kind == "latency":
        return f"{_number(f.p50_ms or 0.0)} / {_number(f.p99_ms or 0.0)} ms"
    return f"{_number(f.value or 0.0)} {f.unit}"


def _cell(row: Headline, reference: Figure | None) -> str:
    if reference is None:
        return "—"
    text = _figure(row.kind, reference)
    if reference.connections is not None and reference.connections != row.connections:
        text += f" at {reference.connections} conns"
    if reference.name:
        text = f"{reference.name}: {text}"
    return f"{text} ({' / '.join(_times(r) for r in ratios(row, reference))})"


def table(rows: Sequence[Headline]) -> str:
    """The Markdown table: one line per headline, each baseline with the ratio to it."""
    lines = [
        "| Suite | Measure | Conns | Measured | hello app (ratio) | nginx (ratio) | "
        "Other baseline (ratio) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        conns = "—" if row.connections is None else str(row.connections)
        lines.append(
            f"| {row.suite} | {row.measure} | {conns} | **{_figure(row.kind, row.measured)}** | "
            f"{_cell(row, row.hello)} | {_cell(row, row.nginx)} | {_cell(row, row.baseline)} |"
        )
    return "\n".join(lines) + "\n"
