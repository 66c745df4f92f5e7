"""``/streaming`` checks: one recording of four parallel connections, then TradingView's tests.

``streaming.record`` holds ``STREAMS`` connections open for the run's streaming duration (progress
every ``PROGRESS_SECONDS``), timestamping every line; the other checks read that recording.
TradingView runs these for hours on a live feed; a short run proves less, and the duration is the
user's (``--stream-seconds``).
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.config.symbols import TIMEZONES
from gateway.conformance.history_checks import fetch
from gateway.conformance.model import Check, CheckFailed, CheckSkipped, Context
from gateway.market.sessions import SessionCalendar, SessionError, parse_session

SUITE = "streaming"
STREAMS = 4
PROGRESS_SECONDS = 10.0
QUIET_SECONDS = 15.0
"""A connection silent this long (heartbeats are due every 5 s) counts as broken."""
MAX_DELAY = 5.0
MISMATCH_ALLOWED = 0.05


@dataclass
class Connection:
    """One recorded connection: its status line, headers, lines and how it ended."""

    version: int = 0
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    lines: list[tuple[float, Any]] = field(default_factory=list)
    """(arrival time, parsed message or the raw line when it is not JSON)."""
    ended: str = ""
    """Why it stopped before the end of the recording (empty: it stayed open)."""


@dataclass
class Recording:
    """What ``streaming.record`` saw."""

    started: float
    stopped: float
    connections: list[Connection]

    def messages(self, n: int = 0) -> list[tuple[float, dict[str, Any]]]:
        """Connection ``n``'s JSON objects with their arrival times."""
        return [(at, m) for at, m in self.connections[n].lines if isinstance(m, dict)]


def _read(ctx: Context, conn: Connection, deadline: float) -> None:
    client = ctx.client
    link = client.connection()
    link.timeout = QUIET_SECONDS
    try:
        headers = {"Authorization": f"Bearer {client.token}"} if client.token else {}
        link.request("GET", client.path("/streaming"), headers=headers)
        response = link.getresponse()
        conn.version, conn.status = response.version, response.status
        conn.headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status != 200:
            conn.ended = f"HTTP {response.status}"
            return
        while time.time() < deadline:
            raw = response.readline()
            if not raw:
                conn.ended = f"the server ended the stream after {len(conn.lines)} lines"
                return
            at = time.time()
            try:
                conn.lines.append((at, json.loads(raw)))
            except ValueError:
                conn.lines.append((at, raw.decode("utf-8", "replace").rstrip("\n")))
    except (OSError, http.client.HTTPException) as exc:
        conn.ended = f"{type(exc).__name__}: {exc}"
    finally:
        link.close()


def record(ctx: Context) -> None:
    """Hold ``STREAMS`` connections open for the streaming duration and record every line."""
    connections = [Connection() for _ in range(STREAMS)]
    started = time.time()
    deadline = started + ctx.stream_seconds
    threads = [
        threading.Thread(target=_read, args=(ctx, c, deadline), daemon=True) for c in connections
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=PROGRESS_SECONDS / len(threads))
        left = max(0.0, deadline - time.time())
        if any(thread.is_alive() for thread in threads) and left > 0:
            seen = sum(len(c.lines) for c in connections)
            ctx.progress(f"streaming: {left:.0f} s left, {seen} lines on {STREAMS} connections")
    ctx.recording = Recording(started, time.time(), connections)
    if all(not c.lines for c in connections):
        reasons = {c.ended or "no line" for c in connections}
        raise CheckFailed(f"no connection received anything: {'; '.join(sorted(reasons))}")


def _recording(ctx: Context) -> Recording:
    ctx.require("streaming.record")
    recording = ctx.recording
    if not isinstance(recording, Recording):
        raise CheckSkipped("nothing was recorded")
    return recording


def transfer_encoding(ctx: Context) -> None:
    """HTTP/1.1 with ``Transfer-Encoding: chunked`` on every connection."""
    for n, conn in enumerate(_recording(ctx).connections):
        if conn.version != 11:
            raise CheckFailed(f"connection {n + 1}: HTTP version {conn.version / 10:.1f}")
        if conn.headers.get("transfer-encoding", "").lower() != "chunked":
            found = conn.headers.get("transfer-encoding")
            raise CheckFailed(f"connection {n + 1}: Transfer-Encoding is {found!r}")


