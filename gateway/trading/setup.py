"""Building managed trading from the configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.config.model import GatewayConfig
from gateway.market.pipeline import MarketRuntime
from gateway.store.database import Database
from gateway.trading.accounting import Accounting
from gateway.trading.engine import TradingEngine
from gateway.trading.events import Changes
from gateway.trading.journal import Journal
from gateway.trading.ledger import Ledger
from gateway.trading.market_view import InstrumentMarket
from gateway.trading.money import Prices
from gateway.trading.validation import Validator


@dataclass
class TradingRuntime:
    """Everything managed trading needs in one process."""

    engine: TradingEngine
    validator: Validator
    ledger: Ledger
    prices: Prices
    accounting: Accounting
    changes: Changes
    view: InstrumentMarket | None
    journal: Journal
    clock: Callable[[], float]

    def attach(self) -> None:
        """Take the venue's reports (before the venue starts)."""
        self.engine.attach()

    def start(self) -> None:
        """Recover and start (after the venue and the market data started)."""
        interval = self.engine_interval
        self.engine.start(interval)

    engine_interval: float = 0.5

    def stop(self) -> None:
        """Stop maintenance and wake streams."""
        self.engine.stop()

    def session_start(self, instrument: str) -> float:
        """Since when final orders of ``instrument`` still belong in ``/orders``.

        The open of the current (or last) trading session, else 24 hours back.
        """
        now = self.clock()
        start = self.view.session_open(instrument, now) if self.view is not None else None
        return start if start is not None else now - 86400


def market_view(
    config: GatewayConfig, market: MarketRuntime | None, clock: Callable[[], float]
) -> InstrumentMarket | None:
    """The venue's view of the market, when there is market data."""
    if market is None:
        return None
    return InstrumentMarket(market, {i.name: i for i in config.instruments}, clock)


def build_trading(
    config: GatewayConfig,
    database: Database,
    market: MarketRuntime | None,
    view: InstrumentMarket | None,
    connectors: dict[str, Any],
    clock: Callable[[], float],
) -> TradingRuntime | None:
    """The runtime when ``trading.venue`` is configured, else None."""
    venue_name = config.trading.venue
    if venue_name is None:
        return None
    instruments = {i.name: i for i in config.instruments}
    currencies = {s.symbol: s.currency for s in config.symbols}
    prices = Prices(market, instruments, currencies)
    accounting = Accounting(prices, instruments)
    ledger = Ledger(database, clock, {a.id: a.initial_balance for a in config.accounts})
    changes = Changes()
    engine = TradingEngine(
        {a.id: a for a in config.accounts},
        ledger,
        prices,
        accounting,
        connectors[venue_name],
        changes,
    )
    return TradingRuntime(
        engine=engine,
        validator=Validator(config, prices, clock),
        ledger=ledger,
        prices=prices,
        accounting=accounting,
        changes=changes,
        view=view,
        journal=Journal(database, clock),
        clock=clock,
        engine_interval=config.trading.stream_interval.seconds,
    )
