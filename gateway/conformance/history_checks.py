"""``/history`` checks, run for every symbol of ``/symbol_info`` (TradingView's history tests).

Each check reads a recent stretch of one-minute bars first (the last ``LOOKBACK_DAYS``) and
anchors its windows on bars that exist there, so that it works at any hour on any feed. A symbol
with no bars in that stretch is left out of a check, and a check with no symbol left is skipped.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from typing import Any

from gateway.conformance.model import Check, CheckFailed, CheckSkipped, Context
from gateway.market.sessions import SessionCalendar, SessionError, parse_session

SUITE = "data"
LOOKBACK_DAYS = 4
MINUTE = 60
DAY = 86400
FIELDS = ("t", "o", "h", "l", "c")

Bars = dict[str, list[Any]]


def fetch(ctx: Context, symbol: str, resolution: str, **params: object) -> Bars:
    """The bars of one ``/history`` answer (empty arrays for an empty answer)."""
    what = f"GET /history?symbol={symbol}&resolution={resolution}&{_query(params)}"
    answer = ctx.client.get("/history", {"symbol": symbol, "resolution": resolution, **params})
    if answer.status != 200 or not isinstance(answer.json, dict):
        raise CheckFailed(f"{what}: HTTP {answer.status}: {answer.body[:200]!r}")
    body = answer.json
    if body.get("s") == "no_data":  # before 1.4.14; accepted as an empty answer
        return {key: [] for key in FIELDS}
    if body.get("s") != "ok":
        raise CheckFailed(f"{what}: s is {body.get('s')!r}: {body}")
    bars = {key: body.get(key, []) for key in (*FIELDS, "v")}
    lengths = {key: len(value) if isinstance(value, list) else -1 for key, value in bars.items()}
    if "v" not in body:
        lengths.pop("v")
    if len(set(lengths.values())) != 1 or -1 in lengths.values():
        raise CheckFailed(f"{what}: arrays of different lengths or not arrays: {lengths}")
    return bars


def _query(params: dict[str, object]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


def recent(ctx: Context, symbol: str) -> list[int]:
    """Times of the symbol's one-minute bars of the last ``LOOKBACK_DAYS`` (cached per run)."""
    cache = ctx.recent_bars
    if symbol not in cache:
        now = int(ctx.clock())
        bars = fetch(ctx, symbol, "1", **{"from": now - LOOKBACK_DAYS * DAY, "to": now})
        cache[symbol] = [int(t) for t in bars["t"]]
    return cache[symbol]


def _closed(ctx: Context, times: list[int]) -> list[int]:
    """Bars of minutes that have ended (the newest may still be open and change)."""
    now = int(ctx.clock())
    return [t for t in times if t + MINUTE <= now - MINUTE]


SymbolCheck = Callable[[Context, str, list[int]], None]


def per_symbol(check: SymbolCheck, needs: int = 1) -> Callable[[Context], None]:
    """Run ``check`` for every symbol with at least ``needs`` closed recent bars.

    Every symbol's failure is in the reason.
    """

    def run(ctx: Context) -> None:
        ctx.require("data.symbol_info")
        failures, tested = [], 0
        for symbol in ctx.symbols:
            times = _closed(ctx, recent(ctx, symbol))
            if len(times) < needs:
                continue
            tested += 1
            try:
                check(ctx, symbol, times)
            except CheckFailed as exc:
                failures.append(f"{symbol}: {exc}")
        if failures:
            raise CheckFailed("; ".join(failures))
        if not tested:
            raise CheckSkipped(f"no symbol has {needs} one-minute bars in the last days")

    return run


def time_correctness(ctx: Context, symbol: str, times: list[int]) -> None:
    """Bar times strictly increase (one-minute bars of the last days, and daily bars)."""
    now = int(ctx.clock())
    daily = fetch(ctx, symbol, "1D", **{"from": now - 60 * DAY, "to": now})["t"]
    for label, series in (("1", recent(ctx, symbol)), ("1D", daily)):
        for before, after in itertools.pairwise(series):
            if after <= before:
                raise CheckFailed(f"resolution {label}: bar {after} follows bar {before}")


