"""Many concurrent chunked-stream readers in one thread, and tick-to-client latency.

:class:`StreamClients` holds any number of ``GET`` streams on raw sockets and reads them all from
one thread with :mod:`selectors` (epoll): one thread per connection would spend the shared CPUs on
switching and the GIL. Each received chunk's lines are kept with the wall time of the ``recv``
that completed them; JSON is parsed only after the measurement, so the client does as little as
possible while the server runs. It still shares the machine's CPUs with the server under test.
"""

from __future__ import annotations

import json
import math
import selectors
import socket
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.market_config import tick_of

RECV_BYTES = 256 * 1024
DONE_INTERVAL = 0.02


@dataclass
class StreamConnection:
    """One streaming response being read: HTTP/1.1 headers, then chunked JSON lines."""

    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)
    partial: bytearray = field(default_factory=bytearray)
    status: int | None = None
    chunked: bool = False
    ended: bool = False
    error: str | None = None
    lines: list[tuple[float, bytes]] = field(default_factory=list)
    """Every complete line with the wall time of the ``recv`` that completed it."""

    def feed(self, data: bytes, at: float) -> None:
        """Take bytes received at wall time ``at``."""
        if self.ended:
            return  # the trailer after the last chunk
        buf = self.buf
        buf += data
        if self.status is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1").split("\r\n")
            self.status = int(head[0].split()[1])
            self.chunked = any(
                h.lower().replace(" ", "") == "transfer-encoding:chunked" for h in head[1:]
            )
            del buf[: end + 4]
        if not self.chunked:
            self._lines(bytes(buf), at)
            buf.clear()
            return
        pos = 0
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            if size == 0:
                self.ended = True
                pos = len(buf)
                break
            end = eol + 2 + size
            if len(buf) < end + 2:
                break
            self._lines(bytes(buf[eol + 2 : end]), at)
            pos = end + 2
        del buf[:pos]

    def _lines(self, payload: bytes, at: float) -> None:
        if self.partial:
            payload = bytes(self.partial) + payload
            self.partial.clear()
        parts = payload.split(b"\n")
        self.partial += parts.pop()
        self.lines.extend((at, p) for p in parts if p)


class StreamClients:
    """``count`` streams of ``GET path`` on ``host:port``, read by :meth:`pump`."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.host, self.port, self.path = host, port, path
        self.connections: list[StreamConnection] = []
        self._selector = selectors.DefaultSelector()
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n"
        ).encode()

    def __enter__(self) -> StreamClients:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def open(self, count: int, timeout: float = 10.0) -> None:
        """Open ``count`` more connections and send each its request."""
        for _ in range(count):
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(self._request)
            sock.setblocking(False)
            conn = StreamConnection(sock)
            self.connections.append(conn)
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def started(self) -> int:
        """Connections that have received at least one line."""
        return sum(1 for c in self.connections if c.lines)

    def ended(self) -> int:
        """Connections whose response ended (or failed)."""
        return sum(1 for c in self.connections if c.ended or c.error)

    def pump(self, until: float, done: Callable[[], bool] | None = None) -> None:
        """Read whatever arrives until wall time ``until``, or until ``done()`` is true (asked
        at most every ``DONE_INTERVAL`` seconds, so that it may be costly)."""
        select, clock = self._selector.select, time.time
        check = 0.0
        while True:
            now = clock()
            remaining = until - now
            if remaining <= 0:
                return
            if done is not None and now >= check:
                if done():
                    return
                check = now + DONE_INTERVAL
            for key, _ in select(min(remaining, 0.1)):
                conn: StreamConnection = key.data
                try:
                    data = conn.sock.recv(RECV_BYTES)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    conn.error = type(exc).__name__
                    self._selector.unregister(conn.sock)
                    continue
                at = clock()
                if not data:
                    conn.ended = True
                    self._selector.unregister(conn.sock)
                    continue
                conn.feed(data, at)

    def close(self) -> None:
        """Close every connection."""
        for conn in self.connections:
            if not (conn.ended or conn.error):
                self._selector.unregister(conn.sock)
            conn.sock.close()
        self.connections.clear()
        self._selector.close()


def percentile(ordered: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of sorted values (0 for none)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_stats(values_ms: Sequence[float]) -> dict[str, float]:
    """p50, p99, max and mean, in milliseconds, rounded."""
    ordered = sorted(values_ms)
    return {
        "p50": round(percentile(ordered, 50), 3),
        "p99": round(percentile(ordered, 99), 3),
        "max": round(ordered[-1], 3) if ordered else 0.0,
        "mean": round(statistics.fmean(ordered), 3) if ordered else 0.0,
    }


@dataclass
class PhaseResult:
    """What N connections received of the ticks ``first <= k < end`` of one stream."""

    server: str
    connections: int
    first: int
    end: int
    received: int
    missing: int
    identical: bool
    complete: bool
    problems: list[str]
    latencies_ms: list[float]

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (latencies summarized)."""
        return {
            "server": self.server,
            "connections": self.connections,
            "ticks_per_connection": self.end - self.first,
            "received": self.received,
            "missing": self.missing,
            "identical": self.identical,
            "complete": self.complete,
            "problems": self.problems,
            "latency_ms": latency_stats(self.latencies_ms),
        }


