"""The gunicorn worker classes ``gateway serve`` runs: gevent (the default) and threads.

Both are gunicorn's own, with two changes:

* a stopping worker (SIGTERM, SIGINT, or an old worker after a reload) ends its streams cleanly
  at once (:mod:`gateway.http.streams`) instead of holding them until ``graceful_timeout`` and
  then cutting them;
* the gevent worker lets other greenlets run before each request. A keep-alive client that
  sends its next request as soon as it has the answer would otherwise find it already read, and
  its greenlet would serve it without ever switching: one busy connection would hold the worker
  while the others wait (seen as p99 latencies of a second under load).

Why gevent is the default, with the figures: docs/operations.md, "Process model".
"""

from __future__ import annotations

import warnings
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventWorker as _GeventWorker
from gunicorn.workers.gthread import ThreadWorker as _ThreadWorker

from gateway.http.streams import OPEN_STREAMS


class _EndingStreams:
    """A worker that ends its streams when told to stop (before gunicorn's own handling)."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM: end the streams (at once under gevent), then stop accepting."""
        OPEN_STREAMS.end_all()
        super().handle_exit(sig, frame)  # type: ignore[misc]

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGINT, SIGQUIT: stop now, the streams ended first."""
        OPEN_STREAMS.end_all()
        super().handle_quit(sig, frame)  # type: ignore[misc]


class ThreadWorker(_EndingStreams, _ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker: a thread per request in progress, each stream holds one.

    Its streams end at their next line (message or heartbeat) once it stops.
    """


class GeventWorker(_EndingStreams, _GeventWorker):  # type: ignore[misc]
    """gunicorn's gevent worker: every connection a greenlet, thousands of idle streams."""

    def patch(self) -> None:
        """Patch the standard library for gevent, after the fork.

        The master imported ``ssl`` (it loads and checks the configuration before forking) but
        opened no TLS connection and made no SSL context, which is what patching late would
        break; gevent's warning about it says nothing an operator can act on.
        """
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Monkey-patching ssl after ssl")
            super().patch()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        """Serve one request, after letting the other greenlets run."""
        gevent.sleep(0)
        return super().handle_request(listener_name, req, sock, addr)
