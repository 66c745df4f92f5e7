"""The market as an execution venue sees it: quotes and sessions by instrument name."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gateway.config.instruments import Instrument
from gateway.market.pipeline import MarketRuntime
from gateway.plugins.records import Quote, Tick


class InstrumentMarket:
    """:class:`gateway.plugins.roles.MarketView` over the market-data pipeline."""

    def __init__(
        self,
        market: MarketRuntime,
        instruments: Mapping[str, Instrument],
        clock: Callable[[], float],
    ) -> None:
        self._market = market
        self._clock = clock
        self._symbol = {name: i.symbol or name for name, i in instruments.items()}
        self._ticks = {name: i.min_tick for name, i in instruments.items()}
        self._by_symbol: dict[str, list[str]] = {}
        for name, symbol in self._symbol.items():
            self._by_symbol.setdefault(symbol, []).append(name)
        self._handlers: list[Callable[[str, Quote], None]] = []
        self._subscribed = False

    def on_quote(self, handler: Callable[[str, Quote], None]) -> None:
        """Call ``handler(instrument, quote)`` for every quote that passes the gate."""
        self._handlers.append(handler)
        if not self._subscribed:
            self._subscribed = True
            self._market.bus.subscribe(self._on_tick)

    def _on_tick(self, tick: Tick) -> None:
        if not isinstance(tick, Quote):
            return
        for instrument in self._by_symbol.get(tick.symbol, ()):
            for handler in self._handlers:
                handler(instrument, tick)

    def quote(self, instrument: str) -> Quote | None:
        """The latest quote of an instrument."""
        symbol = self._symbol.get(instrument)
        return self._market.quotes.get(symbol).quote if symbol else None

    def is_open(self, instrument: str, ts: float) -> bool:
        """Whether the instrument's symbol is in session at ``ts``."""
        symbol = self._market.symbols.get(self._symbol.get(instrument, ""))
        return symbol is not None and symbol.calendar.is_open(ts)

    def session_close(self, instrument: str, ts: float) -> float | None:
        """Close of the session open at ``ts``, else of the next one within a week."""
        symbol = self._market.symbols.get(self._symbol.get(instrument, ""))
        if symbol is None:
            return None
        for _day, _open, close in symbol.calendar.sessions_between(ts, ts + 8 * 86400):
            if close > ts:
                return float(close)
        return None

    def session_open(self, instrument: str, ts: float) -> float | None:
        """Open of the session containing ``ts``, else of the last one before it."""
        symbol = self._market.symbols.get(self._symbol.get(instrument, ""))
        if symbol is None:
            return None
        opens = [o for _d, o, _c in symbol.calendar.sessions_between(ts - 8 * 86400, ts + 1)]
        return float(opens[-1]) if opens else None

    def min_tick(self, instrument: str) -> float:
        """The instrument's tick size."""
        return self._ticks.get(instrument, 0.01)

    def now(self) -> float:
        """The gateway clock."""
        return self._clock()