def analyse(
    server: str,
    clients: StreamClients,
    *,
    start: float,
    rate: float,
    first: int,
    end: int,
) -> PhaseResult:
    """Latency (arrival minus ``start + k / rate``) of every tick ``first <= k < end`` received,
    and whether every connection received the same, complete sequence."""
    expected = list(range(first, end))
    sequences: list[list[int]] = []
    latencies: list[float] = []
    problems: list[str] = []
    for number, conn in enumerate(clients.connections):
        if conn.status != 200 or conn.error:
            problems.append(f"connection {number}: status {conn.status}, error {conn.error}")
        seen: list[int] = []
        for at, line in conn.lines:
            message: Any = json.loads(line)
            k = tick_of(message) if isinstance(message, dict) else None
            if k is None or not first <= k < end:
                continue
            seen.append(k)
            latencies.append((at - (start + k / rate)) * 1000)
        sequences.append(seen)
    identical = all(s == sequences[0] for s in sequences)
    complete = identical and bool(sequences) and sequences[0] == expected
    received = sum(len(s) for s in sequences)
    missing = sum(len(set(expected) - set(s)) for s in sequences)
    if not complete:
        problems.append(
            f"{missing} expected tick(s) missing over {len(sequences)} connection(s); "
            f"sequences identical: {identical}"
        )
    return PhaseResult(
        server, len(sequences), first, end, received, missing, identical, complete,
        problems[:10], latencies,
    )  # fmt: skip


def run_baseline(
    host: str,
    port: int,
    path: str,
    connections: int,
    *,
    rate: float,
    seconds: float,
    lead: float = 0.5,
    grace: float = 1.0,
) -> PhaseResult:
    """The baseline app's scheduled stream (see :mod:`bench.market_echo`) to N connections."""
    start = time.time() + lead
    count = max(1, int(seconds * rate))
    query = f"{path}?start={start:.6f}&rate={rate:g}&count={count}"
    with StreamClients(host, port, query) as clients:
        clients.open(connections)
        clients.pump(start + count / rate + grace, lambda: clients.ended() == connections)
        return analyse("baseline", clients, start=start, rate=rate, first=0, end=count)


def run_gateway(
    host: str,
    port: int,
    connections: int,
    *,
    start: float,
    rate: float,
    seconds: float,
    total_ticks: int,
    grace: float = 1.0,
    settle: float = 0.2,
) -> PhaseResult:
    """N connections to the gateway's /streaming while its replay (anchored at ``start``) plays.

    The measured window begins at the replay's start, or once every connection has received its
    first heartbeat (plus ``settle``) if that is later, and lasts ``seconds``.
    """
    with StreamClients(host, port, "/streaming") as clients:
        clients.open(connections)
        clients.pump(time.time() + 15.0, lambda: clients.started() == connections)
        window = max(start, time.time() + settle)
        first = min(total_ticks - 1, math.ceil((window - start) * rate))
        end = min(total_ticks, first + max(1, int(seconds * rate)))
        last_due = start + (end - 1) / rate
        clients.pump(
            last_due + grace, lambda: time.time() > last_due and _all_reached(clients, end)
        )
        return analyse("gateway", clients, start=start, rate=rate, first=first, end=end)


def _last_tick(conn: StreamConnection) -> int | None:
    for _, line in reversed(conn.lines):
        message: Any = json.loads(line)
        k = tick_of(message) if isinstance(message, dict) else None
        if k is not None:
            return k
    return None


def _all_reached(clients: StreamClients, end: int) -> bool:
    """Whether every connection has received tick ``end - 1`` (ticks arrive in order)."""
    for conn in clients.connections:
        k = _last_tick(conn)
        if k is None or k < end - 1:
            return False
    return True
