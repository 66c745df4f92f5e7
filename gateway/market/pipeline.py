"""The market-data pipeline of one process: feed → gate → bus → builder, quotes, streaming.

The gate is the one door ticks come through. It drops ticks of unknown symbols and ticks outside
their symbol's session, and it keeps time monotonic per symbol and message kind (a trade stamped
inside an already closed minute is restamped to the open minute, so a closed bar never changes
and the streamed trade lands in the bar /history will show).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.cooperative import pause
from gateway.market.barstore import BarStore
from gateway.market.builder import BarBuilder, Ohlcv, minute_of
from gateway.market.bus import TickBus
from gateway.market.quotes import QuoteBook
from gateway.market.streaming import StreamHub
from gateway.plugins.records import Tick, Trade
from gateway.plugins.roles import MarketData

log = logging.getLogger("gateway.market")


class SessionCalendar(Protocol):
    """What the pipeline needs of a symbol's session calendar."""

    def is_open(self, ts: float) -> bool:
        """Whether the session is open at ``ts``."""

    def trading_day(self, ts: float) -> dt.date | None:
        """The trading day of ``ts``."""

    def session_bounds(self, day: dt.date) -> list[tuple[int, int]]:
        """UTC [open, close) ranges of a trading day."""

    def daily_bar_time(self, day: dt.date) -> int:
        """00:00 UTC of the trading day."""

    def sessions_between(
        self, start_ts: float, end_ts: float
    ) -> Iterator[tuple[dt.date, int, int]]:
        """Every (trading day, open, close) overlapping [start_ts, end_ts)."""


@dataclass(frozen=True)
class MarketSymbol:
    """A symbol as the pipeline sees it."""

    name: str
    stream_id: str
    has_daily: bool
    calendar: SessionCalendar
    tick_size: float = 0.01


@dataclass(frozen=True)
class PipelineSettings:
    """Tunables from the ``market`` section of the configuration."""

    heartbeat_seconds: float = 5.0
    stream_buffer_bytes: int = 4 * 1024 * 1024
    backfill_seconds: int = 7 * 86400
    depth_levels: int = 10