def from_eq_to(ctx: Context, symbol: str, times: list[int]) -> None:
    """``from == to ==`` the time of an existing bar gives exactly that bar."""
    bar = times[len(times) // 2]
    got = fetch(ctx, symbol, "1", **{"from": bar, "to": bar})["t"]
    if got != [bar]:
        raise CheckFailed(f"from = to = {bar} gave bars {got[:5]}, not exactly [{bar}]")


def outside_bars_inclusion(ctx: Context, symbol: str, times: list[int]) -> None:
    """A 50-minute window starting on a bar: at most 50 bars, none outside, both ends inclusive."""
    start = times[max(0, len(times) - 60)]
    end = start + 49 * MINUTE
    got = fetch(ctx, symbol, "1", **{"from": start, "to": end})["t"]
    expected = [t for t in times if start <= t <= end]
    if len(got) > 50:
        raise CheckFailed(f"{len(got)} bars in a 50-minute window")
    if any(t < start or t > end for t in got):
        outside = [t for t in got if not start <= t <= end]
        raise CheckFailed(f"bars outside [{start}, {end}]: {outside[:3]}")
    if got != expected:
        raise CheckFailed(
            f"window [{start}, {end}] gave {len(got)} bars where the wider request has "
            f"{len(expected)}"
        )


def repeatability(ctx: Context, symbol: str, times: list[int]) -> None:
    """The same request twice gives the same bars."""
    window = {"from": times[max(0, len(times) - 120)], "to": times[-1]}
    first, second = fetch(ctx, symbol, "1", **window), fetch(ctx, symbol, "1", **window)
    if first != second:
        raise CheckFailed(f"two identical requests {window} gave different bars")


def several_short_equal_large(ctx: Context, symbol: str, times: list[int]) -> None:
    """Ten 20-minute requests give the bars of one 200-minute request."""
    start = times[max(0, len(times) - 240)]
    large = fetch(ctx, symbol, "1", **{"from": start, "to": start + 199 * MINUTE})
    pieces: Bars = {key: [] for key in large}
    for n in range(10):
        begin = start + n * 20 * MINUTE
        part = fetch(ctx, symbol, "1", **{"from": begin, "to": begin + 19 * MINUTE})
        for key in pieces:
            pieces[key] += part.get(key, [])
    if pieces != large:
        raise CheckFailed(
            f"ten 20-minute requests gave {len(pieces['t'])} bars, one 200-minute request "
            f"{len(large['t'])}, or different values"
        )


def countback(ctx: Context, symbol: str, times: list[int]) -> None:
    """``countback=N`` gives the N bars ending at ``to`` (fewer only if no older bar exists)."""
    to = times[-1]
    got = fetch(ctx, symbol, "1", **{"from": to - MINUTE, "to": to, "countback": 10})["t"]
    expected = [t for t in recent(ctx, symbol) if t <= to][-10:]
    if got[-len(expected) :] != expected or len(got) != len(expected):
        raise CheckFailed(f"countback=10 to {to} gave {len(got)} bars ending {got[-1:]}")


def future_minutes(ctx: Context, symbol: str, times: list[int]) -> None:
    """``to`` a day ahead is answered, with no bar of a minute that has not begun."""
    _no_future(ctx, symbol, "1", times[-1])


def future_daily(ctx: Context, symbol: str, times: list[int]) -> None:
    """Daily bars likewise."""
    now = int(ctx.clock())
    _no_future(ctx, symbol, "1D", now - 30 * DAY)


def _no_future(ctx: Context, symbol: str, resolution: str, start: int) -> None:
    now = int(ctx.clock())
    got = fetch(ctx, symbol, resolution, **{"from": start, "to": now + DAY})["t"]
    late = [t for t in got if t > now]
    if late:
        raise CheckFailed(f"resolution {resolution}: bars in the future: {late[:3]}")
    if not got:
        raise CheckFailed(f"resolution {resolution}: no bar up to a day ahead")


def daily_availability(ctx: Context, symbol: str, times: list[int]) -> None:
    """Symbols with daily bars (``has-daily``, true by default) have some in the last month."""
    if ctx.symbols[symbol].get("has-daily") is False:
        return
    now = int(ctx.clock())
    if not fetch(ctx, symbol, "1D", **{"from": now - 30 * DAY, "to": now})["t"]:
        raise CheckFailed("no daily bar in the last 30 days")


def empty_range(ctx: Context, symbol: str, times: list[int]) -> None:
    """A range before any bar is an ok answer with empty arrays (1.4.14), like its neighbours."""
    got = fetch(ctx, symbol, "1", **{"from": 86400, "to": 2 * 86400})
    if got["t"]:
        raise CheckFailed(f"bars in January 1970: {got['t'][:3]}")


def price_match(ctx: Context, symbol: str, times: list[int]) -> None:
    """A daily bar opens and closes as its session's first and last one-minute bars.

    Compared for the whole sessions of the last days (not today's, not the oldest, which the
    look-back may cut), with the daily bar at the session calendar's ``daily_bar_time``.
    """
    row = ctx.symbols[symbol]
    if row.get("has-daily") is False:
        return
    try:
        calendar = SessionCalendar(parse_session(str(row.get("session-regular"))), row["timezone"])
    except (SessionError, KeyError, ValueError):
        return  # data.symbol_info reports a session or time zone it cannot read
    now = int(ctx.clock())
    minutes = fetch(ctx, symbol, "1", **{"from": now - LOOKBACK_DAYS * DAY, "to": now})
    sessions: dict[Any, list[tuple[float, float]]] = {}
    for t, o, c in zip(minutes["t"], minutes["o"], minutes["c"], strict=True):
        day = calendar.trading_day(t)
        if day is not None:
            sessions.setdefault(day, []).append((o, c))
    whole = sorted(sessions)[1:]  # the oldest may be cut by the look-back
    if whole and whole[-1] == calendar.trading_day(now):
        whole.pop()  # today's session is still trading
    daily = fetch(ctx, symbol, "1D", **{"from": now - (LOOKBACK_DAYS + 2) * DAY, "to": now})
    by_time = dict(zip(daily["t"], zip(daily["o"], daily["c"], strict=True), strict=True))
    for day in whole[-2:]:
        when = calendar.daily_bar_time(day)
        if when not in by_time:
            raise CheckFailed(f"no daily bar at {when} for the session of {day}")
        expected = (sessions[day][0][0], sessions[day][-1][1])
        if not all(map(_close, by_time[when], expected)):
            raise CheckFailed(
                f"session {day}: daily open/close {by_time[when]}, first/last minute bars "
                f"{expected}"
            )


def _close(a: object, b: object) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b)


