"""The tick bus: where every tick of every feed passes once, in order.

In one process it is a synchronous fan-out to a few handlers (bar builder, quote book,
streaming hub), each of which must return at once. The scale-out milestone puts Redis behind
the same interface.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from gateway.plugins.records import Tick

log = logging.getLogger("gateway.market")
Handler = Callable[[Tick], None]


class TickBus:
    """Publish a tick to every handler, in subscription order."""

    def __init__(self) -> None:
        self._handlers: tuple[Handler, ...] = ()
        self._lock = threading.Lock()

    def subscribe(self, handler: Handler) -> None:
        """Add a handler (not thread-safe against concurrent publish order: subscribe first)."""
        with self._lock:
            self._handlers = (*self._handlers, handler)

    def publish(self, tick: Tick) -> None:
        """Deliver ``tick``; a failing handler is logged and does not stop the others."""
        for handler in self._handlers:
            try:
                handler(tick)
            except Exception:
                log.exception("tick handler %r failed on %s", handler, type(tick).__name__)
