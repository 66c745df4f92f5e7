"""Closed-loop HTTP load: ``wrk`` when it is on PATH, else a keep-alive Python fallback.

Both keep a fixed number of keep-alive connections busy for a bounded time and count the
responses with a 2xx or 3xx status as successes; everything else (other statuses, connection
errors, timeouts) is an error. Only loopback servers are loaded.
"""

from __future__ import annotations

import http.client
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Generator = Literal["wrk", "python"]
"""Which load generator produced a result."""

REQUEST_TIMEOUT = 10.0
"""Seconds a single request may take before it counts as an error (Argon2 queues are slow)."""

SUMMARY_MARKER = "BENCH_RESULT"


@dataclass(frozen=True)
class Request:
    """What every connection sends, over and over."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def label(self) -> str:
        """``GET /path``."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    generator: Generator
    successes: int
    errors: int
    duration: float
    """Seconds the load was applied."""
    latency_mean_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return self.successes / self.duration if self.duration > 0 else 0.0


def wrk_executable() -> str | None:
    """The ``wrk`` on PATH, if any."""
    return shutil.which("wrk")


def describe(generator: Generator) -> str:
    """A one-line name of the generator for the results, with wrk's version when known."""
    if generator == "python":
        return "python (multiprocessing + http.client keep-alive fallback)"
    version = ""
    try:
        out = subprocess.run(
            [wrk_executable() or "wrk", "-v"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        match = re.search(r"wrk\s+(\S+)", out.stdout + out.stderr)
        version = f" {match.group(1)}" if match else ""
    except (OSError, subprocess.TimeoutExpired):
        pass
    return f"wrk{version} (1 thread)"


def choose(preference: str = "auto") -> Generator:
    """``wrk`` when asked for or available (``auto``), else the Python fallback."""
    if preference == "python":
        return "python"
    if wrk_executable() is not None:
        return "wrk"
    if preference == "wrk":
        raise RuntimeError("wrk is not on PATH (install it, or use --loadgen python)")
    return "python"


def run(
    generator: Generator,
    host: str,
    port: int,
    request: Request,
    *,
    duration: float,
    connections: int,
) -> LoadResult:
    """Load ``http://host:port`` with ``request`` from ``connections`` connections."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"refusing to load a non-loopback host: {host}")
    if generator == "wrk":
        return run_wrk(host, port, request, duration=duration, connections=connections)
    return run_python(host, port, request, duration=duration, connections=connections)


# --- wrk ---------------------------------------------------------------------------------


def lua_string(value: str | bytes) -> str:
    """A Lua string literal for any text: unusual bytes are written as ``\\ddd`` escapes."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_./:=&+,;@!*()~"
    return '"' + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in raw) + '"'


def wrk_script(request: Request) -> str:
    """The Lua script: the request to send, and a ``done`` hook printing a JSON summary."""
    lines = [f"wrk.method = {lua_string(request.method)}"]
    for name, value in request.headers:
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if request.body:
        lines.append(f"wrk.body = {lua_string(request.body)}")
    lines.append(
        f"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{SUMMARY_MARKER} {{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"mean_us":%f,"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99)))
