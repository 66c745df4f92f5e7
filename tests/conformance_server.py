"""A small TradingView data server for the conformance tests, right by default, broken on demand.

It serves ``/authorize``, ``/groups``, ``/symbol_info`` and ``/history`` of two symbols with a
one-minute bar every minute of the last five days (and daily bars), the way the spec asks. Each
``Breakage`` flag makes it wrong in one way TradingView's tests catch.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon

MINUTE, DAY = 60, 86400
SYMBOLS = ("AAA", "BBB")


@dataclass
class Breakage:
    """What the server gets wrong."""

    duplicate_tokens: bool = False
    """``/authorize`` hands out the same token twice in a row."""
    bar_after_to: bool = False
    """``/history`` adds the bar after ``to`` (an off-by-one on the window's end)."""
    lower_case_exchange: bool = False
    """``/symbol_info`` names the exchange in lower case."""
    html_groups: bool = False
    """``/groups`` answers an HTML page (a proxy's error page, say), with a script in it."""


def _bars(start: int, end: int, step: int) -> list[int]:
    now = int(time.time())
    first = now // step * step - 5 * DAY
    last = now // step * step
    lo = max(first, -(-start // step) * step)
    return list(range(lo, min(end, last) + 1, step))


class _Resources:
    def __init__(self, broken: Breakage) -> None:
        self.broken = broken
        self._tokens = itertools.count()
        self._last = ""

    def on_post_authorize(self, req: falcon.Request, resp: falcon.Response) -> None:
        n = next(self._tokens)
        token = self._last if self.broken.duplicate_tokens and n % 2 else secrets.token_hex(8)
        self._last = token
        resp.media = {
            "s": "ok",
            "d": {"access_token": token, "expiration": int(time.time()) + 3600},
        }

    def on_get_groups(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.broken.html_groups:
            resp.content_type = falcon.MEDIA_HTML
            resp.text = "<html><script>alert('x')</script>Bad gateway</html>"
            return
        resp.media = {"s": "ok", "d": {"groups": [{"id": "fixture_all"}]}}

    def on_get_symbol_info(self, req: falcon.Request, resp: falcon.Response) -> None:
        exchange = "fixture" if self.broken.lower_case_exchange else "FIXTURE"
        resp.media = {
            "s": "ok", "symbol": list(SYMBOLS), "description": [f"Symbol {s}" for s in SYMBOLS],
            "currency": "USD", "exchange-listed": exchange, "exchange-traded": exchange,
            "minmovement": 1, "pricescale": 100, "type": "crypto", "timezone": "Etc/UTC",
            "session-regular": "24x7",
        }  # fmt: skip

    def on_get_history(self, req: falcon.Request, resp: falcon.Response) -> None:
        start, end = int(req.get_param("from") or 0), int(req.get_param("to") or 0)
        step = DAY if (req.get_param("resolution") or "1").endswith("D") else MINUTE
        countback = req.get_param_as_int("countback")
        if countback:
            times = _bars(0, end, step)[-countback:]
        else:
            times = _bars(start, end, step)
            after = end // step * step + step
            if self.broken.bar_after_to and after <= time.time() - MINUTE and times:
                times.append(after)
        resp.media = _answer(times)


def _answer(times: list[int]) -> dict[str, Any]:
    price = [100.0 + (t // MINUTE) % 7 for t in times]
    return {"s": "ok", "t": times, "o": price, "h": price, "l": price, "c": price,
            "v": [1.0] * len(times)}  # fmt: skip


def create_app(broken: Breakage) -> falcon.App[falcon.Request, falcon.Response]:
    """The fixture server's WSGI app."""
    app = falcon.App()
    resources = _Resources(broken)
    app.add_route("/authorize", resources, suffix="authorize")
    app.add_route("/groups", resources, suffix="groups")
    app.add_route("/symbol_info", resources, suffix="symbol_info")
    app.add_route("/history", resources, suffix="history")
    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on the test's output."""


@contextmanager
def serving(broken: Breakage | None = None) -> Iterator[str]:
    """The fixture server on a free loopback port, in a thread; its URL."""
    server: WSGIServer = make_server(
        "127.0.0.1", 0, create_app(broken or Breakage()), handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