def permanent_connection(ctx: Context) -> None:
    """Every connection stayed open, and received lines, until the end of the recording."""
    for n, conn in enumerate(_recording(ctx).connections):
        if conn.ended:
            raise CheckFailed(f"connection {n + 1}: {conn.ended}")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_SHAPES: dict[str, tuple[str, ...]] = {
    "t": ("id", "p", "t"),
    "q": ("id", "t", "ap", "bp"),
    "d": ("id", "o", "h", "l", "c", "v", "t"),
}


def fields_format(ctx: Context) -> None:
    """Every line is a trade, quote, daily bar or heartbeat of the spec's shape."""
    for _at, message in _recording(ctx).connections[0].lines:
        if not isinstance(message, dict):
            raise CheckFailed(f"not a JSON object: {str(message)[:100]!r}")
        if "heartbeat" in message and "f" not in message:
            if not isinstance(message["heartbeat"], int):
                raise CheckFailed(f"heartbeat is not an integer: {message}")
            continue
        kind = message.get("f")
        if kind not in _SHAPES:
            raise CheckFailed(f"unknown message kind f={kind!r}: {message}")
        if not isinstance(message.get("id"), str):
            raise CheckFailed(f"id is not a string: {message}")
        for key in _SHAPES[kind][1:]:
            if not _number(message.get(key)):
                raise CheckFailed(f"{key} is {message.get(key)!r}, not a number: {message}")
        if not isinstance(message["t"], int):
            raise CheckFailed(f"t is not an integer (Unix seconds): {message}")


def trades_and_quotes(ctx: Context) -> None:
    """Trades, asks, bids and quotes all appear."""
    kinds = {m.get("f") for _, m in _recording(ctx).messages()}
    missing = [name for kind, name in (("t", "trade"), ("q", "quote")) if kind not in kinds]
    if missing:
        raise CheckFailed(f"no {' and no '.join(missing)} in the recording")


def symbols_check(ctx: Context) -> None:
    """Every streamed id is a symbol of /symbol_info; every symbol in session all along ticks."""
    recording = _recording(ctx)
    ctx.require("data.symbol_info")
    ids = {m["id"] for _, m in recording.messages() if "id" in m}
    unknown = sorted(ids - set(ctx.symbols))
    if unknown:
        raise CheckFailed(f"streamed ids not in /symbol_info: {unknown[:5]}")
    silent = [
        name
        for name, row in ctx.symbols.items()
        if name not in ids and open_throughout(row, recording.started, recording.stopped)
    ]
    if silent:
        raise CheckFailed(
            f"in session but silent for {recording.stopped - recording.started:.0f} s: {silent[:5]}"
        )


def open_throughout(row: dict[str, Any], start: float, end: float) -> bool:
    """Whether the /symbol_info row's regular session is open from ``start`` to ``end``."""
    session, zone = row.get("session-regular"), row.get("timezone")
    if not isinstance(session, str) or zone not in TIMEZONES:
        return False
    try:
        calendar = SessionCalendar(parse_session(session), str(zone))
    except SessionError:
        return False
    return all(calendar.is_open(t) for t in range(int(start), int(end) + 1, 30))


def time_grows(ctx: Context) -> None:
    """Per symbol and message kind, ``t`` never decreases."""
    last: dict[tuple[str, str], int] = {}
    for _, m in _recording(ctx).messages():
        if "f" not in m:
            continue
        key = (str(m.get("id")), str(m["f"]))
        if key in last and m["t"] < last[key]:
            raise CheckFailed(f"{key[0]} {key[1]}: t {m['t']} after {last[key]}")
        last[key] = m["t"]


def no_delays(ctx: Context) -> None:
    """Trades and quotes arrive within 5 s of their ``t`` (whole seconds: 1 s more allowed)."""
    worst = 0.0
    for at, m in _recording(ctx).messages():
        if m.get("f") in ("t", "q"):
            worst = max(worst, at - m["t"] - 1)
    if worst > MAX_DELAY:
        raise CheckFailed(f"a message arrived {worst:.1f} s after its time")


