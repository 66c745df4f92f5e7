"""Market data over FIX: requests out, snapshots and incremental refreshes into ticks.

Each subscribed symbol keeps a small book (entries by MDEntryID, or by price when the upstream
sends no ids). A snapshot (W) replaces it, an incremental refresh (X) changes it; after each
message the best bid and ask go out as a quote when they changed, the levels as depth (when
more than the top was asked for), and every trade entry as a trade.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from connectors.fix._options import FixOptions
from connectors.fix._orders import to_float
from connectors.fix._wire import Message, Tag, parse_timestamp
from gateway.plugins.records import Depth, Quote, Tick, Trade


@dataclass
class _Book:
    bids: dict[str, tuple[float, float]] = field(default_factory=dict)
    asks: dict[str, tuple[float, float]] = field(default_factory=dict)
    last: tuple[tuple[float, float], tuple[float, float]] | None = None
    """The top of book last sent as a quote."""

    def side(self, entry_type: str) -> dict[str, tuple[float, float]] | None:
        return self.bids if entry_type == "0" else self.asks if entry_type == "1" else None


class MarketBooks:
    """The books of the subscribed symbols."""

    def __init__(self, options: FixOptions) -> None:
        """Work out which symbols to ask for, and how to name them back."""
        self.options = options
        market = options.market_data
        if market is None:
            self.symbols: tuple[str, ...] = ()
        else:
            self.symbols = market.symbols or tuple(options.symbols)
        self._ours = {options.upstream_symbol(s): s for s in self.symbols}
        self._books: dict[str, _Book] = {}
        self._top_only = market is not None and market.depth == 1

    def requests(self) -> list[list[tuple[int, str | int | float]]]:
        """One MarketDataRequest (V) body per symbol: snapshot plus incremental updates."""
        market = self.options.market_data
        if market is None:
            return []
        types = ["0", "1"] + (["2"] if market.trades else [])
        bodies = []
        for symbol in self.symbols:
            body: list[tuple[int, str | int | float]] = [
                (Tag.MDReqID, f"{self.options.cl_ord_id_prefix}md-{symbol}"),
                (Tag.SubscriptionRequestType, "1"),
                (Tag.MarketDepth, str(market.depth)),
                (Tag.MDUpdateType, "1"),
                (Tag.NoMDEntryTypes, str(len(types))),
            ]
            body += [(Tag.MDEntryType, t) for t in types]
            body += [(Tag.NoRelatedSym, "1"), (Tag.Symbol, self.options.upstream_symbol(symbol))]
            bodies.append(body)
        return bodies

    def clear(self) -> None:
        """Forget the books (the link dropped: the next snapshot rebuilds them)."""
        self._books.clear()

    def apply(self, message: Message) -> list[Tick]:
        """The ticks a snapshot (W) or incremental refresh (X) produces."""
        at = parse_timestamp(message.get(Tag.SendingTime)) or time.time()
        at = min(at, time.time())
        touched: dict[str, None] = {}
        ticks: list[Tick] = []
        if message.type == "W":
            symbol = self._ours.get(message.get(Tag.Symbol) or "")
            if symbol is None:
                return []
            book = self._books[symbol] = _Book()
            touched[symbol] = None
            for entry in message.groups(Tag.NoMDEntries, Tag.MDEntryType):
                self._entry(book, symbol, entry, "0", at, ticks)
        else:
            current = message.get(Tag.Symbol)
            for entry in message.groups(Tag.NoMDEntries, Tag.MDUpdateAction):
                current = entry.get(Tag.Symbol, current)
                symbol = self._ours.get(current or "")
                if symbol is None:
                    continue
                book = self._books.setdefault(symbol, _Book())
                touched[symbol] = None
                self._entry(book, symbol, entry, entry.get(Tag.MDUpdateAction, "0"), at, ticks)
        for symbol in touched:
            ticks += self._top(symbol, at)
        return ticks

    def _entry(
        self,
        book: _Book,
        symbol: str,
        entry: dict[int, str],
        action: str,
        at: float,
        ticks: list[Tick],
    ) -> None:
        kind = entry.get(Tag.MDEntryType, "")
        price = to_float(entry.get(Tag.MDEntryPx))
        size = to_float(entry.get(Tag.MDEntrySize)) or 0.0
        if kind == "2":
            if price is not None and action != "2":
                ticks.append(Trade(symbol, at, price, size))
            return
        side = book.side(kind)
        if side is None:
            return
        key = entry.get(Tag.MDEntryID) or ("" if price is None else repr(price))
        if action == "2":
            side.pop(key, None)
        elif price is not None:
            if self._top_only:
                side.clear()  # top of book: each entry is the new best, whatever its key
            side[key] = (price, size)

    def _top(self, symbol: str, at: float) -> list[Tick]:
        book = self._books[symbol]
        if not book.bids or not book.asks:
            return []
        bid = max(book.bids.values())
        ask = min(book.asks.values())
        ticks: list[Tick] = []
        # A message that left the top as it was (a trade, a change deeper in the book) repeats
        # no quote: /streaming would only carry the same line again.
        if book.last != (bid, ask):
            book.last = (bid, ask)
            ticks.append(Quote(symbol, at, bid[0], bid[1], ask[0], ask[1]))
        market = self.options.market_data
        if market is not None and market.depth != 1:
            ticks.append(
                Depth(
                    symbol,
                    at,
                    tuple(sorted(book.bids.values())),
                    tuple(sorted(book.asks.values())),
                )
            )
        return ticks
