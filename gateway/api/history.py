"""``GET /history`` (TradingView's data servers)."""

from __future__ import annotations

import math
from typing import ClassVar

import falcon

from gateway.errors import ApiError
from gateway.market.history import HistoryRequest, answer, parse_resolution
from gateway.market.pipeline import MarketRuntime
from gateway.services import Services

# TradingView asks for at most 2500 bars by countback; more is a client bug, not a feature.
_MAX_COUNTBACK = 100_000


def market_of(services: Services) -> MarketRuntime:
    """The market runtime, or the error a server without market data gives."""
    if services.market is None:
        raise ApiError("no_market_data")
    return services.market


def _integer(req: falcon.Request, name: str, required: bool = True) -> int | None:
    raw = req.get_param(name)
    if raw is None or raw.strip() == "":
        if required:
            raise ApiError("missing_field", field=name)
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiError("invalid_field", field=name, reason="not a number") from None
    if not math.isfinite(value) or abs(value) > 1e13:
        raise ApiError("invalid_field", field=name, reason="out of range")
    return math.floor(value)


def spec_tuple(version: str) -> tuple[int, int, int]:
    """``"1.4.14"`` → ``(1, 4, 14)`` (validated at load)."""
    major, minor, patch = (int(p) for p in version.split("."))
    return major, minor, patch


class HistoryResource:
    """Bars from the store, per spec 1.4.14 (or the legacy answers of older spec versions)."""

    auth: ClassVar[str | None] = "data"

    def __init__(self, services: Services) -> None:
        self._s = services
        self._spec = spec_tuple(services.config.broker.spec)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """History (spec operation ``getHistory``)."""
        market = market_of(self._s)
        name = req.get_param("symbol") or ""
        if not name:
            raise ApiError("missing_field", field="symbol")
        symbol = market.by_stream_id.get(name)
        if symbol is None:
            raise ApiError("unknown_symbol", symbol=name)
        raw_resolution = req.get_param("resolution") or ""
        if not raw_resolution:
            raise ApiError("missing_field", field="resolution")
        resolution = parse_resolution(raw_resolution)
        if resolution is None:
            raise ApiError("unsupported_resolution", resolution=raw_resolution)
        countback = _integer(req, "countback", required=False)
        end = _integer(req, "to")
        start = _integer(req, "from", required=countback is None)
        assert end is not None
        if countback is not None and not 0 < countback <= _MAX_COUNTBACK:
            raise ApiError(
                "invalid_field", field="countback", reason=f"must be between 1 and {_MAX_COUNTBACK}"
            )
        if countback is None and start is not None and start > end:
            raise ApiError("invalid_range", start=start, end=end)
        request = HistoryRequest(
            symbol.name, resolution, start if start is not None else end, end, countback
        )
        resp.media = answer(market.store, symbol.calendar, request, self._s.clock(), self._spec)
