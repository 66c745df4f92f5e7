"""Every route of the API in one table: served by the app, listed by ``gateway check``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.api.accounts import AccountsResource, InstrumentsResource
from gateway.api.authorization import AuthorizeResource, LogoutResource
from gateway.api.broker_config import ConfigResource, MappingResource
from gateway.api.history import HistoryResource
from gateway.api.market_data import DepthResource, QuotesResource, StreamQuotesResource
from gateway.api.permissions import GroupsResource, PermissionsResource
from gateway.api.streaming import StreamingResource
from gateway.api.symbol_info import SymbolInfoResource
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
        value: str | None = getattr(self.resource, "auth", None)
        return value


ROUTES: tuple[Route, ...] = (
    Route("/authorize", (("POST", "authorize"),), AuthorizeResource),
    Route("/logout", (("POST", "logout"),), LogoutResource),
    Route("/config", (("GET", "getConfiguration"),), ConfigResource),
    Route("/mapping", (("GET", "getMapping"),), MappingResource),
    Route("/accounts", (("GET", "getAccounts"),), AccountsResource),
    Route("/accounts/{account_id}/instruments", (("GET", "getInstruments"),), InstrumentsResource),
    Route("/groups", (("GET", "getGroups"),), GroupsResource),
    Route("/symbol_info", (("GET", "getSymbolInfo"),), SymbolInfoResource),
    Route("/permissions", (("GET", "getPermissions"),), PermissionsResource),
    Route("/history", (("GET", "getHistory"),), HistoryResource),
    Route("/streaming", (("GET", "streaming"),), StreamingResource),
    Route("/quotes", (("GET", "getQuotes"),), QuotesResource),
    Route("/stream/quotes", (("GET", "streamQuotes"),), StreamQuotesResource),
    Route("/depth", (("GET", "getDepth"),), DepthResource),
)
