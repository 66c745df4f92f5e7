"""The long-lived responses a worker holds, so that a stopping worker can end them cleanly.

A stream (``/streaming``, ``/stream/quotes``, the trading streams) never ends by itself. When a
worker stops (SIGTERM, or the old workers after a reload), gunicorn would wait for its streams up
to ``graceful_timeout`` and then cut them: the client sees a broken chunked body, not an end.
Instead the worker asks :data:`OPEN_STREAMS` to end every stream: each response then finishes
with HTTP's last chunk and its connection closes, and TradingView reconnects (through the load
balancer, to a worker that is not stopping).

Under the gevent worker a stream waiting for its next message is woken at once; under the
threaded worker it ends at its next message or heartbeat (5 s by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import falcon

from gateway.cooperative import under_gevent


class _Ended(Exception):  # noqa: N818 - a signal thrown into a waiting stream, not an error
    """Thrown into a stream's greenlet while it waits, to end it."""


class OpenStreams:
    """Every stream body of this process, and the way to end them all."""

    def __init__(self) -> None:
        self.ending = False
        """Set by :meth:`end_all`: every stream ends, and new ones end after their first line."""
        self._waiting: dict[object, Any] = {}  # stream -> its greenlet, while it waits
        # (How many are open is the metrics' gauge gateway_open_streams: not counted twice.)

    def follow(self, stream: Iterable[bytes]) -> Iterator[bytes]:
        """``stream``'s lines, until it ends or :meth:`end_all` ends it."""
        source = iter(stream)
        key = object()
        greenlet = _current_greenlet()
        try:
            while True:
                if greenlet is not None:
                    self._waiting[key] = greenlet
                try:
                    line = next(source)
                except (StopIteration, _Ended):
                    return
                finally:
                    self._waiting.pop(key, None)
                yield line
                if self.ending:
                    return
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # the stream's own clean-up (unsubscribing) runs now

    def end_all(self) -> None:
        """End every stream: at once where it waits under gevent, else at its next line.

        Safe to call from a signal handler: it sets a flag and, under gevent, asks the hub to
        wake the waiting streams (the hub throws into each only if it still waits then, never
        while it writes).
        """
        self.ending = True
        if not under_gevent():
            return
        import gevent

        loop = gevent.get_hub().loop
        for key, greenlet in list(self._waiting.items()):
            loop.run_callback(self._wake, key, greenlet)

    def _wake(self, key: object, greenlet: Any) -> None:
        waiting = self._waiting.get(key)
        if waiting is not None and waiting is greenlet:  # still waiting: not writing
            waiting.throw(_Ended())


def _current_greenlet() -> Any:
    if not under_gevent():
        return None
    import gevent

    return gevent.getcurrent()


OPEN_STREAMS = OpenStreams()
"""This process's streams (a worker serves one application)."""


class StreamsMiddleware:
    """Registers every stream body with :data:`OPEN_STREAMS`."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        """Wrap a generator body (a stream that stays open)."""
        if isinstance(resp.stream, Iterator):
            resp.stream = OPEN_STREAMS.follow(resp.stream)
