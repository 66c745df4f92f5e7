"""The application factory: configuration in, Falcon WSGI app out. Nothing runs at import."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon
import falcon.media
import orjson

from gateway.api.routes import OAUTH_ROUTES, PROBE_ROUTES, ROUTES, Route
from gateway.auth.oauth.setup import build_oauth
from gateway.auth.throttle import Throttle
from gateway.auth.tokens import Clock, TokenStore, new_token
from gateway.auth.users import ConfiguredUsers
from gateway.cluster.runtime import ClusterRuntime
from gateway.cluster.venue import OwnedVenue
from gateway.config.listed import add_listed, log_problems
from gateway.config.model import GatewayConfig
from gateway.http.client import parse_networks
from gateway.http.cors import CorsMiddleware
from gateway.http.middleware import AUTH_KINDS, AuthMiddleware, ContextMiddleware
from gateway.http.render import Messages, install_error_handlers
from gateway.http.streams import StreamsMiddleware
from gateway.market.setup import build_market, feeds_of
from gateway.metrics import MetricsMiddleware, Sampler
from gateway.plugins.registry import Registry
from gateway.plugins.roles import ConnectorContext, Identity, MarketView
from gateway.services import Services
from gateway.store.database import Database
from gateway.store.relay import Relay
from gateway.trading.mapped import mapped_trading
from gateway.trading.setup import build_trading, market_view

log = logging.getLogger("gateway")


@dataclass
class Gateway:
    """A built gateway: the WSGI app, what it serves and what it holds open."""

    app: falcon.App[falcon.Request, falcon.Response]
    services: Services
    routes: tuple[Route, ...]
    listing_problems: tuple[str, ...] = ()
    sampler: Sampler | None = None
    """Symbols and instruments a connector listed but that could not be served (logged)."""

    def start(self) -> None:
        """Start connectors and the market-data pipeline.

        Called after fork: each worker builds and starts its own gateway.
        """
        market, cluster = self.services.market, self.services.cluster
        feeds = feeds_of(self.services.config, self.services.connectors)
        if market is not None:
            market.attach(feeds)  # before the feeds start, so that no tick is missed
        if self.services.trading is not None:
            self.services.trading.attach()  # likewise for the venue's first reports
        owned = cluster.owned_feeds(feeds) if cluster is not None else []
        if cluster is not None:
            cluster.connect(market, self.services.trading, owned)
        for connector in self.services.connectors.values():
            if not any(connector is feed for feed in owned):  # those start with the lease
                connector.start()
        if cluster is not None:
            cluster.start()
        elif market is not None:
            market.start(feeds)
        if self.services.trading is not None:
            self.services.trading.start()  # after the venue: it hands the venue its orders
        self.sampler = Sampler(sampling(self.services))
        self.sampler.start()

    def close(self) -> None:
        """Stop the pipeline and the connectors and close the store's connections.

        Each step runs even if one before it failed: a stopping process must still give up the
        leases it holds, so that another takes over at once rather than when they expire.
        """
        services = self.services
        steps: list[Callable[[], None]] = []
        if self.sampler is not None:
            steps.append(self.sampler.stop)
        if services.mapped is not None:
            steps.append(services.mapped.changes.close)
        if services.trading is not None:
            steps.append(services.trading.stop)
        if services.cluster is not None:
            steps.append(services.cluster.stop)
        if services.market is not None:
            steps.append(services.market.stop)
        steps += [connector.stop for connector in services.connectors.values()]
        steps.append(services.database.dispose)
        for step in steps:
            try:
                step()
            except Exception:
                log.exception(
                    "stopping the gateway: %s failed", getattr(step, "__qualname__", step)
                )


def sampling(services: Services) -> Callable[[], None]:
    """What the metrics sampler copies.

    The last tick's time and delay, the bus's counts and lag, upstream sessions' state.
    """
    metrics, seen = services.metrics, {"received": 0, "refused": 0, "dropped": 0}

    def sample() -> None:
        # Copied here, not on every tick: the pipeline keeps them anyway, and a metric written
        # per tick would cost the feed's hot path a shared-memory write per worker.
        market = services.market
        if market is not None and market.received_at is not None:
            metrics.last_tick.set(market.received_at)
            metrics.tick_delay.set(market.delay)
        cluster = services.cluster
        if cluster is not None:
            bus = cluster.bus
            for outcome in seen:
                count = getattr(bus, outcome)
                if count > seen[outcome]:
                    metrics.bus_messages.labels(outcome).inc(count - seen[outcome])
                    seen[outcome] = count
            if bus.lag is not None:
                metrics.bus_lag.set(bus.lag)
        for name, connector in services.connectors.items():
            logged_on = getattr(connector, "logged_on", None)
            if isinstance(logged_on, bool):
                metrics.upstream_logged_on.labels(name).set(1 if logged_on else 0)

    return sample


def build_connectors(
    config: GatewayConfig,
    registry: Registry,
    market: MarketView | None = None,
    store: Database | None = None,
) -> dict[str, Any]:
    """Instantiate every configured connector (cheap: nothing opens before start())."""
    built: dict[str, Any] = {}
    for name, spec in config.connectors.items():
        cls = registry.get(spec.type)
        context = ConnectorContext(name, config.base_dir, built, market, store)
        built[name] = cls(spec.options, context)
    venue = config.trading.venue
    clustered = config.cluster.redis is not None and store is not None
    if clustered and venue is not None and not getattr(built[venue], "single_process", False):
        assert store is not None
        # Worked by the feeds' owner alone (gateway/cluster/venue.py); a fresh instance is
        # made from the same options each time this process becomes the owner.
        spec = config.connectors[venue]
        cls = registry.get(spec.type)
        context = ConnectorContext(venue, config.base_dir, built, market, store)
        relay = Relay(store, f"{config.cluster.channel_prefix}:venue:{venue}")
        made = built[venue]  # never started: it tells what the venue can do
        built[venue] = OwnedVenue(venue, lambda: cls(spec.options, context), relay, made)
    return built


def build(
    config: GatewayConfig,
    *,
    clock: Clock = time.time,
    registry: Registry | None = None,
    token_generator: Callable[[], str] = new_token,
    listed: bool = True,
) -> Gateway:
    """Wire a gateway from a validated configuration.

    With ``listed``, the symbols and instruments that connectors list from the broker's tables
    are read first and served with the YAML's (``gateway check`` without ``--connect`` builds
    without: it connects to nothing).
    """
    registry = Registry.discover() if registry is None else registry
    problems: list[str] = []
    if listed:
        config, problems = add_listed(config, registry)
        log_problems(problems)
    database = Database(config.store.url.reveal())
    market = build_market(config, database, clock)
    view = market_view(config, market, clock)
    connectors = build_connectors(config, registry, view, database)
    identity: Identity = (
        connectors[config.auth.identity] if config.auth.identity else ConfiguredUsers(config.users)
    )
    tokens = TokenStore(database, clock, token_generator)
    services = Services(
        config=config,
        database=database,
        tokens=tokens,
        throttle=Throttle(database, config.auth.login_throttle, clock),
        identity=identity,
        messages=Messages(config.messages),
        clock=clock,
        proxies=parse_networks(config.server.trusted_proxies),
        connectors=connectors,
        market=market,
        trading=build_trading(config, database, market, view, connectors, clock),
        oauth=build_oauth(config, database, tokens, identity, clock),
        mapped=mapped_trading(config, connectors, clock, market, database),
        cluster=ClusterRuntime(config.cluster, database) if config.cluster.redis else None,
    )
    app: falcon.App[falcon.Request, falcon.Response] = falcon.App(
        middleware=[
            MetricsMiddleware(services.metrics),  # first: it times everything the others do
            ContextMiddleware(),
            StreamsMiddleware(),  # a stopping worker ends the streams it holds
            CorsMiddleware(config.server.cors_origins, config.server.cors_max_age),
            AuthMiddleware(config, tokens, identity),
        ],
        cors_enable=False,
    )
    app.req_options.strip_url_path_trailing_slash = True
    compact = falcon.media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = compact
    install_error_handlers(app, services.messages)
    routes = ROUTES + (OAUTH_ROUTES if services.oauth else ()) + PROBE_ROUTES
    for route in routes:
        if route.auth not in AUTH_KINDS:
            # Checked once here, so a resource with a typo in `auth` fails at startup.
            raise TypeError(f"{route.resource!r}: auth must be one of {AUTH_KINDS}")
        prefix = "" if route in PROBE_ROUTES else config.server.base_path
        app.add_route(prefix + route.path, route.resource(services))
    return Gateway(app=app, services=services, routes=routes, listing_problems=tuple(problems))


_started: list[Gateway] = []
"""The gateways :func:`create_app` started in this process (a gunicorn worker: one)."""


def create_app(config: GatewayConfig, **kwargs: Any) -> falcon.App[falcon.Request, falcon.Response]:
    """Build and start a gateway; return its WSGI application (:func:`close_started` stops it)."""
    gateway = build(config, **kwargs)
    gateway.start()
    _started.append(gateway)
    return gateway.app


def close_started() -> None:
    """Close every gateway :func:`create_app` started here: a worker's last act when it exits.

    Feeds, sessions and leases stop cleanly, and the leases are released at once, so that the
    cluster's next owner takes over now, not when they expire.
    """
    while _started:
        _started.pop().close()
