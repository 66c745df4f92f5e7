"""Load that places orders: every request carries a ``requestId`` of its own.

:mod:`bench.loadgen` repeats one request, which suits ``GET``s; a repeated placement would be a
retry, answered from the first order without placing anything. Here each request's URL ends in
a fresh ``requestId`` (``prefix`` + a counter), with ``wrk`` (a Lua ``request()`` hook) or with
the same kind of Python fallback (spawned processes, a keep-alive connection per thread, one
shared end time). The gateway answers a refused order with HTTP 200 and ``{"s": "error"}``, so
bodies are read: only ``"s": "ok"`` counts as a success.
"""

from __future__ import annotations

import http.client
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from bench import loadgen
from bench.loadgen import (
    REQUEST_TIMEOUT,
    SUMMARY_MARKER,
    Generator,
    LoadResult,
    Request,
    lua_string,
)

FORM = ("Content-Type", "application/x-www-form-urlencoded")
LOGIN_BODY = urllib.parse.urlencode({"login": "demo", "password": "demo"}).encode()


def login(host: str, port: int) -> str:
    """Log in as demo/demo; the access token."""
    status, body = call(host, port, "POST", "/authorize", LOGIN_BODY, {})
    if status != 200 or not isinstance(body, dict) or body.get("s") != "ok":
        raise RuntimeError(f"POST /authorize answered {status}: {str(body)[:300]}")
    token: str = body["d"]["access_token"]
    return token


def call(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, Any]:
    """One request on ``conn`` (else a connection of its own); (status, parsed JSON body)."""
    own = conn is None
    c = conn or http.client.HTTPConnection(host, port, timeout=30)
    try:
        c.request(method, path, body=body, headers={FORM[0]: FORM[1], **headers})
        response = c.getresponse()
        raw = response.read()
    finally:
        if own:
            c.close()
    return response.status, json.loads(raw) if raw else None


def is_ok(status: int, body: bytes) -> bool:
    """An answer ``{"s": "ok", ...}`` with status 200."""
    if status != 200:
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("s") == "ok"


