"""What the gateway does differently when a gevent worker serves it.

Under gunicorn's gevent worker every request and every long-lived stream is a greenlet, and the
standard library is patched so that sockets, locks and sleeps switch greenlets instead of
blocking. Pure-Python code therefore needs no change. Work that holds the CPU in C for a long
time would still stop every greenlet of the worker meanwhile: a password hash (Argon2id: tens of
milliseconds by design) is the one such call on a request's path, so it runs on gevent's pool of
native threads (the hash releases the GIL), and the worker goes on serving while it is computed.

Long stretches of Python work are the other such case: a greenlet that computes for seconds
(importing a feed's back-fill, reading a recording, a burst of ticks) holds its worker that long,
and everything else of the worker waits: requests, streams, the relay of other processes' orders,
and the renewal of the leases it owns. Such loops call :func:`pause` as they go.

Nothing here imports gevent unless gevent has already patched the process.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def under_gevent() -> bool:
    """Whether gevent has patched this process's threads (a gevent worker, after its fork)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


PAUSE_SECONDS = 0.02
"""Longest a loop that calls :func:`pause` holds a gevent worker before letting others run."""

_held_since = time.monotonic()


def pause() -> None:
    """In a long loop: under gevent, let the worker's other greenlets run now and then.

    It yields when no call of it has yielded for ``PAUSE_SECONDS``, so a loop may call it on
    every round cheaply. Elsewhere it does nothing: threads are switched by the interpreter.
    """
    global _held_since
    now = time.monotonic()
    if now - _held_since < PAUSE_SECONDS or not under_gevent():
        return
    import gevent

    # idle(), not sleep(0): sleep(0) runs only what is ready now, and greenlets waiting for a
    # timer or a socket would wait on; idle() lets the loop poll and fire them first.
    gevent.idle()
    _held_since = time.monotonic()


def off_hub(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)``; under gevent on a native thread, so no greenlet waits.

    Called from a native thread already (gevent's pool itself), it runs in place.
    """
    if not under_gevent():
        return function(*args, **kwargs)
    from gevent._hub_local import get_hub_if_exists

    hub = get_hub_if_exists()  # None on a native thread of the pool: no greenlet waits there
    if hub is None:
        return function(*args, **kwargs)
    result: T = hub.threadpool.apply(function, args, kwargs)
    return result