def parallel_connections(ctx: Context) -> None:
    """The connections received the same trades and quotes over the time they share."""
    recording = _recording(ctx)
    streams = [
        [json.dumps(m, sort_keys=True) for _, m in recording.messages(n) if m.get("f") in _SHAPES]
        for n in range(len(recording.connections))
    ]
    first = streams[0]
    for n, other in enumerate(streams[1:], start=2):
        if not _same_middle(first, other):
            raise CheckFailed(f"connection {n} received other data than connection 1")


def _same_middle(a: list[str], b: list[str]) -> bool:
    """Whether two recordings agree where both ran (they start and stop a little apart)."""
    if not a or not b:
        return a == b
    try:
        start = a.index(b[0]) if b[0] in a else -b.index(a[0])
    except ValueError:
        return False
    if start >= 0:
        a = a[start:]
    else:
        b = b[-start:]
    common = min(len(a), len(b))
    return a[:common] == b[:common]


def history_equality(ctx: Context) -> None:
    """Minute bars built from the streamed trades match /history (at most 5 % differ)."""
    recording = _recording(ctx)
    first = math.ceil(recording.started / 60) * 60
    last = math.floor(recording.stopped / 60) * 60 - 60
    if last < first:
        raise CheckSkipped("the recording covers no whole minute (--stream-seconds 120 or more)")
    trades = [m for _, m in recording.messages() if first <= m.get("t", 0) < last + 60]
    built = minute_bars(trades)
    compared = mismatched = 0
    for symbol, bars in built.items():
        stored = fetch(ctx, symbol, "1", **{"from": first, "to": last})
        history = {
            t: [o, h, lo, c, v]
            for t, o, h, lo, c, v in zip(
                *(stored[k] for k in "tohlc"),
                stored.get("v") or [0.0] * len(stored["t"]),
                strict=True,
            )
        }
        for minute in sorted(set(bars) | set(history)):
            compared += 1
            if not _same_bar(bars.get(minute), history.get(minute)):
                mismatched += 1
    if not compared:
        raise CheckSkipped("no trade in the whole minutes recorded")
    if mismatched > MISMATCH_ALLOWED * compared:
        raise CheckFailed(f"{mismatched} of {compared} minute bars differ from /history")


def minute_bars(messages: Iterable[dict[str, Any]]) -> dict[str, dict[int, list[float]]]:
    """TradingView's one-minute bars from streamed trades, by id and minute.

    Open = first trade, high, low, close = last, volume = the sum of sizes (``s`` is optional).
    """
    built: dict[str, dict[int, list[float]]] = {}
    for m in messages:
        if m.get("f") != "t":
            continue
        bars = built.setdefault(str(m["id"]), {})
        minute = math.floor(m["t"]) // 60 * 60
        price, size = m["p"], m.get("s") or 0
        bar = bars.get(minute)
        if bar is None:
            bars[minute] = [price, price, price, price, size]
        else:
            bar[1], bar[2] = max(bar[1], price), min(bar[2], price)
            bar[3], bar[4] = price, bar[4] + size
    return built


def _same_bar(a: list[float] | None, b: list[float] | None) -> bool:
    if a is None or b is None:
        return False
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9) for x, y in zip(a, b, strict=True))


CHECKS = (
    Check(SUITE, "streaming.record", record),
    Check(SUITE, "streaming.transferEncodingHeader", transfer_encoding),
    Check(SUITE, "streaming.permanentConnection", permanent_connection),
    Check(SUITE, "streaming.fieldsFormat", fields_format),
    Check(SUITE, "streaming.askBidQuoteTradeExistence", trades_and_quotes),
    Check(SUITE, "streaming.symbolsCheck", symbols_check),
    Check(SUITE, "streaming.timeGrow", time_grows),
    Check(SUITE, "streaming.noDelays", no_delays),
    Check(SUITE, "streaming.parallelConnections", parallel_connections),
    Check(SUITE, "streaming.historyEquality", history_equality),
)