def place_many(
    host: str, port: int, request: Request, prefix: str, count: int, clients: int = 8
) -> float:
    """Place ``count`` orders from ``clients`` threads, each answered ``ok``; the seconds taken."""
    counter = iter(range(count))
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            while not failures:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                conn.request(
                    request.method,
                    f"{request.path}{prefix}{n}",
                    request.body,
                    dict(request.headers),
                )
                response = conn.getresponse()
                body = response.read()
                if not is_ok(response.status, body):
                    failures.append(f"{response.status} {body[:300]!r}")
        except (OSError, http.client.HTTPException) as exc:
            failures.append(repr(exc))
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(max(1, min(clients, count)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"placing {count} orders failed: {failures[0]}")
    return time.perf_counter() - started


def run(
    generator: Generator,
    host: str,
    port: int,
    request: Request,
    *,
    prefix: str,
    duration: float,
    connections: int,
) -> LoadResult:
    """Load with ``request``, its path ending in ``prefix`` + a counter (``...&requestId=``)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"refusing to load a non-loopback host: {host}")
    if generator == "wrk":
        return run_wrk(
            host, port, request, prefix=prefix, duration=duration, connections=connections
        )
    return run_python(
        host, port, request, prefix=prefix, duration=duration, connections=connections
    )


# --- wrk ---------------------------------------------------------------------------------


def wrk_script(request: Request, prefix: str) -> str:
    """The Lua script: a fresh path per request, bodies checked, a JSON summary at the end.

    ``refused`` is a global of each thread's Lua state, which ``done`` (run in the main state)
    can only read through the thread objects ``setup`` collected.
    """
    lines = [f"wrk.method = {lua_string(request.method)}"]
    for name, value in request.headers:
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if request.body:
        lines.append(f"wrk.body = {lua_string(request.body)}")
    lines.append(
        f"""
local threads = {{}}
local next_id = 0
setup = function(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local counter = 0
refused = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, {lua_string(request.path + prefix)} .. tid .. "-" .. counter)
end

response = function(status, headers, body)
  if status == 200 and not string.find(body, '"s"%s*:%s*"ok"') then
    refused = refused + 1
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("refused") or 0)
  end
  io.write(string.format(
    '{SUMMARY_MARKER} {{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"mean_us":%f,"p50_us":%d,"p99_us":%d,"refused":%d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), bad))
end
"""
    )
    return "\n".join(lines)


def run_wrk(
    host: str, port: int, request: Request, *, prefix: str, duration: float, connections: int
) -> LoadResult:
    """wrk with one thread, as :func:`bench.loadgen.run_wrk`, with the placing script."""
    return loadgen.run_wrk(
        host,
        port,
        request,
        duration=duration,
        connections=connections,
        script=wrk_script(request, prefix),
    )


# --- Python fallback -----------------------------------------------------------------------


@dataclass
class _Counts:
    successes: int = 0
    latencies: list[float] = field(default_factory=list)
    error_kinds: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def merge(self, other: _Counts) -> None:
        self.successes += other.successes
        self.latencies.extend(other.latencies)
        for kind, count in other.error_kinds.items():
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + count


def _connection_loop(
    conn: http.client.HTTPConnection, request: Request, prefix: str, end_at: float, out: _Counts
) -> None:
    headers = dict(request.headers)
    body = request.body or None
    n = 0
    while time.time() < end_at:
        n += 1
        started = time.perf_counter()
        try:
            conn.request(request.method, f"{request.path}{prefix}{n}", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            if time.time() < end_at:
                out.error("timeout" if isinstance(exc, TimeoutError) else type(exc).__name__)
            conn.close()  # reopened by the next request
            continue
        latency = time.perf_counter() - started
        if time.time() > end_at:
            break  # finished after the window closed: not counted, like wrk
        if is_ok(response.status, data):
            out.successes += 1
            out.latencies.append(latency)
        else:
            out.error("refused" if response.status == 200 else f"status {response.status}")
    conn.close()


def _process_main(
    pipe: multiprocessing.connection.Connection,
    host: str,
    port: int,
    request: Request,
    prefix: str,
    connections: int,
) -> None:
    """One load process: open connections, report ready, load until the end time, report."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    conns = [
        http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT) for _ in range(connections)
    ]
    for conn in conns:
        try:
            conn.connect()
        except OSError:
            conn.close()  # the first request retries and counts the failure
    pipe.send("ready")
    end_at: float = pipe.recv()
    counts = [_Counts() for _ in conns]
    threads = [
        threading.Thread(
            target=_connection_loop, args=(c, request, f"{prefix}{i}-", end_at, k), daemon=True
        )
        for i, (c, k) in enumerate(zip(conns, counts, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = _Counts()
    for k in counts:
        total.merge(k)
    pipe.send(total)
    pipe.close()


def _percentile(ordered: list[float], percent: float) -> float:
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def run_python(
    host: str,
    port: int,
    request: Request,
    *,
    prefix: str,
    duration: float,
    connections: int,
    processes: int | None = None,
) -> LoadResult:
    """Keep-alive load from one process per CPU, as :func:`bench.loadgen.run_python`."""
    processes = max(1, min(processes or os.cpu_count() or 1, connections))
    base, extra = divmod(connections, processes)
    jobs = [
        (host, port, request, f"{prefix}{i}-", base + (1 if i < extra else 0))
        for i in range(processes)
    ]
    total = _Counts()
    for counts in loadgen.fan_out(_process_main, jobs, duration):
        total.merge(counts)
    ordered = sorted(total.latencies)
    return LoadResult(
        generator="python",
        successes=total.successes,
        errors=sum(total.error_kinds.values()),
        duration=duration,
        latency_mean_ms=(sum(ordered) / len(ordered) * 1000) if ordered else 0.0,
        latency_p50_ms=_percentile(ordered, 50) * 1000,
        latency_p99_ms=_percentile(ordered, 99) * 1000,
        error_kinds=total.error_kinds,
    )
