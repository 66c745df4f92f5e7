"""/history semantics: inclusive bounds, countback, daily bars per session, empty answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gateway.market.barstore import BarStore
from gateway.plugins.records import Bar

Resolution = Literal["1", "D"]
_DAY = 86400
# How far back a daily countback looks for trading days with bars before giving up.
_COUNTBACK_DAYS_MARGIN = 30


class Calendar(Protocol):
    """What /history needs of a symbol's session calendar."""

    def trading_day(self, ts: float) -> dt.date | None:
        """The trading day of a timestamp, None outside sessions."""

    def session_bounds(self, day: dt.date) -> list[tuple[int, int]]:
        """UTC [open, close) ranges of a trading day."""

    def daily_bar_time(self, day: dt.date) -> int:
        """00:00 UTC of the trading day."""


@dataclass(frozen=True)
class HistoryRequest:
    """A parsed /history request."""

    symbol: str
    resolution: Resolution
    start: int
    end: int
    countback: int | None = None


def parse_resolution(text: str) -> Resolution | None:
    """``1`` (minutes) and ``D``/``1D`` (days); other resolutions TradingView builds itself."""
    if text == "1":
        return "1"
    if text in ("D", "1D"):
        return "D"
    return None


def empty_answer(spec: tuple[int, int, int], older: int | None) -> dict[str, Any]:
    """What 'no bars in range' looks like in the broker's spec version.

    1.4.x: always the empty arrays; 1.3.26–1.3.27: empty arrays when older data exists, else
    ``no_data``; before 1.3.26: ``no_data`` with ``nb``, the time of the nearest older bar.
    """
    arrays: dict[str, Any] = {"s": "ok", "t": [], "o": [], "h": [], "l": [], "c": [], "v": []}
    if spec >= (1, 4, 0):
        return arrays
    if spec >= (1, 3, 26):
        return arrays if older is not None else {"s": "no_data"}
    return {"s": "no_data", "nb": older} if older is not None else {"s": "no_data"}


def bars_answer(bars: Sequence[Bar]) -> dict[str, Any]:
    """The HistorySuccessResponse of some bars."""
    return {
        "s": "ok",
        "t": [b.time for b in bars],
        "o": [b.open for b in bars],
        "h": [b.high for b in bars],
        "l": [b.low for b in bars],
        "c": [b.close for b in bars],
        "v": [b.volume for b in bars],
    }


def _aggregate(symbol: str, day_time: int, bars: Iterable[Bar]) -> Bar | None:
    items = list(bars)
    if not items:
        return None
    return Bar(
        symbol, day_time, items[0].open, max(b.high for b in items),
        min(b.low for b in items), items[-1].close, sum(b.volume for b in items),
    )  # fmt: skip


def daily_bars(store: BarStore, calendar: Calendar, req: HistoryRequest, now: float) -> list[Bar]:
    """Daily bars built from the minute bars of each trading session.

    A daily bar's time is 00:00 UTC of its trading day, and its open and close are the first
    and last minute bars' of the session, so daily and minute history agree by construction.
    """
    end = min(req.end, int(now))
    last_day = dt.datetime.fromtimestamp(end, dt.UTC).date()
    if req.countback is not None:
        first_day = last_day - dt.timedelta(days=req.countback * 2 + _COUNTBACK_DAYS_MARGIN)
    else:
        if req.start > end:
            return []
        first_day = dt.datetime.fromtimestamp(req.start, dt.UTC).date()
    days: list[tuple[dt.date, list[tuple[int, int]]]] = []
    day = first_day
    while day <= last_day:
        bounds = calendar.session_bounds(day)
        day_time = calendar.daily_bar_time(day)
        in_range = req.countback is not None or req.start <= day_time <= end
        if bounds and in_range:
            days.append((day, bounds))
        day += dt.timedelta(days=1)
    if not days:
        return []
    lo = min(b[0] for _, bounds in days for b in bounds)
    hi = max(b[1] for _, bounds in days for b in bounds)
    # `to` bounds the daily bar times (00:00 UTC); the sessions themselves run past it.
    minutes = store.range(req.symbol, lo, min(hi - 1, int(now)))
    out: list[Bar] = []
    for day, bounds in days:
        inside = [m for m in minutes if any(o <= m.time < c for o, c in bounds)]
        bar = _aggregate(req.symbol, calendar.daily_bar_time(day), inside)
        if bar is not None:
            out.append(bar)
    if req.countback is not None:
        out = out[-req.countback :]
    return out


def _columns(rows: Sequence[Any]) -> dict[str, Any]:
    t, o, h, low, c, v = (list(col) for col in zip(*rows, strict=True))
    return {"s": "ok", "t": t, "o": o, "h": h, "l": low, "c": c, "v": v}


def answer(
    store: BarStore,
    calendar: Calendar,
    req: HistoryRequest,
    now: float,
    spec: tuple[int, int, int],
) -> dict[str, Any]:
    """The /history response for a request."""
    if req.resolution == "1":
        # The hot path (TradingView back-fills minute by minute): rows straight into columns.
        end = min(req.end, int(now))
        if req.countback is not None:
            rows = store.last_rows(req.symbol, end, req.countback)
        else:
            rows = store.range_rows(req.symbol, req.start, end) if req.start <= end else []
        if rows:
            return _columns(rows)
    else:
        bars = daily_bars(store, calendar, req, now)
        if bars:
            return bars_answer(bars)
    first = req.start if req.countback is None else req.end
    return empty_answer(spec, store.latest_before(req.symbol, first))
