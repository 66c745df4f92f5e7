"""Fan-out of the tick bus to every /streaming connection, serialized once per message.

Every connection gets the same bytes in the same order. Each has a bounded buffer: a client that
stops reading is dropped when its buffer is full, so it can neither slow the others (the fan-out
only appends) nor grow memory without bound.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Mapping

import orjson

from gateway.market.builder import Ohlcv
from gateway.plugins.records import Quote, Tick, Trade

log = logging.getLogger("gateway.market")

COALESCE_SECONDS = 0.001
"""A stream that sent less than this ago waits this long before it takes more."""


def _line(message: Mapping[str, object]) -> bytes:
    return orjson.dumps(message) + b"\n"


class Subscriber:
    """One connection's buffer of serialized messages."""

    def __init__(self, limit_bytes: int, on_drop: Callable[[], None] | None = None) -> None:
        self._limit = limit_bytes
        self._queue: deque[bytes] = deque()
        self._size = 0
        self._cond = threading.Condition()
        self._on_drop = on_drop
        self.dropped = False

    def offer(self, data: bytes) -> bool:
        """Append a message; False (and the subscriber is dropped) when the buffer is full."""
        with self._cond:
            if self.dropped:
                return False
            if self._size + len(data) > self._limit:
                self.dropped = True
                self._queue.clear()
                self._size = 0
                self._cond.notify_all()
            else:
                self._queue.append(data)
                self._size += len(data)
                self._cond.notify_all()
                return True
        if self._on_drop is not None:
            with contextlib.suppress(OSError):  # the socket may already be gone
                self._on_drop()
        return False

    def take(self, timeout: float) -> list[bytes] | None:
        """Everything buffered (waiting up to ``timeout``); None once dropped."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._queue) or self.dropped, timeout)
            if self.dropped:
                return None
            items = list(self._queue)
            self._queue.clear()
            self._size = 0
            return items

    @property
    def buffered_bytes(self) -> int:
        """Bytes waiting to be sent."""
        with self._cond:
            return self._size


class StreamHub:
    """Bus handler that turns ticks into /streaming messages for every subscriber.

    ``stream_id(symbol)`` is the id TradingView knows the symbol by (its ``ticker`` if it has
    one); ``daily(symbol)`` tells whether daily-bar messages are sent for it.
    """

    def __init__(
        self,
        stream_id: Callable[[str], str],
        clock: Callable[[], float],
        limit_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self._stream_id = stream_id
        self._clock = clock
        self._limit = limit_bytes
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    def subscribe(self, on_drop: Callable[[], None] | None = None) -> Subscriber:
        """A new connection's subscriber: it receives everything published from now on."""
        sub = Subscriber(self._limit, on_drop)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a connection."""
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def connections(self) -> int:
        """Open /streaming connections."""
        with self._lock:
            return len(self._subscribers)

    def on_tick(self, tick: Tick) -> None:
        """Bus handler: trades and quotes (depth is not part of /streaming)."""
        t = math.floor(tick.time)
        sid = self._stream_id(tick.symbol)
        if isinstance(tick, Trade):
            self.publish({"f": "t", "id": sid, "p": tick.price, "s": tick.size, "t": t})
        elif isinstance(tick, Quote):
            self.publish({
                "f": "q", "id": sid, "t": t, "ap": tick.ask, "as": tick.ask_size,
                "bp": tick.bid, "bs": tick.bid_size,
            })  # fmt: skip

    def on_daily(self, symbol: str, day_time: int, bar: Ohlcv) -> None:
        """A daily-bar update (sent when a minute of the trading day closes)."""
        self.publish({
            "f": "d", "id": self._stream_id(symbol), "o": bar.open, "h": bar.high,
            "l": bar.low, "c": bar.close, "v": bar.volume, "t": day_time,
        })  # fmt: skip

    def publish(self, message: Mapping[str, object]) -> None:
        """Serialize once, offer to everyone, drop whoever is full."""
        data = _line(message)
        with self._lock:
            subscribers = list(self._subscribers)
        full = [sub for sub in subscribers if not sub.offer(data)]
        if full:
            with self._lock:
                self._subscribers.difference_update(full)
            log.warning("dropped %d /streaming client(s) that stopped reading", len(full))

    def heartbeat(self) -> bytes:
        """The heartbeat line, stamped now."""
        return _line({"heartbeat": math.floor(self._clock())})

    def messages(self, sub: Subscriber, heartbeat_seconds: float) -> Generator[bytes, None, None]:
        """The body of one /streaming response.

        A heartbeat at once (so that the headers go out), then messages as they come, and a
        heartbeat after every quiet interval; it ends when the subscriber is dropped.

        Every tick wakes every stream, and a stream that wrote each tick on its own would pay a
        write (a syscall and a chunk) per tick: under gevent, where nothing else batches them,
        that capped a busy feed's intake at a third. A stream that wrote less than
        ``COALESCE_SECONDS`` ago therefore waits that long first and sends what came meanwhile
        in one write; a quiet stream sends each tick at once.
        """
        sent = 0.0
        try:
            yield self.heartbeat()
            while True:
                if time.monotonic() - sent < COALESCE_SECONDS:
                    time.sleep(COALESCE_SECONDS)
                items = sub.take(heartbeat_seconds)
                if items is None:
                    return
                sent = time.monotonic()
                yield b"".join(items) if items else self.heartbeat()
        finally:
            self.unsubscribe(sub)
