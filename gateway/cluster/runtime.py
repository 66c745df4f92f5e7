"""A process's part in a cluster: its end of the bus and its bid for the feeds' lease."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from gateway.cluster.bus import RedisBus
from gateway.cluster.ownership import Ownership
from gateway.cluster.venue import OwnedVenue
from gateway.config.cluster import Cluster
from gateway.market.pipeline import MarketRuntime
from gateway.store.database import Database
from gateway.store.leases import Lease
from gateway.trading.setup import TradingRuntime

log = logging.getLogger("gateway.cluster")

FEEDS_LEASE = "feeds"


class ClusterRuntime:
    """Connects the process's market pipeline and trading core to the others'."""

    def __init__(self, config: Cluster, database: Database) -> None:
        assert config.redis is not None
        self.bus = RedisBus(config.redis.reveal(), config.channel_prefix)
        lease = Lease(database, f"{config.channel_prefix}:{FEEDS_LEASE}", config.feed_lease.seconds)
        self.ownership = Ownership(lease, self._gain, self._lose)
        self._market: MarketRuntime | None = None
        self._trading: TradingRuntime | None = None
        self._feeds: Sequence[Any] = ()

    def owned_feeds(self, feeds: Sequence[Any]) -> list[Any]:
        """The feeds only the lease's holder runs.

        Every feed but those that elect their own process: ``single_process`` connectors such
        as fix hold a lease of their own.
        """
        return [feed for feed in feeds if not getattr(feed, "single_process", False)]

    def connect(
        self,
        market: MarketRuntime | None,
        trading: TradingRuntime | None,
        feeds: Sequence[Any],
    ) -> None:
        """Route ticks and changes through the bus and start it (before any connector)."""
        self._market, self._trading, self._feeds = market, trading, feeds
        bus = self.bus
        if market is not None:
            market.forward = bus.publish_tick
            bus.on_tick(market.take_remote)
        if trading is not None:
            trading.changes.forward = bus.publish_change
            bus.on_change(trading.changes.touch_remote)
            trading.engine.maintains = lambda: self.ownership.owning
        bus.start()

    def start(self) -> None:
        """Follow the bus, and bid for the feeds (after the other connectors started)."""
        if self._market is not None:
            self._market.start_following()
        self.ownership.start()

    def _venue(self) -> OwnedVenue | None:
        venue = self._trading.engine.venue if self._trading is not None else None
        return venue if isinstance(venue, OwnedVenue) else None

    def _gain(self) -> None:
        for feed in self._feeds:
            feed.start()
        venue = self._venue()
        if venue is not None and self._trading is not None:
            # After the feeds (the venue fills what is marketable against their quotes), and
            # before the back-fill import, which may take seconds: orders wait on the venue.
            venue.gain(self._trading.engine.working_requests())
        if self._market is not None:
            self._market.own(self._feeds)

    def _lose(self) -> None:
        venue = self._venue()
        if venue is not None:
            venue.lose()
        if self._market is not None:
            self._market.disown()
        for feed in self._feeds:
            feed.stop()

    def stop(self) -> None:
        """Hand the feeds over and leave the bus."""
        self.ownership.stop()
        self.bus.stop()