end
"""
    )
    return "\n".join(lines)


def parse_wrk_output(stdout: str) -> LoadResult:
    """The result from the line our ``done`` hook printed.

    wrk counts a non-2xx/3xx answer both as a request and as a status error. A script that
    checks bodies adds ``refused``: answers wrk thinks succeeded (e.g. ``{"s": "error"}``).
    """
    for line in stdout.splitlines():
        if line.startswith(SUMMARY_MARKER + " "):
            data: dict[str, Any] = json.loads(line[len(SUMMARY_MARKER) + 1 :])
            break
    else:
        raise RuntimeError(f"wrk printed no summary:\n{stdout}")
    keys = ("connect", "read", "write", "status", "timeout", "refused")
    kinds = {k: int(data.get(k, 0)) for k in keys}
    return LoadResult(
        generator="wrk",
        successes=int(data["requests"]) - kinds["status"] - kinds["refused"],
        errors=sum(kinds.values()),
        duration=int(data["duration_us"]) / 1e6,
        latency_mean_ms=float(data["mean_us"]) / 1000,
        latency_p50_ms=int(data["p50_us"]) / 1000,
        latency_p99_ms=int(data["p99_us"]) / 1000,
        error_kinds={k: v for k, v in kinds.items() if v},
    )


def run_wrk(
    host: str,
    port: int,
    request: Request,
    *,
    duration: float,
    connections: int,
    script: str | None = None,
    scheme: str = "http",
) -> LoadResult:
    """Run wrk (one thread: the client should leave the CPUs to the servers).

    ``script`` replaces the Lua script of :func:`wrk_script` (it must print the same summary);
    ``scheme`` https speaks TLS (to nginx, which terminates it as in the reference deployment).
    """
    exe = wrk_executable()
    if exe is None:
        raise RuntimeError("wrk is not on PATH")
    seconds = max(1, math.ceil(duration))  # wrk takes whole seconds
    with tempfile.TemporaryDirectory(prefix="gateway-bench-wrk-") as tmp:
        lua = Path(tmp) / "request.lua"
        lua.write_text(script or wrk_script(request), encoding="utf-8")
        argv = [
            exe,
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{seconds}s",
            "--timeout",
            f"{REQUEST_TIMEOUT:g}s",
            "--script",
            str(lua),
            f"{scheme}://{host}:{port}{request.path}",
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=seconds + 60
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk_output(done.stdout)


# --- Python fallback -----------------------------------------------------------------------


@dataclass
class _Tally:
    successes: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    error_kinds: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def merge(self, other: _Tally) -> None:
        self.successes += other.successes
        self.errors += other.errors
        self.latencies.extend(other.latencies)
        for kind, count in other.error_kinds.items():
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + count


def _connection_loop(
    conn: http.client.HTTPConnection, request: Request, end_at: float, tally: _Tally
) -> None:
    headers = dict(request.headers)
    body = request.body or None
    while time.time() < end_at:
        started = time.perf_counter()
        try:
            conn.request(request.method, request.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            if time.time() < end_at:
                tally.error("timeout" if isinstance(exc, TimeoutError) else type(exc).__name__)
            conn.close()  # reopened by the next request
            continue
        latency = time.perf_counter() - started
        if time.time() > end_at:
            break  # finished after the window closed: not counted, like wrk
        if 200 <= status < 400:
            tally.successes += 1
            tally.latencies.append(latency)
        else:
            tally.error(f"status {status}")
    conn.close()


def _process_main(
    pipe: multiprocessing.connection.Connection,
    host: str,
    port: int,
    request: Request,
    connections: int,
) -> None:
    """One load process: open connections, report ready, load until told end time, report."""
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
    tallies = [_Tally() for _ in conns]
    threads = [
        threading.Thread(target=_connection_loop, args=(c, request, end_at, t), daemon=True)
        for c, t in zip(conns, tallies, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = _Tally()
    for tally in tallies:
        total.merge(tally)
    pipe.send(total)
    pipe.close()


def _shares(connections: int, processes: int) -> list[int]:
    """Split connections over processes as evenly as possible."""
    base, extra = divmod(connections, processes)
    return [base + (1 if i < extra else 0) for i in range(processes)]


def _percentile(ordered: list[float], percent: float) -> float:
    if not ordered:
        return 0.0
    rank = max(0, math.ceil(percent / 100 * len(ordered)) - 1)
    return ordered[rank]


def fan_out(
    target: Callable[..., None], jobs: Sequence[tuple[Any, ...]], duration: float
) -> list[Any]:
    """Run ``target(pipe, *job)`` in one spawned process per job; what each sent back.

    Each process opens its connections, says ``"ready"`` and waits for the common end time, so
    the measured window starts once all are ready and is the same for all of them; then it
    sends its tally.
    """
    ctx = multiprocessing.get_context("spawn")
    workers: list[multiprocessing.process.BaseProcess] = []
    pipes: list[multiprocessing.connection.Connection] = []
    reports: list[Any] = []
    try:
        for job in jobs:
            ours, theirs = ctx.Pipe()
            pipes.append(ours)
            proc = ctx.Process(target=target, args=(theirs, *job), daemon=True)
            proc.start()
            theirs.close()
            workers.append(proc)
        for pipe in pipes:
            if not pipe.poll(60) or pipe.recv() != "ready":
                raise RuntimeError("a load process did not start")
        end_at = time.time() + duration
        for pipe in pipes:
            pipe.send(end_at)
        for pipe in pipes:
            if not pipe.poll(duration + REQUEST_TIMEOUT + 30):
                raise RuntimeError("a load process did not report")
            reports.append(pipe.recv())
    except EOFError:
        raise RuntimeError("a load process died") from None
    finally:
        for pipe in pipes:
            pipe.close()
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
                worker.join()
            worker.close()
    return reports


def run_python(
    host: str,
    port: int,
    request: Request,
    *,
    duration: float,
    connections: int,
    processes: int | None = None,
) -> LoadResult:
    """Keep-alive load from one process per CPU, each with a thread per connection.

    Processes (started with ``spawn``) wait at a barrier with their connections open, so the
    measured window starts once they are all ready and is the same for all of them.
    """
    processes = max(1, min(processes or os.cpu_count() or 1, connections))
    jobs = [(host, port, request, share) for share in _shares(connections, processes)]
    total = _Tally()
    for tally in fan_out(_process_main, jobs, duration):
        total.merge(tally)
    ordered = sorted(total.latencies)
    mean = sum(ordered) / len(ordered) if ordered else 0.0
    return LoadResult(
        generator="python",
        successes=total.successes,
        errors=total.errors,
        duration=duration,
        latency_mean_ms=mean * 1000,
        latency_p50_ms=_percentile(ordered, 50) * 1000,
        latency_p99_ms=_percentile(ordered, 99) * 1000,
        error_kinds=total.error_kinds,
    )
