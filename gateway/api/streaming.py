"""``GET /streaming``: the endless, chunked market-data feed for TradingView's servers."""

from __future__ import annotations

import socket
from typing import ClassVar

import falcon

from gateway.api.history import market_of
from gateway.services import Services


def _dropper(req: falcon.Request) -> socket.socket | None:
    sock = req.env.get("gunicorn.socket")
    return sock if isinstance(sock, socket.socket) else None


class StreamingResource:
    """Trades, quotes, daily bars and heartbeats, one JSON object per line, never closed."""

    auth: ClassVar[str | None] = "data"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Streaming (spec operation ``streaming``)."""
        market = market_of(self._s)
        sock = _dropper(req)

        def drop() -> None:
            # A dropped client is usually blocked in a socket write: shutting the socket down
            # makes that write fail at once and frees the worker thread.
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)

        sub = market.hub.subscribe(on_drop=drop)
        resp.content_type = falcon.MEDIA_JSON
        # Proxies (nginx) must pass every chunk on at once; nobody may cache a live feed.
        resp.set_header("X-Accel-Buffering", "no")
        resp.set_header("Cache-Control", "no-store")
        resp.stream = market.hub.messages(sub, market.settings.heartbeat_seconds)
