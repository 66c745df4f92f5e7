"""The Redis bus: ticks and account changes fanned out to every gateway process.

A process publishes what its own feeds and its own trading core produce; every process
(itself included: Redis echoes, and the origin tells it to skip its own) delivers what the
others published to its local pipeline and streams. Redis publish/subscribe keeps the order of
one publisher's messages, which is all the pipeline needs: the ticks of a feed come from the one
process that runs it.

Publishing never blocks the feed: messages queue for a publisher thread that sends them in
batches (one round trip per batch). Delivery is at most once: a process cut off from Redis
misses what was published meanwhile. Ticks are live data (bars are built and stored by the
feed's owner alone) and trading streams re-read the store on their regular re-check, so a
missed message delays, never loses, what a user sees.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable

import redis

from gateway.cluster.wire import BadMessageError, decode, encode_change, encode_tick
from gateway.plugins.records import Tick
from gateway.store.leases import process_identity

log = logging.getLogger("gateway.cluster")

TickHandler = Callable[[Tick], None]
ChangeHandler = Callable[[str | None], None]

QUEUE_LIMIT = 100_000
"""Messages waiting for Redis before new ones are dropped (and counted)."""
BATCH = 500
"""Most messages sent in one round trip."""
RECONNECT_MAX = 5.0
"""Longest pause between two attempts to reach Redis."""


class RedisBus:
    """One process's end of the bus."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        origin: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.origin = origin or process_identity()
        self.ticks_channel = f"{prefix}:ticks"
        self.changes_channel = f"{prefix}:changes"
        self._url = url
        self._clock = clock
        self._client: redis.Redis | None = None
        self._tick_handlers: tuple[TickHandler, ...] = ()
        self._change_handlers: tuple[ChangeHandler, ...] = ()
        self._outbox: queue.Queue[tuple[str, bytes] | None] = queue.Queue(QUEUE_LIMIT)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.subscribed = False
        """Whether the subscription is up (delivery works)."""
        self.subscriptions = 0
        """How often the subscription was made: more than once means Redis was lost."""
        self.lag: float | None = None
        """Seconds between the last delivered message's publication and its delivery."""
        self.received = 0
        self.refused = 0
        self.dropped = 0
        """Messages not published: the queue was full or Redis refused them."""
        self._last_warning = 0.0

    # -- wiring ------------------------------------------------------------------------------

    def on_tick(self, handler: TickHandler) -> None:
        """Deliver other processes' ticks to ``handler`` (subscribe before :meth:`start`)."""
        self._tick_handlers = (*self._tick_handlers, handler)

    def on_change(self, handler: ChangeHandler) -> None:
        """Deliver other processes' account changes to ``handler``."""
        self._change_handlers = (*self._change_handlers, handler)

    @property
    def client(self) -> redis.Redis:
        """The connection pool, made on first use (after gunicorn's fork)."""
        if self._client is None:
            # Timeouts: a Redis that stops answering is noticed instead of hanging a thread.
            # The name shows each process's connections in Redis's CLIENT LIST.
            self._client = redis.Redis.from_url(
                self._url,
                socket_connect_timeout=3,
                socket_timeout=10,
                health_check_interval=15,
                client_name=f"gateway:{self.origin}".replace(" ", "_"),
            )
        return self._client

    # -- publishing --------------------------------------------------------------------------

    def publish_tick(self, tick: Tick) -> None:
        """Queue a tick of this process's feeds for the others."""
        self._queue(self.ticks_channel, encode_tick(self.origin, self._clock(), tick))

    def publish_change(self, account: str | None) -> None:
        """Queue a change of ``account`` (None: any account) for the others."""
        self._queue(self.changes_channel, encode_change(self.origin, self._clock(), account))

    def _queue(self, channel: str, data: bytes) -> None:
        try:
            self._outbox.put_nowait((channel, data))
        except queue.Full:
            self.dropped += 1
            self._warn("the bus's queue is full (Redis too slow or away): a message was dropped")

    def _send(self) -> None:
        outbox = self._outbox
        while True:
            item = outbox.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < BATCH:
                try:
                    more = outbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._flush(batch)
                    return
                batch.append(more)
            self._flush(batch)

    def _flush(self, batch: list[tuple[str, bytes]]) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            for channel, data in batch:
                pipe.publish(channel, data)
            pipe.execute()
        except redis.RedisError as exc:
            self.dropped += len(batch)
            self._warn(f"cannot publish to Redis ({type(exc).__name__}): {len(batch)} dropped")

    # -- delivering --------------------------------------------------------------------------

    def _listen(self) -> None:
        pause = 0.2
        while not self._stopping.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self.ticks_channel, self.changes_channel)
                self.subscribed = True
                self.subscriptions += 1
                log.info("bus: subscribed to %s and %s", self.ticks_channel, self.changes_channel)
                pause = 0.2
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and message.get("type") == "message":
                        self._deliver(message["data"])
            except (redis.RedisError, OSError) as exc:
                if self.subscribed:
                    log.warning("bus: lost Redis (%s); reconnecting", type(exc).__name__)
                else:
                    self._warn(f"bus: cannot reach Redis ({type(exc).__name__}); retrying")
            finally:
                self.subscribed = False
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
            self._stopping.wait(pause)
            pause = min(pause * 2, RECONNECT_MAX)

    def _deliver(self, raw: bytes) -> None:
        try:
            envelope = decode(raw)
        except BadMessageError as exc:
            self.refused += 1
            self._warn(f"bus: refused a message: {exc}")
            return
        if envelope.origin == self.origin:
            return
        self.received += 1
        self.lag = max(self._clock() - envelope.sent, 0.0)
        if envelope.tick is not None:
            handlers: tuple[Callable[..., None], ...] = self._tick_handlers
            argument: object = envelope.tick
        else:
            handlers, argument = self._change_handlers, envelope.account
        for handler in handlers:
            try:
                handler(argument)
            except Exception:
                log.exception("bus: handler %r failed", handler)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start publishing and delivering (threads of their own)."""
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._send, name="bus-send", daemon=True),
            threading.Thread(target=self._listen, name="bus-listen", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Send what is queued, stop delivering and close the connections."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):
            self._outbox.put(None, timeout=1)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._client is not None:
            self._client.close()
            self._client = None

    def health(self) -> tuple[bool, str]:
        """For ``/readyz``: whether this process receives the others' messages."""
        if not self.subscribed:
            return False, "not connected to Redis"
        lag = "no message yet" if self.lag is None else f"last message {self.lag * 1000:.0f} ms"
        return True, f"subscribed; {lag}"

    def _warn(self, text: str) -> None:
        # A Redis outage produces one such line per message: one every 10 s is enough.
        now = time.monotonic()
        if now - self._last_warning >= 10:
            self._last_warning = now
            log.warning("%s", text)
