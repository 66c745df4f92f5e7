"""``GET /config`` and ``GET /mapping``."""

from __future__ import annotations

from typing import ClassVar

import falcon

from gateway.api._wire import PerLocale, to_wire
from gateway.http.render import locale_of, ok
from gateway.services import Services


class ConfigResource:
    """The broker-wide UI configuration, localized."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        ui = services.config.ui
        self._rendered = PerLocale[None](lambda _, locale: to_wire(ui, locale))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Configuration (spec operation ``getConfiguration``)."""
        ok(resp, self._rendered.get(None, locale_of(req)))


class MappingResource:
    """Broker instruments and their TradingView symbols; a bare object, no envelope."""

    auth: ClassVar[str | None] = None

    def __init__(self, services: Services) -> None:
        self._body = {
            "symbols": [
                {"f": [i.name], "s": i.tradingview_symbol}
                for i in services.config.instruments
                if i.tradingview_symbol
            ],
            "fields": ["brokerSymbol"],
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Mapping (spec operation ``getMapping``)."""
        resp.media = self._body
