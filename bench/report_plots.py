"""The report's plots: throughput and latency of each target next to its baselines, as PNG.

Drawn with matplotlib's object interface on the Agg canvas (no pyplot: no global figure state,
no display needed). Both use a logarithmic axis: the figures span five orders of magnitude
(nginx's static answer against a login that hashes a password), and on a log axis equal ratios
look equal, which is how the figures are meant to be read.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as Chart
from matplotlib.patches import Patch
from PIL import Image

from bench.headlines import Figure, Headline

SERIES = (
    ("measured", "measured", "#1f4e99"),
    ("hello", "hello app (same run)", "#e8892b"),
    ("nginx", "nginx static answer (same run)", "#3a9a48"),
    ("baseline", "the suite's other baseline", "#8c8c8c"),
)
"""Each bar's source, legend and colour: the same in both plots."""
COLOURS = {key: colour for key, _legend, colour in SERIES}
BAR = 0.2
"""Height of one bar, in y units (a row's bars are stacked with no gap)."""
DPI = 100
WIDTH_IN = 11.0


def _short(value: float) -> str:
    """Three significant digits, and whole numbers from 100 on (1,010, not 1.01e+03)."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _label(row: Headline) -> str:
    measure = row.measure.replace("`", "").replace("**", "")
    conns = "" if row.connections is None else f", {row.connections} conn"
    plural = "" if row.connections in (None, 1) else "s"
    return textwrap.fill(f"{row.suite}: {measure}{conns}{plural}", 48)


def _bars(row: Headline) -> list[tuple[str, Figure]]:
    figures = {"measured": row.measured, **row.references()}
    return [(key, figures[key]) for key, _legend, _colour in SERIES if key in figures]


def _chart(rows: int, bars: int) -> tuple[Chart, Axes]:
    height = 1.2 + 0.42 * rows + 0.2 * bars
    chart = Chart(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(chart)
    return chart, chart.add_subplot()


def _finish(
    chart: Chart, ax: Axes, title: str, xlabel: str, span: tuple[float, float], path: Path
) -> None:
    # A figure of 0 (a target that measured nothing) has no place on a log axis: the axis
    # starts below the smallest positive one (matplotlib would warn and ignore a 0 limit).
    low = span[0] if span[0] > 0 else (span[1] / 1000 if span[1] > 0 else 0.1)
    high = max(span[1], low)
    # Room on the right for the values written after the longest bars.
    ax.set_xlim(low / 2, high * 4)  # before the scale: no autoscaling over the zeros
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    ax.margins(y=0.01)
    ax.invert_yaxis()  # the report's order, top to bottom
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.tick_params(axis="y", length=0, labelsize=8)
    handles = [Patch(color=colour, label=legend) for _key, legend, colour in SERIES]
    chart.legend(handles=handles, loc="outside lower center", ncols=len(SERIES), fontsize=8)
    drawn = io.BytesIO()
    chart.savefig(drawn, format="png")
    drawn.seek(0)
    # A bar chart has few colours: as 256 (Pillow, which matplotlib itself writes PNGs with) the
    # file is a third of the size, and these files are committed with every run.
    with Image.open(drawn) as image:
        image.convert("RGB").quantize(256).save(path, format="png", optimize=True)


def _layout(rows: Sequence[Headline]) -> tuple[list[float], list[tuple[float, str, Figure]]]:
    """The y of each row's label, and of each of its bars."""
    ticks: list[float] = []
    bars: list[tuple[float, str, Figure]] = []
    y = 0.0
    for row in rows:
        found = _bars(row)
        ticks.append(y + BAR * (len(found) - 1) / 2)
        for key, figure in found:
            bars.append((y, key, figure))
            y += BAR
        y += 0.35  # the gap between rows
    return ticks, bars


def throughput(rows: Sequence[Headline], path: Path) -> bool:
    """Requests/s of every target next to hello, nginx and its other baseline; False if none."""
    targets = [r for r in rows if r.kind == "rps" and r.suite != "ceiling"]
    if not targets:
        return False
    ticks, bars = _layout(targets)
    chart, ax = _chart(len(targets), len(bars))
    for y, key, figure in bars:
        rps = figure.rps or 0.0
        ax.barh(y, rps, height=BAR, color=COLOURS[key])
        ax.text(rps * 1.05, y, _short(rps), va="center", fontsize=7)
    ax.set_yticks(ticks, [_label(r) for r in targets])
    values = [figure.rps or 0.0 for _y, _key, figure in bars]
    _finish(chart, ax, "Throughput: requests/s, next to the baselines of the same run",
            "requests/s (log scale)", (min(values), max(values)), path)  # fmt: skip
    return True


def latency(rows: Sequence[Headline], path: Path) -> bool:
    """p50 (bar) and p99 (whisker) of every target with latencies, next to its baselines."""
    targets = [
        r
        for r in rows
        if r.suite != "ceiling" and r.measured.p50_ms is not None and r.measured.p99_ms is not None
    ]
    if not targets:
        return False
    ticks, bars = _layout(targets)
    chart, ax = _chart(len(targets), len(bars))
    for y, key, figure in bars:
        p50, p99 = figure.p50_ms, figure.p99_ms
        if p50 is None or p99 is None:
            continue
        ax.barh(y, p50, height=BAR, color=COLOURS[key])
        ax.errorbar(p50, y, xerr=[[0.0], [max(0.0, p99 - p50)]], color="#333333",
                    elinewidth=0.8, capsize=2)  # fmt: skip
        ax.text(max(p50, p99) * 1.08, y, f"{_short(p50)} / {_short(p99)}", va="center", fontsize=7)
    ax.set_yticks(ticks, [_label(r) for r in targets])
    values = [v for _y, _key, f in bars for v in (f.p50_ms, f.p99_ms) if v is not None]
    _finish(chart, ax, "Latency: p50 (bar) and p99 (whisker), next to the baselines of the same "
            "run", "milliseconds (log scale)", (min(values), max(values)), path)  # fmt: skip
    return True
