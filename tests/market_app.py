"""A demo gateway whose market data comes from a fake feed the test drives."""

from __future__ import annotations

import dataclasses
import datetime as dt

from gateway.app import Gateway, build
from gateway.config import GatewayConfig
from gateway.config.market import Market
from gateway.config.model import ConnectorSpec
from gateway.market.pipeline import MarketRuntime
from gateway.plugins.records import Bar
from gateway.plugins.registry import Registry
from gateway.plugins.testing import FakeMarketData, NoOptions
from tests.conftest import FakeClock

# Wednesday 18 November 2026, 15:00 UTC = 10:00 in New York: forex, crypto, the stock and the
# future all trade.
WEDNESDAY_15H = int(dt.datetime(2026, 11, 18, 15, 0, tzinfo=dt.UTC).timestamp())


def with_fake_feed(config: GatewayConfig, **market: object) -> GatewayConfig:
    """The configuration with its feed replaced by a FakeMarketData named ``feed``."""
    return dataclasses.replace(
        config,
        connectors={"feed": ConnectorSpec("fake_market_data", NoOptions())},
        market=dataclasses.replace(Market(feeds=("feed",)), **market),  # type: ignore[arg-type]
    )


def fake_registry() -> Registry:
    registry = Registry()
    registry.register(FakeMarketData)
    return registry


def build_market_gateway(
    config: GatewayConfig, clock: FakeClock, backfill: list[Bar] | None = None
) -> tuple[Gateway, FakeMarketData, MarketRuntime]:
    gateway = build(with_fake_feed(config), clock=clock, registry=fake_registry())
    feed = gateway.services.connectors["feed"]
    assert isinstance(feed, FakeMarketData)
    feed.bars = list(backfill or [])
    gateway.start()
    market = gateway.services.market
    assert market is not None
    return gateway, feed, market


def minute_bars(symbol: str, start: int, count: int, price: float = 100.0) -> list[Bar]:
    """``count`` consecutive minute bars from ``start`` with distinct values."""
    return [
        Bar(
            symbol,
            start + 60 * i,
            price + i,
            price + i + 0.5,
            price + i - 0.5,
            price + i + 0.25,
            10 + i,
        )
        for i in range(count)
    ]
