"""Building the market-data runtime from the configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.config.model import GatewayConfig
from gateway.market.barstore import BarStore
from gateway.market.pipeline import MarketRuntime, MarketSymbol, PipelineSettings
from gateway.market.sessions import SessionCalendar, parse_session
from gateway.store.database import Database


def build_market(config: GatewayConfig, database: Database, clock: Any) -> MarketRuntime | None:
    """The runtime when feeds are configured, else None (the data endpoints then say so)."""
    if not config.market.feeds:
        return None
    symbols = [
        MarketSymbol(
            name=s.symbol,
            stream_id=s.ticker or s.symbol,
            has_daily=s.has_daily is not False,  # the spec's default is true
            calendar=SessionCalendar(parse_session(s.session_regular), s.timezone),
            tick_size=s.minmovement / s.pricescale,
        )
        for s in config.symbols
    ]
    m = config.market
    settings = PipelineSettings(
        heartbeat_seconds=m.heartbeat.seconds,
        stream_buffer_bytes=m.stream_buffer_bytes,
        backfill_seconds=int(m.backfill.seconds),
        depth_levels=m.depth_levels,
    )
    return MarketRuntime(symbols, BarStore(database), clock, settings)


def feeds_of(config: GatewayConfig, connectors: Mapping[str, Any]) -> list[Any]:
    """The connector instances named by ``market.feeds``."""
    return [connectors[name] for name in config.market.feeds]