def no_data_changes(ctx: Context) -> None:
    """Closed bars never change: the last 30 minutes again ``--history-wait`` s later, same bars.

    TradingView repeats the request two minutes later with a later ``to``; the second answer
    must hold the first's closed bars unchanged (the minute then in progress may change).
    """
    ctx.require("data.symbol_info")
    if ctx.history_wait <= 0:
        raise CheckSkipped("--history-wait 0")
    first_at = int(ctx.clock())
    start = first_at - 30 * MINUTE
    first = {s: fetch(ctx, s, "1", **{"from": start, "to": first_at}) for s in ctx.symbols}
    first = {s: bars for s, bars in first.items() if bars["t"]}
    if not first:
        raise CheckSkipped("no symbol has bars in the last 30 minutes")
    deadline = time.monotonic() + ctx.history_wait
    while (left := deadline - time.monotonic()) > 0:
        ctx.progress(f"history.noDataChanges: asking again in {left:.0f} s")
        time.sleep(min(left, 10.0))
    failures = []
    for symbol, bars in first.items():
        again = fetch(ctx, symbol, "1", **{"from": start, "to": int(ctx.clock())})
        closed = [i for i, t in enumerate(bars["t"]) if t + MINUTE <= first_at]
        old = [tuple(bars[k][i] for k in FIELDS) for i in closed]
        new = [tuple(again[k][i] for k in FIELDS) for i in range(min(len(closed), len(again["t"])))]
        if old != new:
            changed = next((a, b) for a, b in itertools.zip_longest(old, new) if a != b)
            failures.append(f"{symbol}: closed bar {changed[0]} became {changed[1]}")
    if failures:
        raise CheckFailed("; ".join(failures[:3]))


CHECKS = (
    Check(SUITE, "history.timeCorrectness", per_symbol(time_correctness)),
    Check(SUITE, "history.fromEqTo", per_symbol(from_eq_to)),
    Check(SUITE, "history.outsideBarsInclusion", per_symbol(outside_bars_inclusion, 60)),
    Check(SUITE, "history.repeatability", per_symbol(repeatability, 2)),
    Check(SUITE, "history.severalShortQueriesEqualLarge", per_symbol(several_short_equal_large, 2)),
    Check(SUITE, "history.countbackMinutes", per_symbol(countback, 10)),
    Check(SUITE, "history.futureMinutes", per_symbol(future_minutes)),
    Check(SUITE, "history.futureDaily", per_symbol(future_daily)),
    Check(SUITE, "history.dailyAvailability", per_symbol(daily_availability)),
    Check(SUITE, "history.emptyRange", per_symbol(empty_range)),
    Check(SUITE, "history.priceMatch", per_symbol(price_match)),
    Check(SUITE, "history.noDataChanges", no_data_changes),
)