class MarketRuntime:
    """Everything market data needs in one process, started after fork."""

    def __init__(
        self,
        symbols: Sequence[MarketSymbol],
        store: BarStore,
        clock: Callable[[], float],
        settings: PipelineSettings = PipelineSettings(),
    ) -> None:
        self.symbols = {s.name: s for s in symbols}
        self.by_stream_id = {s.stream_id: s for s in symbols} | self.symbols
        self.store = store
        self.settings = settings
        self._clock = clock
        self.bus = TickBus()
        self.quotes = QuoteBook()
        self.hub = StreamHub(self._stream_id, clock, settings.stream_buffer_bytes)
        self.builder = BarBuilder(store, self._trading_day, self._day_time, self._daily)
        self.bus.subscribe(self.quotes.on_tick)
        self.bus.subscribe(self.builder.on_tick)
        self.bus.subscribe(self.hub.on_tick)
        self._gate = threading.Lock()
        self._last: dict[tuple[str, type], float] = {}
        self._unknown: set[str] = set()
        self.received_at: float | None = None
        """When the last tick was taken (the gateway's clock); None before the first."""
        self.delay = 0.0
        """The last tick's delay: when it was taken minus the time its feed stamped on it."""
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self.forward: Callable[[Tick], None] | None = None
        """Where the ticks of this process's own feeds go besides its pipeline: the cluster's
        bus, which hands them to the other processes' :meth:`take_remote`."""

    def _stream_id(self, symbol: str) -> str:
        return self.symbols[symbol].stream_id

    def _trading_day(self, symbol: str, ts: float) -> dt.date | None:
        return self.symbols[symbol].calendar.trading_day(ts)

    def _day_time(self, symbol: str, day: dt.date) -> int:
        return self.symbols[symbol].calendar.daily_bar_time(day)

    def _daily(self, symbol: str, day_time: int, bar: Ohlcv) -> None:
        if self.symbols[symbol].has_daily:
            self.hub.on_daily(symbol, day_time, bar)

    # -- the gate: connectors publish here (it is their TickSink) --------------------------

    def publish(self, tick: Tick) -> None:
        """Take a tick from a feed of this process."""
        self._take(tick, self.forward)

    def take_remote(self, tick: Tick) -> None:
        """Take a tick another process's feed published on the bus."""
        self._take(tick, None)

    def _take(self, tick: Tick, forward: Callable[[Tick], None] | None) -> None:
        symbol = self.symbols.get(tick.symbol)
        if symbol is None:
            if tick.symbol not in self._unknown:
                self._unknown.add(tick.symbol)
                log.warning("ignoring ticks of %r: not in symbols", tick.symbol)
            return
        if not symbol.calendar.is_open(tick.time):
            return
        with self._gate:
            key = (tick.symbol, type(tick))
            floor = self._last.get(key, 0.0)
            if isinstance(tick, Trade):
                floor = max(floor, float(self.builder.closed_before(tick.symbol)))
            if tick.time < floor:
                tick = dataclasses.replace(tick, time=floor)
            self._last[key] = tick.time
            self.received_at = now = self._clock()
            self.delay = max(now - tick.time, 0.0)
            self.bus.publish(tick)
            if forward is not None:
                # Under the gate: the bus carries the ticks in the order the gate passed them.
                forward(tick)

    def any_open(self, now: float) -> bool:
        """Whether the market of any symbol is open at ``now`` (ticks are then expected)."""
        return any(symbol.calendar.is_open(now) for symbol in self.symbols.values())

    # -- lifecycle ---------------------------------------------------------------------------

    def import_backfill(self, feeds: Iterable[MarketData]) -> int:
        """Store recorded bars of every feed before the current minute; never overwrite."""
        now = self._clock()
        count = self._store_backfill(feeds, now)
        self.seed(now)
        return count

    def _store_backfill(self, feeds: Iterable[MarketData], now: float) -> int:
        end = minute_of(now)
        start = end - self.settings.backfill_seconds
        count = 0
        for feed in feeds:
            for name, symbol in self.symbols.items():
                bars = [
                    b for b in feed.backfill(name, start, end)
                    if symbol.calendar.is_open(b.time)
                ]  # fmt: skip
                self.store.write(bars, replace=False)
                count += len(bars)
                pause()  # seconds of work: the lease renewals and requests must go on
        return count

    def seed(self, now: float) -> None:
        """Last prices and today's daily aggregates from the store, after a (re)start."""
        for name, symbol in self.symbols.items():
            last = self.store.last(name, int(now), 1)
            if last:
                self.quotes.seed_price(name, last[0].close)
            day = symbol.calendar.trading_day(now)
            if day is None:
                continue
            bounds = symbol.calendar.session_bounds(day)
            if not bounds:
                continue
            bars = self.store.range(name, bounds[0][0], int(now))
            if bars:
                agg = Ohlcv(
                    bars[0].open,
                    max(b.high for b in bars),
                    min(b.low for b in bars),
                    bars[-1].close,
                    sum(b.volume for b in bars),
                )
                self.builder.seed_day(name, day, agg)

    def attach(self, feeds: Sequence[MarketData]) -> None:
        """Subscribe to the feeds (before they start, so that no tick is missed)."""
        for feed in feeds:
            feed.subscribe(self)

    def start(self, feeds: Sequence[MarketData]) -> None:
        """Import back-fill (the feeds are started) and start closing minutes on time."""
        self.import_backfill(feeds)
        self._start_closer()

    def start_following(self) -> None:
        """Start as a process whose ticks come from the bus (cluster mode).

        Seeded from the store; it writes no bars until :meth:`own`.
        """
        self.builder.persist = False
        self.seed(self._clock())
        self._start_closer()

    def own(self, feeds: Sequence[MarketData]) -> None:
        """Take over ``feeds`` (they are started): import their back-fill, write the bars."""
        # Not seeded again: this process has followed the bus, its open bars are current.
        self.builder.persist = True
        self._store_backfill(feeds, self._clock())

    def disown(self) -> None:
        """Another process runs the feeds now: stop writing bars."""
        self.builder.persist = False

    def _start_closer(self) -> None:
        self._stop.clear()
        self._timer = threading.Thread(target=self._close_minutes, name="bar-closer", daemon=True)
        self._timer.start()

    def _close_minutes(self) -> None:
        while not self._stop.wait(1.0):
            self.close_due()

    def close_due(self) -> None:
        """Close the minute bars whose minute is over (serialized with the gate)."""
        with self._gate:
            self.builder.close_due(self._clock())

    def stop(self) -> None:
        """Stop the minute closer."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=5)
