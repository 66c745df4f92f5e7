"""``GET /quotes``, ``GET /depth`` and ``GET /stream/quotes`` (the trading half's prices)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import falcon
import orjson

from gateway.api.accounts import account_for
from gateway.api.history import market_of
from gateway.config.accounts import Account
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


def _account(services: Services, req: falcon.Request) -> Account:
    account = req.get_param("accountId")
    if not account:
        raise ApiError("missing_field", field="accountId")
    principal: Principal = req.context.principal
    return account_for(services, principal, account)


def _sides(market: MarketRuntime, name: str) -> tuple[float, float] | None:
    """(bid, ask) of a symbol: its quote, else its last known price for both."""
    symbol = market.by_stream_id.get(name)
    latest = market.quotes.get(symbol.name) if symbol else Latest()
    if latest.quote is not None:
        return latest.quote.bid, latest.quote.ask
    if latest.last_price is not None:
        return latest.last_price, latest.last_price  # only history known (market closed)
    return None


class _Quoting:
    def __init__(self, services: Services) -> None:
        self._s = services
        self._pip = {i.name: i.pip_value for i in services.config.instruments}
        self._currency = {s.symbol: s.currency for s in services.config.symbols}

    def _pip_values(
        self, market: MarketRuntime, symbol: str, pip: float, account: Account
    ) -> tuple[float, float]:
        """(buy, sell) pip values in the account's currency.

        ``pipValue`` is configured in the symbol's quote currency. When the account's currency
        differs, it is converted with the feed's own FX quote of the pair (e.g. USD → EUR with
        EURUSD), buy at one side of that quote and sell at the other, so the two differ by its
        spread; without such a quote both are the configured value, as the spec allows when the
        broker cannot differentiate.
        """
        quoted, target = self._currency.get(symbol), account.currency
        if not quoted or not target or quoted == target:
            return pip, pip
        direct = _sides(market, target + quoted)  # e.g. EURUSD for a USD value, EUR account
        if direct is not None and direct[0] > 0:
            return pip / direct[0], pip / direct[1]
        inverse = _sides(market, quoted + target)  # e.g. USDJPY for a USD value, JPY account
        if inverse is not None:
            return pip * inverse[1], pip * inverse[0]
        return pip, pip

    def quote(self, market: MarketRuntime, name: str, account: Account) -> dict[str, Any]:
        """The spec's Quotes item for a requested name (``n`` exactly as requested)."""
        sides = _sides(market, name)
        if sides is None:
            return {"s": "error", "n": name, "v": {"ask": 0, "bid": 0}}
        value: dict[str, Any] = {"ask": sides[1], "bid": sides[0]}
        symbol = market.by_stream_id.get(name)
        pip = self._pip.get(name) or (self._pip.get(symbol.name) if symbol else None)
        if pip is not None:
            buy, sell = self._pip_values(market, symbol.name if symbol else name, pip, account)
            value["buyPipValue"], value["sellPipValue"] = buy, sell
        return {"s": "ok", "n": name, "v": value}


class QuotesResource(_Quoting):
    """Latest bid and ask of the requested symbols."""

    auth: ClassVar[str | None] = "trading"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Quotes (spec operation ``getQuotes``)."""
        account = _account(self._s, req)
        names = _symbols(req)
        market = market_of(self._s)
        ok(resp, [self.quote(market, n, account) for n in names])


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
        account = _account(self._s, req)
        names = _symbols(req)
        market = market_of(self._s)
        resp.content_type = falcon.MEDIA_JSON
        resp.set_header("X-Accel-Buffering", "no")
        resp.set_header("Cache-Control", "no-store")
        resp.stream = self._lines(market, names, account)

    def _lines(self, market: MarketRuntime, names: list[str], account: Account) -> Iterator[bytes]:
        ping = market.settings.heartbeat_seconds
        version = market.quotes.version
        sent = {n: self.quote(market, n, account) for n in names}
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
                item = self.quote(market, name, account)
                if item != sent[name]:
                    sent[name] = item
                    changed.append(item)
            if changed:
                yield _line(changed)
                last_sent = time.monotonic()


def _line(message: object) -> bytes:
    return orjson.dumps(message) + b"\n"
