"""What the resources share: configuration, store, tokens, throttle, identity, messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.auth.directory import AccountDirectory
from gateway.auth.oauth.setup import OAuthRuntime
from gateway.auth.throttle import Throttle
from gateway.auth.tokens import Clock, TokenStore
from gateway.cluster.runtime import ClusterRuntime
from gateway.config.model import GatewayConfig
from gateway.http.client import Network
from gateway.http.render import Messages
from gateway.market.pipeline import MarketRuntime
from gateway.metrics import Metrics
from gateway.plugins.roles import Identity
from gateway.store.database import Database
from gateway.trading.mapped import MappedTrading
from gateway.trading.setup import TradingRuntime


@dataclass
class Services:
    """One per application (per worker); built by :func:`gateway.app.build`."""

    config: GatewayConfig
    database: Database
    tokens: TokenStore
    throttle: Throttle
    identity: Identity
    messages: Messages
    clock: Clock
    proxies: list[Network]
    connectors: dict[str, Any] = field(default_factory=dict)
    market: MarketRuntime | None = None
    """The market-data pipeline, when the configuration names a feed."""
    trading: TradingRuntime | None = None
    """Managed trading, when the configuration names a venue."""
    mapped: MappedTrading | None = None
    """Mapped mode: the trading reads served from the broker's database (``trading.mapped``)."""
    cluster: ClusterRuntime | None = None
    """The Redis bus and the feeds' lease, when the configuration has ``cluster.redis``."""
    oauth: OAuthRuntime | None = None
    """OAuth2 (login page, token endpoint), when the configuration has ``auth.oauth``."""
    metrics: Metrics = field(default_factory=Metrics)
    """Prometheus metrics of this process (``/metrics``)."""
    directory: AccountDirectory = field(init=False)
    """The users' accounts: configured, or made from account profiles."""

    def __post_init__(self) -> None:
        """Index the configured accounts and profiles."""
        self.directory = AccountDirectory(self.config.accounts, self.config.account_profiles)
