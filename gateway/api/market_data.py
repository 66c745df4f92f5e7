"""``GET /quotes``, ``GET /depth`` and ``GET /stream/quotes`` (the trading half's prices)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import falcon

from gateway.api.accounts import account_for
from gateway.api.history import market_of
from gateway.errors import ApiError
from gateway.http.render import ok
from gateway.market.pipeline import MarketRuntime
from gateway.market.quotes import Latest
from gateway.plugins.records import Principal
from gateway.services import Services

_MAX_SYMBOLS = 500


def _symbols(req: falcon.Request) -> list[str]:
    raw = req.get_param("symbols") or ""
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names:
        raise ApiError("missing_field", field="symbols")
    if len(names) > _MAX_SYMBOLS:
        raise ApiError("invalid_field", field="symbols", reason=f"more than {_MAX_SYMBOLS}")
    return names


def _account(services: Services, req: falcon.Request) -> None:
    account = req.get_param("accountId")
    if not account:
        raise ApiError("missing_field", field="accountId")
    principal: Principal = req.context.principal
    account_for(services, principal, account)


class _Quoting:
    def __init__(self, services: Services) -> None:
        self._s = services
        self._pip = {i.name: i.pip_value for i in services.config.instruments}

    def quote(self, market: MarketRuntime, name: str) -> dict[str, Any]:
        """The spec's Quotes item for a requested name (``n`` exactly as requested)."""
        symbol = market.by_stream_id.get(name)
        latest = market.quotes.get(symbol.name) if symbol else Latest()
        if latest.quote is not None:
            bid, ask = latest.quote.bid, latest.quote.ask
        elif latest.last_price is not None:
            bid = ask = latest.last_price  # only history known (e.g. market closed since start)
        else:
            return {"s": "error", "n": name, "v": {"ask": 0, "bid": 0}}
        value: dict[str, Any] = {"ask": ask, "bid": bid}
        pip = self._pip.get(name) or (self._pip.get(symbol.name) if symbol else None)
        if pip is not None:
            # The instrument's pipValue is configured in the account currency; without a rate
            # source per account, buy and sell get the same value, as the spec allows.
            value["buyPipValue"] = value["sellPipValue"] = pip
        return {"s": "ok", "n": name, "v": value}


class QuotesResource(_Quoting):
    """Latest bid and ask of the requested symbols."""

    auth: ClassVar[str | None] = "trading"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Quotes (spec operation ``getQuotes``)."""
        _account(self._s, req)
        names = _symbols(req)
        market = market_of(self._s)
        ok(resp, [self.quote(market, n) for n in names])


class DepthResource:
    """Order book levels: replayed depth, or synthetic levels around the latest quote."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Depth (spec operation ``getDepth``)."""
        _account(self._s, req)
        name = req.get_param("symbol") or ""
        if not name:
            raise ApiError("missing_field", field="symbol")
        market = market_of(self._s)
        symbol = market.by_stream_id.get(name)
        if symbol is None:
            raise ApiError("unknown_symbol", symbol=name)
        latest = market.quotes.get(symbol.name)
        if latest.depth is not None:
            asks = sorted([list(level) for level in latest.depth.asks])
            bids = sorted([list(level) for level in latest.depth.bids])
        elif latest.quote is not None:
            q, step, n = latest.quote, symbol.tick_size, market.settings.depth_levels
            asks = [[_round(q.ask + i * step, step), q.ask_size * (i + 1)] for i in range(n)]
            bids = [[_round(q.bid - i * step, step), q.bid_size * (i + 1)] for i in range(n)]
            bids.reverse()  # the spec wants both sides ascending by price
        else:
            asks, bids = [], []
        ok(resp, {"asks": asks, "bids": bids})


def _round(price: float, step: float) -> float:
    return round(round(price / step) * step, 10)


class StreamQuotesResource(_Quoting):
    """Quotes as a stream: a snapshot, then changed quotes, a ping after 5 s of silence."""

    auth: ClassVar[str | None] = "trading"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Stream quotes (spec operation ``streamQuotes``)."""
        _account(self._s, req)
        names = _symbols(req)
        market = market_of(self._s)
        resp.content_type = falcon.MEDIA_JSON
        resp.set_header("X-Accel-Buffering", "no")
        resp.set_header("Cache-Control", "no-store")
        resp.stream = self._lines(market, names)

    def _lines(self, market: MarketRuntime, names: list[str]) -> Iterator[bytes]:
        ping = market.settings.heartbeat_seconds
        version = market.quotes.version
        sent = {n: self.quote(market, n) for n in names}
        yield _line(list(sent.values()))
        last_sent = time.monotonic()
        while True:
            quiet = time.monotonic() - last_sent
            if quiet >= ping:
                yield _line({"s": "ok"})
                last_sent = time.monotonic()
                continue
            new_version = market.quotes.wait_for_change(version, ping - quiet)
            if new_version == version:
                continue
            version = new_version
            changed = []
            for name in names:
                item = self.quote(market, name)
                if item != sent[name]:
                    sent[name] = item
                    changed.append(item)
            if changed:
                yield _line(changed)
                last_sent = time.monotonic()


def _line(message: object) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"
