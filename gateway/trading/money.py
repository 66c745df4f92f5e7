"""Prices and money: quotes of instruments, contract multipliers, currency conversion.

P&L of a price move is ``move × qty × pipValue / pipSize``: ``pipValue`` is the value of one
``pipSize`` move for a quantity of one, in the instrument's quote currency (the currency of its
market symbol). Amounts are converted to the account currency with the feed's own FX quote of
the pair (EURUSD for USD → EUR, USDJPY for USD → JPY).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.config.instruments import Instrument
from gateway.market.pipeline import MarketRuntime
from gateway.plugins.records import Quote


@dataclass(frozen=True)
class Priced:
    """An instrument as the trading core prices it."""

    instrument: Instrument
    symbol: str
    currency: str | None

    @property
    def multiplier(self) -> float:
        """Money per unit of price per unit of quantity, in the quote currency."""
        return self.instrument.pip_value / self.instrument.pip_size


class Prices:
    """Latest quotes of instruments and conversions between currencies."""

    def __init__(
        self,
        market: MarketRuntime | None,
        instruments: Mapping[str, Instrument],
        currencies: Mapping[str, str | None],
    ) -> None:
        self.market = market
        self.instruments = {
            name: Priced(inst, inst.symbol or name, currencies.get(inst.symbol or name))
            for name, inst in instruments.items()
        }

    def priced(self, instrument: str) -> Priced:
        """The pricing facts of a configured instrument."""
        return self.instruments[instrument]

    def quote(self, instrument: str) -> Quote | None:
        """The latest quote of an instrument (a last trade price counts as both sides)."""
        if self.market is None:
            return None
        symbol = self.instruments[instrument].symbol if instrument in self.instruments else None
        if symbol is None:
            return None
        latest = self.market.quotes.get(symbol)
        if latest.quote is not None:
            return latest.quote
        if latest.last_price is not None:
            p = latest.last_price
            return Quote(symbol, 0.0, p, 0.0, p, 0.0)
        return None

    def sides(self, instrument: str) -> tuple[float, float] | None:
        """(bid, ask) of an instrument, if known."""
        q = self.quote(instrument)
        return (q.bid, q.ask) if q is not None else None

    def _pair(self, name: str) -> tuple[float, float] | None:
        if self.market is None:
            return None
        symbol = self.market.by_stream_id.get(name)
        if symbol is None:
            return None
        latest = self.market.quotes.get(symbol.name)
        if latest.quote is not None:
            return latest.quote.bid, latest.quote.ask
        if latest.last_price is not None:
            return latest.last_price, latest.last_price
        return None

    def rate(self, source: str | None, target: str | None) -> float:
        """Mid rate converting ``source`` amounts into ``target`` (1 when unknown or equal)."""
        if not source or not target or source == target:
            return 1.0
        direct = self._pair(target + source)  # e.g. EURUSD prices USD per EUR
        if direct is not None and direct[0] > 0 and direct[1] > 0:
            return 2.0 / (direct[0] + direct[1])
        inverse = self._pair(source + target)
        if inverse is not None:
            return (inverse[0] + inverse[1]) / 2.0
        return 1.0

    def to_account(self, instrument: str, amount: float, account_currency: str | None) -> float:
        """An amount in the instrument's quote currency, in the account currency."""
        return amount * self.rate(self.instruments[instrument].currency, account_currency)


def close_price(side: str, bid: float, ask: float) -> float:
    """The price a position of ``side`` closes at now.

    Longs sell at the bid, shorts buy at the ask (market convention; the spec's FAQ wording
    is the other way round).
    """
    return bid if side == "buy" else ask
