"""Helpers for market-data tests: a simple calendar, bar building from a recorded stream."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from typing import Any

from gateway.conformance.streaming_checks import minute_bars
from gateway.plugins.records import Bar


class AlwaysOpen:
    """A 24x7 calendar in UTC (the trading day is the UTC date)."""

    def is_open(self, ts: float) -> bool:
        return True

    def trading_day(self, ts: float) -> dt.date | None:
        return dt.datetime.fromtimestamp(ts, dt.UTC).date()

    def session_bounds(self, day: dt.date) -> list[tuple[int, int]]:
        start = self.daily_bar_time(day)
        return [(start, start + 86400)]

    def daily_bar_time(self, day: dt.date) -> int:
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())

    def sessions_between(
        self, start_ts: float, end_ts: float
    ) -> Iterator[tuple[dt.date, int, int]]:
        day = dt.datetime.fromtimestamp(start_ts, dt.UTC).date()
        while self.daily_bar_time(day) < end_ts:
            for open_, close in self.session_bounds(day):
                if close > start_ts:
                    yield day, open_, close
            day += dt.timedelta(days=1)


def parse_lines(data: bytes) -> list[Any]:
    """The JSON objects of a newline-delimited stream."""
    out: list[Any] = []
    for line in data.split(b"\n"):
        if line:
            out.append(json.loads(line))
    return out


def bars_from_trades(messages: Iterable[dict[str, Any]], stream_id: str) -> list[Bar]:
    """TradingView's check: 1-minute bars from streamed trades (as ``gateway conformance``)."""
    bars = minute_bars(messages).get(stream_id, {})
    return [Bar(stream_id, t, *v) for t, v in sorted(bars.items())]
