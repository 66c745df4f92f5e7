"""Memory of idle /streaming connections: the gunicorn worker's RSS with 0, N, M streams open.

The worker is found as the child process of the gunicorn master (the process the bench started);
its resident set size is ``VmRSS`` in ``/proc/PID/status``. Connections are opened in steps and
held open (their heartbeats read) while the RSS is sampled.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.market_stream import StreamClients

PROC = Path("/proc")


def processes() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command name, the fields after it) of every process ``/proc/*/stat`` shows."""
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        # The command name is in parentheses and may contain spaces: fields follow the last ")".
        command = text[text.find("(") + 1 : text.rfind(")")]
        yield int(stat.parent.name), command, text[text.rfind(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """The ids of ``pid``'s child processes."""
    return sorted(p for p, _, fields in processes() if len(fields) > 1 and int(fields[1]) == pid)


def worker_pid(master: int, timeout: float = 10.0) -> int:
    """The one worker process of a gunicorn master."""
    deadline = time.monotonic() + timeout
    while True:
        workers = children(master)
        if len(workers) == 1:
            return workers[0]
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn master {master} has workers {workers}, expected one")
        time.sleep(0.1)


def rss_kib(pid: int) -> int:
    """The resident set size of a process, KiB (``VmRSS``)."""
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _all_started(clients: StreamClients, count: int) -> bool:
    return clients.started() >= count


@dataclass(frozen=True)
class MemoryPoint:
    """The worker's RSS with some connections open."""

    connections: int
    streaming: int
    """Connections that received their first line: the others wait for a free thread."""
    rss_kib: int


def measure_idle(
    host: str,
    port: int,
    path: str,
    pid: int,
    counts: Sequence[int],
    *,
    settle: float = 1.0,
    samples: int = 3,
) -> list[MemoryPoint]:
    """RSS of process ``pid`` with each number of idle streams of ``counts`` open (ascending).

    After each step the bench waits until every new connection has received its first line
    (or, for connections beyond the worker's threads, a few seconds), reads for ``settle``
    seconds more and takes the median of ``samples`` readings.
    """
    points: list[MemoryPoint] = []
    with StreamClients(host, port, path) as clients:
        for count in counts:
            clients.open(max(0, count - len(clients.connections)))
            patience = 2.0 + count / 200
            clients.pump(time.time() + patience, functools.partial(_all_started, clients, count))
            clients.pump(time.time() + settle)
            readings = []
            for _ in range(samples):
                readings.append(rss_kib(pid))
                clients.pump(time.time() + 0.2)
            points.append(MemoryPoint(count, clients.started(), int(statistics.median(readings))))
    return points


def per_connection_kib(points: Sequence[MemoryPoint]) -> float | None:
    """KiB of RSS per streaming connection: from the first point to the last that streams all."""
    base = points[0]
    full = [p for p in points[1:] if p.streaming == p.connections and p.connections]
    if not full:
        return None
    top = full[-1]
    return round((top.rss_kib - base.rss_kib) / (top.connections - base.connections), 1)


def summary(label: str, threads: int, points: Sequence[MemoryPoint]) -> dict[str, Any]:
    """The JSON form of one server's memory measurement."""
    return {
        "label": label,
        "threads": threads,
        "points": [
            {"connections": p.connections, "streaming": p.streaming, "rss_kib": p.rss_kib}
            for p in points
        ],
        "kib_per_connection": per_connection_kib(points),
    }
