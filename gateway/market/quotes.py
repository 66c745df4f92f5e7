"""The latest quote, trade and depth of every symbol, for /quotes and /depth."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from gateway.plugins.records import Depth, Quote, Tick, Trade


@dataclass(frozen=True)
class Latest:
    """What is known about a symbol right now."""

    quote: Quote | None = None
    last_price: float | None = None
    depth: Depth | None = None


class QuoteBook:
    """Bus handler keeping the latest values per symbol."""

    def __init__(self) -> None:
        self._latest: dict[str, Latest] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._version = 0

    def on_tick(self, tick: Tick) -> None:
        """Record a tick."""
        with self._lock:
            old = self._latest.get(tick.symbol, Latest())
            if isinstance(tick, Quote):
                new = Latest(tick, old.last_price, old.depth)
            elif isinstance(tick, Trade):
                new = Latest(old.quote, tick.price, old.depth)
            else:
                new = Latest(old.quote, old.last_price, tick)
            self._latest[tick.symbol] = new
            self._version += 1
            self._changed.notify_all()

    def seed_price(self, symbol: str, price: float) -> None:
        """A last price known from history, until the feed says more."""
        with self._lock:
            if symbol not in self._latest:
                self._latest[symbol] = Latest(last_price=price)

    def get(self, symbol: str) -> Latest:
        """The latest values of ``symbol`` (empty if nothing is known)."""
        with self._lock:
            return self._latest.get(symbol, Latest())

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Block until anything changes after ``version`` (or timeout); the new version."""
        with self._lock:
            self._changed.wait_for(lambda: self._version != version, timeout)
            return self._version

    @property
    def version(self) -> int:
        """A counter that grows with every recorded tick."""
        with self._lock:
            return self._version
