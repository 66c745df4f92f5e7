"""A small TradingView data server for the conformance tests, right by default, broken on demand.

It serves ``/authorize``, ``/groups``, ``/symbol_info`` and ``/history`` of two symbols with a
one-minute bar every minute of the last five days (and daily bars), the way the spec asks. Each
``Breakage`` flag makes it wrong in one way TradingView's tests catch.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon

from tests.live_gateway import free_port

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
    daily_close_off: bool = False
    """Daily bars close a tick away from their session's last one-minute bar."""
    closing_stream: bool = False
    """``/streaming`` ends each stream after ``CLOSING_AFTER`` seconds."""

    def as_env(self) -> str:
        """The flags for a served fixture's environment (``FIXTURE_BREAKAGE``)."""
        return ",".join(name for name, value in vars(self).items() if value)

    @classmethod
    def from_env(cls, text: str) -> Breakage:
        """The flags ``as_env`` wrote."""
        return cls(**{name: True for name in text.split(",") if name})


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
        resp.media = _answer(times, step, self.broken)

    def on_get_streaming(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "application/json"
        resp.stream = _stream(self.broken)


TICKS_PER_SECOND = 2
"""The stream's pace: each symbol trades every half second, on the wall clock's half seconds."""
TICKS_PER_MINUTE = MINUTE * TICKS_PER_SECOND
CLOSING_AFTER = 3.0


def _price(tick: int) -> float:
    """The price of the ``tick``-th half second since 1970: it visits all of 100…105 every 11."""
    return 100.0 + (tick * 3 % 11) * 0.5


def _minute_bar(t: int) -> tuple[float, float, float, float, float]:
    """(o, h, l, c, v) of the minute at ``t``: the bar of its 120 streamed trades of size 1."""
    first = t // MINUTE * TICKS_PER_MINUTE
    return (_price(first), 105.0, 100.0, _price(first + TICKS_PER_MINUTE - 1),
            float(TICKS_PER_MINUTE))  # fmt: skip


def _answer(times: list[int], step: int, broken: Breakage) -> dict[str, Any]:
    bars = []
    for t in times:
        if step == MINUTE:
            bars.append(_minute_bar(t))
            continue
        last = min(t + DAY - MINUTE, int(time.time()) // MINUTE * MINUTE)
        close = _minute_bar(last)[3] + (0.5 if broken.daily_close_off else 0.0)
        volume = float((last - t) // MINUTE + 1) * TICKS_PER_MINUTE
        bars.append((_minute_bar(t)[0], 105.0, 100.0, close, volume))
    columns = list(zip(*bars, strict=True)) if bars else [(), (), (), (), ()]
    answer: dict[str, Any] = {"s": "ok", "t": times}
    for key, column in zip(("o", "h", "l", "c", "v"), columns, strict=True):
        answer[key] = list(column)
    return answer


def _stream(broken: Breakage) -> Iterator[bytes]:
    """Trades and quotes of every symbol on each half second; a heartbeat every 5 s."""
    started = time.time()
    tick = int(started * TICKS_PER_SECOND)
    while not broken.closing_stream or time.time() - started < CLOSING_AFTER:
        tick += 1
        time.sleep(max(0.0, tick / TICKS_PER_SECOND - time.time()))
        seconds, price = tick // TICKS_PER_SECOND, _price(tick)
        lines = []
        for symbol in SYMBOLS:
            lines.append({"f": "t", "id": symbol, "p": price, "v": 1.0, "t": seconds})
            lines.append({"f": "q", "id": symbol, "ap": price + 0.5, "bp": price - 0.5,
                          "t": seconds})  # fmt: skip
        if tick % (5 * TICKS_PER_SECOND) == 0:
            lines.append({"heartbeat": seconds})
        yield "".join(json.dumps(line) + "\n" for line in lines).encode()


def create_app(broken: Breakage) -> falcon.App[falcon.Request, falcon.Response]:
    """The fixture server's WSGI app."""
    app = falcon.App()
    resources = _Resources(broken)
    app.add_route("/authorize", resources, suffix="authorize")
    app.add_route("/groups", resources, suffix="groups")
    app.add_route("/symbol_info", resources, suffix="symbol_info")
    app.add_route("/history", resources, suffix="history")
    app.add_route("/streaming", resources, suffix="streaming")
    return app


def app_from_env() -> falcon.App[falcon.Request, falcon.Response]:
    """The app gunicorn serves (``serving_streams``), broken as ``FIXTURE_BREAKAGE`` says."""
    return create_app(Breakage.from_env(os.environ.get("FIXTURE_BREAKAGE", "")))


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


@contextmanager
def serving_streams(broken: Breakage | None = None) -> Iterator[str]:
    """The fixture under gunicorn (HTTP/1.1, chunked streams), in a subprocess; its URL.

    wsgiref speaks HTTP/1.0 only, which the streaming checks rightly refuse.
    """
    port = free_port()
    env = {**os.environ, "FIXTURE_BREAKAGE": (broken or Breakage()).as_env()}
    app = "tests.conformance_server:app_from_env()"
    command = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--threads", "16",
               "--bind", f"127.0.0.1:{port}", app]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        _wait_until_up(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/groups", timeout=5):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the fixture server did not start") from None
            time.sleep(0.2)
