"""The streaming baseline: a trivial chunked stream served exactly as the gateway is served.

``python -m bench.market_echo --bind 127.0.0.1:8082`` runs gunicorn with the gateway's own
settings (:data:`gateway.serving.GUNICORN_DEFAULTS`, one worker as ``gateway serve`` uses with
market data) and a bare Falcon app with one route:

``GET /stream?start=S&rate=R&count=K``
    A heartbeat line at once, then line *k* (shaped like a /streaming trade, its size ``k``) at
    wall time ``S + k / R`` for every ``k < K`` not yet past when the connection began; then the
    response ends. Each connection's own thread sleeps until each line is due, so with *N*
    connections *N* threads wake for every line, as the gateway's do.

``GET /stream?idle=1``
    A heartbeat line at once and then one every 5 s, forever: an idle stream, for the memory
    baseline.

The latency of these lines (arrival minus schedule) is what the machine, gunicorn and the client
cost by themselves; the gateway's /streaming latency is reported as a ratio to it.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

import falcon

from bench.hello import HelloApplication, gunicorn_options
from gateway.serving import GUNICORN_DEFAULTS

PATH = "/stream"
"""The one route of the baseline app."""

HEARTBEAT_SECONDS = 5.0
"""As the gateway's default ``market.heartbeat``."""

SYMBOLS = 4
"""Lines cycle through this many symbol ids, as the synthetic tick file does."""


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def scheduled_lines(start: float, rate: float, count: int) -> Iterator[bytes]:
    """Line ``k`` at ``start + k / rate``, from the first one not yet due; sleeps in between."""
    first = max(0, math.ceil((time.time() - start) * rate))
    for k in range(first, count):
        due = start + k / rate
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        yield _line({"f": "t", "id": f"B{k % SYMBOLS}", "p": 100.0, "s": k, "t": math.floor(due)})


def stream(start: float, rate: float, count: int) -> Iterator[bytes]:
    """The body of a scheduled stream: a heartbeat (so the headers go out), then the lines."""
    yield _line({"heartbeat": math.floor(time.time())})
    yield from scheduled_lines(start, rate, count)


def idle_stream() -> Iterator[bytes]:
    """The body of an idle stream: heartbeats only, never ending."""
    while True:
        yield _line({"heartbeat": math.floor(time.time())})
        time.sleep(HEARTBEAT_SECONDS)


class StreamResource:
    """``GET /stream``: a scheduled or an idle stream of JSON lines."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Stream lines on schedule (or heartbeats only with ``idle=1``)."""
        resp.content_type = falcon.MEDIA_JSON
        resp.set_header("Cache-Control", "no-store")
        if req.get_param_as_bool("idle"):
            resp.stream = idle_stream()
            return
        start = req.get_param_as_float("start", required=True)
        rate = req.get_param_as_float("rate", required=True, min_value=0.001)
        count = req.get_param_as_int("count", required=True, min_value=0)
        assert start is not None and rate is not None and count is not None
        resp.stream = stream(start, rate, count)


def create_app() -> falcon.App[falcon.Request, falcon.Response]:
    """A bare Falcon app: no middleware, one route."""
    app = falcon.App()
    app.add_route(PATH, StreamResource())
    return app


class EchoApplication(HelloApplication):
    """gunicorn running the baseline stream app (the hello app's settings, another app)."""

    def load(self) -> falcon.App[falcon.Request, falcon.Response]:
        """Build the app; called in each worker after fork."""
        return create_app()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the baseline stream app until gunicorn is told to stop."""
    parser = argparse.ArgumentParser(prog="python -m bench.market_echo", description=__doc__)
    parser.add_argument("--bind", default=GUNICORN_DEFAULTS["bind"], help="HOST:PORT")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    args = parser.parse_args(argv)
    EchoApplication(gunicorn_options(args.bind, args.workers)).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
