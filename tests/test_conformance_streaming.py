"""The streaming checks' verdicts on recordings that break one rule each.

The recording itself is tested against the demo under gunicorn (tests/test_conformance.py); here
each check reads a recording made to break exactly its rule, next to one that keeps them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.conformance.client import Client
from gateway.conformance.model import CheckFailed, Context
from gateway.conformance.streaming_checks import (
    Connection,
    Recording,
    fields_format,
    no_delays,
    parallel_connections,
    permanent_connection,
    symbols_check,
    time_grows,
    trades_and_quotes,
    transfer_encoding,
)

T0 = 1_800_000_000


def _good() -> list[tuple[float, Any]]:
    lines: list[tuple[float, Any]] = [(T0 + 0.1, {"heartbeat": T0})]
    for n in range(10):
        t = T0 + n
        lines.append((t + 0.2, {"f": "t", "id": "AAA", "p": 10.0 + n, "s": 1, "t": t}))
        lines.append((t + 0.3, {"f": "q", "id": "AAA", "t": t, "ap": 11.0, "as": 1, "bp": 10.0,
                                "bs": 2}))  # fmt: skip
    return lines


def _context(lines: list[tuple[float, Any]], *, others: int = 3) -> Context:
    ctx = Context(Client("http://127.0.0.1:1"))
    ctx.symbols = {"AAA": {"symbol": "AAA", "session-regular": "24x7", "timezone": "Etc/UTC"}}
    connections = [Connection(11, 200, {"transfer-encoding": "chunked"}, list(lines))]
    connections += [
        Connection(11, 200, {"transfer-encoding": "chunked"}, list(lines)) for _ in range(others)
    ]
    ctx.recording = Recording(T0, T0 + 10, connections)
    return ctx


CHECKS: list[Callable[[Context], None]] = [
    transfer_encoding, permanent_connection, fields_format, trades_and_quotes, symbols_check,
    time_grows, no_delays, parallel_connections,
]  # fmt: skip


def test_a_recording_that_keeps_every_rule_passes_every_check() -> None:
    ctx = _context(_good())
    for check in CHECKS:
        check(ctx)


def _drop_quotes(lines: list[tuple[float, Any]]) -> None:
    lines[:] = [line for line in lines if line[1].get("f") != "q"]


def _broken(change: Callable[[list[tuple[float, Any]]], None]) -> Context:
    lines = _good()
    change(lines)
    return _context(lines)


@pytest.mark.parametrize(
    ("check", "change", "reason"),
    [
        (time_grows, lambda ls: ls.append((T0 + 20, {"f": "t", "id": "AAA", "p": 1.0, "s": 1,
                                                     "t": T0 - 5})), "after"),
        (no_delays, lambda ls: ls.append((T0 + 30, {"f": "q", "id": "AAA", "t": T0 + 9,
                                                    "ap": 1.0, "bp": 1.0})), "arrived 20.0 s"),
        (symbols_check, lambda ls: ls.append((T0 + 9.5, {"f": "t", "id": "ZZZ", "p": 1.0, "s": 1,
                                                         "t": T0 + 9})), "not in /symbol_info"),
        (fields_format, lambda ls: ls.append((T0 + 9.5, {"f": "t", "id": "AAA", "p": "1",
                                                         "t": T0 + 9})), "p is '1'"),
        (fields_format, lambda ls: ls.append((T0 + 9.5, "<html>")), "not a JSON object"),
        (trades_and_quotes, _drop_quotes, "no quote"),
    ],
    ids=["time goes back", "late", "unknown id", "price as a string", "not JSON", "no quotes"],
)  # fmt: skip
def test_each_broken_rule_fails_its_check_with_the_reason(
    check: Callable[[Context], None], change: Callable[[list[tuple[float, Any]]], None], reason: str
) -> None:
    with pytest.raises(CheckFailed, match=reason):
        check(_broken(change))


def test_a_silent_symbol_in_session_and_a_cut_connection_fail() -> None:
    ctx = _context(_good())
    ctx.symbols["BBB"] = {"symbol": "BBB", "session-regular": "24x7", "timezone": "Etc/UTC"}
    with pytest.raises(CheckFailed, match="silent"):
        symbols_check(ctx)
    ctx.symbols["BBB"]["session-regular"] = "0000-0001:1"  # closed nearly all week: not required
    ctx.recording.started, ctx.recording.stopped = T0 + 3600, T0 + 3610
    symbols_check(ctx)
    ctx.recording.connections[2].ended = "the server ended the stream after 5 lines"
    with pytest.raises(CheckFailed, match="connection 3: the server ended"):
        permanent_connection(ctx)


def test_parallel_connections_may_start_apart_but_must_agree() -> None:
    lines = _good()
    ctx = _context(lines)
    ctx.recording.connections[1].lines = lines[3:]  # joined a little later: fine
    parallel_connections(ctx)
    other = [(at, dict(m, p=99.0) if m.get("f") == "t" else m) for at, m in lines[3:]]
    ctx.recording.connections[2].lines = other
    with pytest.raises(CheckFailed, match="connection 3"):
        parallel_connections(ctx)


def test_http_1_0_or_no_chunked_encoding_fails() -> None:
    ctx = _context(_good())
    ctx.recording.connections[1].headers = {}
    with pytest.raises(CheckFailed, match="connection 2: Transfer-Encoding is None"):
        transfer_encoding(ctx)
    ctx.recording.connections[1] = Connection(10, 200, {"transfer-encoding": "chunked"}, [])
    with pytest.raises(CheckFailed, match=r"HTTP version 1\.0"):
        transfer_encoding(ctx)
