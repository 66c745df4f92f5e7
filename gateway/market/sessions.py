"""The session calendar: when a symbol trades, and which trading day an instant belongs to.

TradingView describes trading hours with a session string (``session-regular`` of
``/symbol_info``) read in the symbol's ``timezone``. The rules, from TradingView's broker docs
("Session specification", "History") and the Charting Library's "Trading sessions" page:

* ``HHMM-HHMM`` ranges joined by ``|``, each optionally followed by ``:`` and day digits,
  1 = Sunday, 2 = Monday … 7 = Saturday.
* A range without day digits applies Monday to Friday ("Session 0930-1600 … every weekday"),
  except on days that another range names ("0900-1630|0900-1400:2": Mondays 0900-1400).
* Each range is [open, close): "if you specify that the session closes at 23:59, the last
  trade time included in TradingView will be 23:58:59".
* start > end, or start == end other than ``0000-0000``, is overnight: it opens the calendar
  day before and belongs to the day it ends on ("1600-0930 starts at 16:00 on the previous
  day and ends at 09:30 on the current day"). ``0000-0000`` is one whole day.
* ``24x7`` never closes; its trading days are the local calendar days.
* One range per trading day: "session breaks within one trading day are not supported".
* A daily bar is stamped 00:00 UTC of its trading day ("if the session starts at 10:00 PM on
  Monday and finishes at 9:00 PM on Tuesday, the daily bar time should be 00:00 UTC on
  Tuesday").
* ``2400`` is accepted as an end (midnight ending the day); TradingView's examples write 2359.

Daylight saving: a boundary HH:MM is the first instant at which the exchange's wall clock
reads HH:MM or later. A time skipped by a spring-forward therefore moves to the transition
instant (0230 on a Berlin spring-forward day opens at 03:00 CEST), a time repeated by a
fall-back means its first occurrence, and a range emptied by the gap has no session that day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_WEEKDAYS = frozenset(range(1, 6))  # indexes into _DAY_NAMES: Monday to Friday
_DAY = 24 * 60  # minutes
_WEEK = 7 * _DAY
_TIME = re.compile(r"[0-9]{4}")
_ALLOWED = re.compile(r"[0-9:|-]")
_DASHES = "‐‑‒–—−"  # look like '-' in docs and editors, TradingView's own docs use U+2011
_CACHE_DAYS = 1024


class SessionError(ValueError):
    """A session string or time zone that cannot be used; the message says why."""


@dataclass(frozen=True)
class SessionRange:
    """One range of a trading day, in minutes from that day's local midnight.

    ``open`` is negative for an overnight range (it opens the calendar day before) and
    ``close`` is at most 1440 (the midnight that ends the day); ``text`` is the part as written.
    """

    text: str
    open: int
    close: int


@dataclass(frozen=True)
class SessionSpec:
    """A parsed session string: the range of each weekday, index 0 = Sunday … 6 = Saturday."""

    text: str
    days: tuple[SessionRange | None, ...]

    @property
    def always_open(self) -> bool:
        """Whether this is ``24x7``."""
        return self.text == "24x7"


def parse_session(text: str) -> SessionSpec:
    """Parse and validate a session string such as ``0900-1700:23456|1000-1400:17``."""
    if not text.strip():
        raise SessionError("empty session string")
    if text == "24x7":
        return SessionSpec(text, (SessionRange(text, 0, _DAY),) * 7)
    if text.lower().replace("×", "x") == "24x7":
        raise SessionError(f"{text!r} is not a session string: did you mean 24x7?")
    if "24x7" in text:
        raise SessionError("24x7 must be the whole session string")
    _check_characters(text)
    parsed = []
    for number, part in enumerate(text.split("|"), 1):
        if not part:
            raise SessionError(f"range {number} is empty (check the '|' separators)")
        parsed.append(_parse_part(part))
    # A range without digits is the weekday default: days named elsewhere override it.
    named = {day for _, days in parsed if days is not None for day in days}
    entries: list[tuple[int, SessionRange]] = []
    for rng, days in parsed:
        applies = days if days is not None else _WEEKDAYS - named
        if not applies:
            raise SessionError(f"{rng.text} applies to no day: every weekday has its own range")
        entries += [(day, rng) for day in sorted(applies)]
    _check_overlaps(entries)
    by_day: list[SessionRange | None] = [None] * 7
    for day, rng in entries:
        other = by_day[day]
        if other is not None:
            merged_open, merged_close = min(other.open, rng.open), max(other.close, rng.close)
            hint = ""
            if merged_close - merged_open <= _DAY:
                hint = f" ({_range_text(merged_open, merged_close)})"
            raise SessionError(
                f"{other.text} and {rng.text} both give {_DAY_NAMES[day]} a session, but "
                f"TradingView does not support breaks within a trading day: merge them into "
                f"one range{hint}"
            )
        by_day[day] = rng
    return SessionSpec(text, tuple(by_day))


def _check_characters(text: str) -> None:
    """Reject syntax TradingView has but the broker API does not, with the reason."""
    if re.search(r"\s", text):
        raise SessionError("whitespace is not allowed in a session string")
    if ";" in text:
        raise SessionError("';' (a first day of the week) is not supported")
    if "," in text:
        raise SessionError(
            "',' (several ranges in one day) is not supported: TradingView does not support "
            "breaks within a trading day, merge them into one range"
        )
    if re.search(r"[0-9][Ff]", text):
        raise SessionError(
            "'F' (a session opening days before its trading day) is not supported; "
            "a start later than the end already makes an overnight session"
        )
    for char in text:
        if not _ALLOWED.fullmatch(char):
            hint = " (use a plain '-')" if char in _DASHES else ""
            raise SessionError(f"unexpected character {char!r}{hint}")


def _parse_part(part: str) -> tuple[SessionRange, frozenset[int] | None]:
    """One ``HHMM-HHMM[:digits]`` part: its range and days (None: the weekday default)."""
    span, colon, digits = part.partition(":")
    if ":" in digits:
        raise SessionError(f"{part} has more than one ':'")
    if span.count("-") != 1:
        raise SessionError(f"{part} is not a range: expected HHMM-HHMM")
    first, last = span.split("-")
    start = _minutes(first, part, "start")
    end = _minutes(last, part, "end")
    if start == _DAY:
        raise SessionError(f"{part} starts at 2400, which is only allowed as an end (use 0000)")
    days = _days(digits, part) if colon else None
    if start < end:
        return SessionRange(part, start, end), days
    if start == end == 0:  # "the 0000-0000 value is considered to be an intraday session"
        return SessionRange(part, 0, _DAY), days
    return SessionRange(part, start - _DAY, end), days


def _minutes(hhmm: str, part: str, which: str) -> int:
    if not hhmm:
        raise SessionError(f"{part} has no {which} time: expected HHMM-HHMM")
    if not _TIME.fullmatch(hhmm):
        raise SessionError(f"{hhmm} in {part} is not a time: expected four digits HHMM")
    hours, minutes = int(hhmm[:2]), int(hhmm[2:])
    if minutes > 59:
        raise SessionError(f"{hhmm} in {part}: minutes must be 00 to 59")
    if hours > 24 or (hours == 24 and minutes):
        raise SessionError(f"{hhmm} in {part}: hours must be 00 to 23 (or 2400 as an end)")
    return hours * 60 + minutes


def _days(digits: str, part: str) -> frozenset[int]:
    if not digits:
        raise SessionError(f"no day digits after ':' in {part} (1 = Sunday … 7 = Saturday)")
    days: set[int] = set()
    for char in digits:
        if char not in "1234567":
            raise SessionError(f"{char!r} in {part} is not a day: use 1 (Sunday) to 7 (Saturday)")
        day = int(char) - 1
        if day in days:
            raise SessionError(f"day {char} ({_DAY_NAMES[day]}) appears twice in {part}")
        days.add(day)
    return frozenset(days)


def _check_overlaps(entries: list[tuple[int, SessionRange]]) -> None:
    """Compare every day's range on the weekly circle, so overnight ranges wrap correctly."""
    pieces: list[tuple[int, int, SessionRange]] = []
    for day, rng in entries:
        start = (day * _DAY + rng.open) % _WEEK
        end = start + rng.close - rng.open
        pieces.append((start, min(end, _WEEK), rng))
        if end > _WEEK:  # Sunday's overnight range opens on Saturday evening
            pieces.append((0, end - _WEEK, rng))
    for i, (start1, end1, rng1) in enumerate(pieces):
        for start2, end2, rng2 in pieces[i + 1 :]:
            if max(start1, start2) < min(end1, end2):
                lo, hi = max(start1, start2), min(end1, end2)
                until = _when(hi) if lo // _DAY != (hi - 1) // _DAY else _when(hi)[-5:]
                raise SessionError(f"{rng1.text} and {rng2.text} overlap ({_when(lo)} to {until})")


