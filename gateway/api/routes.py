"""Every route of the API in one table: served by the app, listed by ``gateway check``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from gateway.api.account_state import (
    BalancesResource,
    LeverageResource,
    StateResource,
    TrackLatencyResource,
)
from gateway.api.accounts import AccountsResource, InstrumentsResource
from gateway.api.authorization import AuthorizeResource, LogoutResource
from gateway.api.broker_config import ConfigResource, MappingResource
from gateway.api.health import HealthResource, MetricsResource, ReadyResource
from gateway.api.history import HistoryResource
from gateway.api.market_data import DepthResource, QuotesResource, StreamQuotesResource
from gateway.api.oauth import (
    AuthorizationEndpoint,
    LogoResource,
    LogoutEndpoint,
    TokenEndpoint,
)
from gateway.api.orders import (
    ExecutionsResource,
    OrderResource,
    OrdersHistoryResource,
    OrdersResource,
    PreviewOrderResource,
)
from gateway.api.permissions import GroupsResource, PermissionsResource
from gateway.api.positions import (
    IndividualPositionResource,
    IndividualPositionsResource,
    NetPositionResource,
    NetPositionsResource,
    PositionResource,
    PositionsResource,
)
from gateway.api.streaming import StreamingResource
from gateway.api.symbol_info import SymbolInfoResource
from gateway.api.trading_streams import (
    StreamIndividualPositionsResource,
    StreamNetPositionsResource,
    StreamOrdersResource,
    StreamPositionsResource,
    StreamStateResource,
)
from gateway.services import Services


@dataclass(frozen=True)
class Route:
    """A path, its spec operations by method, and the resource serving it."""

    path: str
    operations: tuple[tuple[str, str], ...]
    resource: Callable[[Services], object]

    @property
    def auth(self) -> str | None:
        """public, trading or data — read from the resource class."""
        target = self.resource.func if isinstance(self.resource, partial) else self.resource
        value: str | None = getattr(target, "auth", None)
        return value


ROUTES: tuple[Route, ...] = (
    Route("/authorize", (("POST", "authorize"),), AuthorizeResource),
    Route("/logout", (("POST", "logout"),), LogoutResource),
    Route("/config", (("GET", "getConfiguration"),), ConfigResource),
    Route("/mapping", (("GET", "getMapping"),), MappingResource),
    Route("/accounts", (("GET", "getAccounts"),), AccountsResource),
    Route("/accounts/{account_id}/instruments", (("GET", "getInstruments"),), InstrumentsResource),
    Route("/accounts/{account_id}/state", (("GET", "getState"),), StateResource),
    Route("/accounts/{account_id}/stream/state", (("GET", "streamState"),), StreamStateResource),
    Route(
        "/accounts/{account_id}/orders",
        (("GET", "getOrders"), ("POST", "placeOrder")),
        OrdersResource,
    ),
    Route("/accounts/{account_id}/stream/orders", (("GET", "streamOrders"),), StreamOrdersResource),
    Route(
        "/accounts/{account_id}/orders/{order_id}",
        (("PUT", "modifyOrder"), ("DELETE", "cancelOrder")),
        OrderResource,
    ),
    Route("/accounts/{account_id}/previewOrder", (("POST", "previewOrder"),), PreviewOrderResource),
    Route("/accounts/{account_id}/positions", (("GET", "getPositions"),), PositionsResource),
    Route(
        "/accounts/{account_id}/stream/positions",
        (("GET", "streamPositions"),),
        StreamPositionsResource,
    ),
    Route(
        "/accounts/{account_id}/positions/{position_id}",
        (("PUT", "modifyPosition"), ("DELETE", "closePosition")),
        PositionResource,
    ),
    Route(
        "/accounts/{account_id}/netPositions", (("GET", "getNetPositions"),), NetPositionsResource
    ),
    Route(
        "/accounts/{account_id}/stream/netPositions",
        (("GET", "streamNetPositions"),),
        StreamNetPositionsResource,
    ),
    Route(
        "/accounts/{account_id}/netPositions/{net_position_id}",
        (("DELETE", "closeNetPosition"),),
        NetPositionResource,
    ),
    Route(
        "/accounts/{account_id}/individualPositions",
        (("GET", "getIndividualPositions"),),
        IndividualPositionsResource,
    ),
    Route(
        "/accounts/{account_id}/stream/individualPositions",
        (("GET", "streamIndividualPositions"),),
        StreamIndividualPositionsResource,
    ),
    Route(
        "/accounts/{account_id}/individualPositions/{position_id}",
        (("PUT", "modifyIndividualPosition"), ("DELETE", "closeIndividualPosition")),
        IndividualPositionResource,
    ),
    Route("/accounts/{account_id}/balances", (("GET", "getBalances"),), BalancesResource),
    Route("/accounts/{account_id}/executions", (("GET", "getExecutions"),), ExecutionsResource),
    Route(
        "/accounts/{account_id}/ordersHistory",
        (("GET", "getOrdersHistory"),),
        OrdersHistoryResource,
    ),
    Route(
        "/accounts/{account_id}/getLeverage",
        (("POST", "getLeverage"),),
        partial(LeverageResource, action="get"),
    ),
    Route(
        "/accounts/{account_id}/setLeverage",
        (("POST", "setLeverage"),),
        partial(LeverageResource, action="set"),
    ),
    Route(
        "/accounts/{account_id}/previewLeverage",
        (("POST", "previewLeverage"),),
        partial(LeverageResource, action="preview"),
    ),
    Route("/accounts/{account_id}/trackLatency", (("POST", "trackLatency"),), TrackLatencyResource),
    Route("/groups", (("GET", "getGroups"),), GroupsResource),
    Route("/symbol_info", (("GET", "getSymbolInfo"),), SymbolInfoResource),
    Route("/permissions", (("GET", "getPermissions"),), PermissionsResource),
    Route("/history", (("GET", "getHistory"),), HistoryResource),
    Route("/streaming", (("GET", "streaming"),), StreamingResource),
    Route("/quotes", (("GET", "getQuotes"),), QuotesResource),
    Route("/stream/quotes", (("GET", "streamQuotes"),), StreamQuotesResource),
    Route("/depth", (("GET", "getDepth"),), DepthResource),
)

OAUTH_ROUTES: tuple[Route, ...] = (
    Route(
        "/oauth/authorize",
        (("GET", "OAuth2 authorization"), ("POST", "login form")),
        AuthorizationEndpoint,
    ),
    Route("/oauth/token", (("POST", "OAuth2 token"),), TokenEndpoint),
    Route("/oauth/logout", (("GET", "OAuth2 logout"),), LogoutEndpoint),
    Route("/oauth/logo", (("GET", "login page logo"),), LogoResource),
)
"""The OAuth2 endpoints (not spec operations), served when ``auth.oauth`` is configured."""

PROBE_ROUTES: tuple[Route, ...] = (
    Route("/healthz", (("GET", "liveness probe"),), HealthResource),
    Route("/readyz", (("GET", "readiness probe"),), ReadyResource),
    Route("/metrics", (("GET", "Prometheus metrics"),), MetricsResource),
)
"""Operators' probes (not spec operations): served at the root, whatever ``base_path`` is."""
