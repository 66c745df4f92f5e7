"""When a FIX session runs: a weekly or daily window in the counterparty's time zone.

Counterparties publish their session times ("Sunday 17:00 to Friday 17:00 New York", or "daily
00:05 to 23:55 UTC"); outside them the gateway stays logged out and does not dial. Each
period is one FIX session: its sequence numbers start from 1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_clock(text: str) -> dt.time | None:
    """``HH:MM`` or ``HH:MM:SS``; None when malformed."""
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        return None


def parse_day(text: str) -> int | None:
    """Monday 0 … Sunday 6 from a day name (three letters or more); None if unknown."""
    key = text.strip().lower()[:3]
    return _DAYS.index(key) if key in _DAYS else None


@dataclass(frozen=True)
class Schedule:
    """A daily window (``start_day`` None) or one weekly window; ``start == end`` is all day."""

    start: dt.time
    end: dt.time
    zone: ZoneInfo
    start_day: int | None = None
    end_day: int | None = None

    def period(self, now: float) -> tuple[float, float] | None:
        """(start, end) Unix seconds of the period that contains ``now``, or None outside."""
        local = dt.datetime.fromtimestamp(now, self.zone)
        for back in range(8 if self.start_day is not None else 2):
            day = local.date() - dt.timedelta(days=back)
            if self.start_day is not None and day.weekday() != self.start_day:
                continue
            begin = dt.datetime.combine(day, self.start, self.zone)
            end = self._end_after(begin)
            if begin.timestamp() <= now < end.timestamp():
                return begin.timestamp(), end.timestamp()
        return None

    def _end_after(self, begin: dt.datetime) -> dt.datetime:
        if self.start_day is None or self.end_day is None:  # the options give both or neither
            days = 0 if self.end > self.start else 1
        else:
            days = (self.end_day - self.start_day) % 7
            if days == 0 and self.end <= self.start:
                days = 7
        return dt.datetime.combine(begin.date() + dt.timedelta(days=days), self.end, self.zone)