def _when(week_minute: int) -> str:
    day, minute = divmod(week_minute % _WEEK, _DAY)
    return f"{_DAY_NAMES[day]} {minute // 60:02d}:{minute % 60:02d}"


def _range_text(open_: int, close: int) -> str:
    start = open_ % _DAY
    return f"{start // 60:02d}{start % 60:02d}-{close // 60:02d}{close % 60:02d}"


class SessionCalendar:
    """When a session spec trades in an IANA time zone; instants are Unix seconds (UTC)."""

    def __init__(self, spec: SessionSpec, timezone: str) -> None:
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SessionError(
                f"unknown time zone {timezone!r}: expected an IANA name such as America/New_York"
            ) from None
        self.spec = spec
        self.timezone = timezone
        # Streams ask about the same few days for every tick: remember their bounds.
        self._bounds: dict[date, tuple[tuple[int, int], ...]] = {}

    def __repr__(self) -> str:
        return f"SessionCalendar({self.spec.text!r}, {self.timezone!r})"

    def is_open(self, ts: float) -> bool:
        """Whether a session is open at ``ts`` (open minute included, close minute excluded)."""
        return self.trading_day(ts) is not None

    def trading_day(self, ts: float) -> date | None:
        """The trading day whose session contains ``ts``, None outside every session.

        An overnight session belongs to the day it ends on; a ``24x7`` or ``0000-0000`` day
        is the exchange's local calendar day.
        """
        local = datetime.fromtimestamp(ts, self._zone).date()
        # A session opens at the earliest on the calendar day before its trading day.
        for day in (local, local + timedelta(days=1)):
            for open_, close in self._day_bounds(day):
                if open_ <= ts < close:
                    return day
        return None

    def session_bounds(self, day: date) -> list[tuple[int, int]]:
        """The UTC [open, close) of ``day``'s session, an empty list if it does not trade."""
        return list(self._day_bounds(day))

    def daily_bar_time(self, day: date) -> int:
        """00:00 UTC of the trading day, the time TradingView expects on its daily bar."""
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())

    def minute_is_in_session(self, minute_start_ts: int) -> bool:
        """Whether the 1-minute bar starting at ``minute_start_ts`` lies in a session.

        Session boundaries fall on whole minutes, so a bar is inside when its first second is.
        """
        if minute_start_ts % 60:
            raise ValueError(f"{minute_start_ts} is not the start of a minute")
        return self.is_open(minute_start_ts)

    def sessions_between(self, start_ts: float, end_ts: float) -> Iterator[tuple[date, int, int]]:
        """Every (trading day, open, close) whose session overlaps [start_ts, end_ts), in order."""
        if end_ts <= start_ts:
            return
        day = datetime.fromtimestamp(start_ts, self._zone).date()
        # The last session that can overlap opens the calendar day before its trading day.
        last = datetime.fromtimestamp(end_ts, self._zone).date() + timedelta(days=1)
        while day <= last:
            for open_, close in self._day_bounds(day):
                if open_ < end_ts and close > start_ts:
                    yield day, open_, close
            day += timedelta(days=1)

    def _day_bounds(self, day: date) -> tuple[tuple[int, int], ...]:
        cached = self._bounds.get(day)
        if cached is not None:
            return cached
        rng = self.spec.days[day.isoweekday() % 7]
        bounds: tuple[tuple[int, int], ...] = ()
        if rng is not None:
            midnight = datetime(day.year, day.month, day.day)
            open_ = self._instant(midnight + timedelta(minutes=rng.open))
            close = self._instant(midnight + timedelta(minutes=rng.close))
            if open_ < close:  # a range inside a spring-forward gap has no session that day
                bounds = ((open_, close),)
        if len(self._bounds) >= _CACHE_DAYS:
            self._bounds.clear()
        self._bounds[day] = bounds
        return bounds

    def _instant(self, wall: datetime) -> int:
        """The first instant at which the local wall clock reads ``wall`` or later."""
        # fold=0 is the first occurrence of a repeated time; of a skipped time, the reading
        # with the pre-transition offset, which lies after the transition.
        after = int(wall.replace(tzinfo=self._zone).timestamp())
        if self._wall(after) == wall:
            return after
        before = int(wall.replace(tzinfo=self._zone, fold=1).timestamp())
        while after - before > 1:  # bisect to the transition: the clock jumps past ``wall``
            middle = (before + after) // 2
            if self._wall(middle) >= wall:
                after = middle
            else:
                before = middle
        return after

    def _wall(self, ts: int) -> datetime:
        return datetime.fromtimestamp(ts, self._zone).replace(tzinfo=None)
