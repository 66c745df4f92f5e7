"""One-minute bars and daily aggregates built from the very trades that are streamed.

This is how /history equals /streaming by construction: the builder sees exactly the trades the
streaming hub sends (same bus, same order, same timestamps), and a minute bar is written to the
store once, when its minute is over, and never changed afterwards.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from gateway.market.barstore import BarStore
from gateway.plugins.records import Bar, Tick, Trade

DailyListener = Callable[[str, int, "Ohlcv"], None]


@dataclass
class Ohlcv:
    """A bar under construction."""

    open: float
    high: float
    low: float
    close: float
    volume: float

    def add(self, price: float, size: float) -> None:
        """Account for one trade."""
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += size


def minute_of(time: float) -> int:
    """The Unix second at which the minute containing ``time`` starts."""
    return math.floor(time) // 60 * 60


class BarBuilder:
    """Per symbol: the open minute bar and the open daily bar.

    ``trading_day(symbol, ts)`` gives the trading day of a timestamp and ``day_time(symbol,
    day)`` the time of its daily bar (00:00 UTC of the trading day); both come from the
    symbols' session calendars.
    """

    def __init__(
        self,
        store: BarStore,
        trading_day: Callable[[str, float], date | None],
        day_time: Callable[[str, date], int],
        on_daily: DailyListener | None = None,
    ) -> None:
        self._store = store
        self._trading_day = trading_day
        self._day_time = day_time
        self._on_daily = on_daily
        self._lock = threading.Lock()
        self._minute: dict[str, tuple[int, Ohlcv]] = {}
        self._day: dict[str, tuple[date, Ohlcv]] = {}
        self._closed_until: dict[str, int] = {}
        self.persist = True
        """Whether closed minute bars are written to the store. In a cluster only the feeds'
        owner writes: another process, which may have joined mid-minute, builds the same bars
        from the bus for its daily updates but must not overwrite the owner's."""

    def closed_before(self, symbol: str) -> int:
        """Trades stamped before this time would change a closed bar: the caller restamps them.

        The caller must serialize this check with :meth:`on_tick` and :meth:`close_due`.
        """
        with self._lock:
            current = self._minute.get(symbol)
            return current[0] if current else self._closed_until.get(symbol, 0)

    def seed_day(self, symbol: str, day: date, bar: Ohlcv) -> None:
        """Start a trading day's aggregate from stored minute bars (after a restart)."""
        with self._lock:
            self._day[symbol] = (day, bar)

    def on_tick(self, tick: Tick) -> None:
        """Bus handler: trades build bars; other ticks are ignored."""
        if not isinstance(tick, Trade):
            return
        minute = minute_of(tick.time)
        closed: Bar | None = None
        with self._lock:
            current = self._minute.get(tick.symbol)
            if current is not None and current[0] != minute:
                closed = _bar(tick.symbol, *current)
                self._closed_until[tick.symbol] = current[0] + 60
                current = None
            if current is None:
                current = (minute, Ohlcv(tick.price, tick.price, tick.price, tick.price, 0.0))
                self._minute[tick.symbol] = current
            current[1].add(tick.price, tick.size)
            day = self._trading_day(tick.symbol, tick.time)
            if day is not None:
                open_day = self._day.get(tick.symbol)
                if open_day is None or open_day[0] != day:
                    open_day = (day, Ohlcv(tick.price, tick.price, tick.price, tick.price, 0.0))
                    self._day[tick.symbol] = open_day
                open_day[1].add(tick.price, tick.size)
        if closed is not None:
            self._close(closed)

    def close_due(self, now: float) -> None:
        """Close every minute bar whose minute is over (called about once a second)."""
        due: list[Bar] = []
        with self._lock:
            for symbol, (minute, open_bar) in list(self._minute.items()):
                if minute + 60 <= now:
                    due.append(_bar(symbol, minute, open_bar))
                    self._closed_until[symbol] = minute + 60
                    del self._minute[symbol]
        for closed in due:
            self._close(closed)

    def _close(self, bar: Bar) -> None:
        if self.persist:
            self._store.write([bar])
        if self._on_daily is None:
            return
        with self._lock:
            open_day = self._day.get(bar.symbol)
            snapshot = (open_day[0], Ohlcv(**vars(open_day[1]))) if open_day is not None else None
        if snapshot is not None:
            self._on_daily(bar.symbol, self._day_time(bar.symbol, snapshot[0]), snapshot[1])

    def open_bars(self) -> Mapping[str, Bar]:
        """The minute bars still open, by symbol (for diagnostics and tests)."""
        with self._lock:
            return {s: _bar(s, m, b) for s, (m, b) in self._minute.items()}


def _bar(symbol: str, minute: int, b: Ohlcv) -> Bar:
    return Bar(symbol, minute, b.open, b.high, b.low, b.close, b.volume)
