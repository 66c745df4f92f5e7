"""When a FIX session runs: daily and weekly windows in the counterparty's time zone.

Every instant is a fixed, hand-picked timestamp (never the time of day the suite runs), so
each boundary is checked on both sides: a period starts inclusive and ends exclusive. The
period's start is what the initiator compares with the store to start a new sequence, so the
last tests check that it stays put inside a period and moves with the next one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.fix._schedule import Schedule, parse_clock, parse_day
from connectors.fix._session import Session, SessionSettings
from connectors.fix._transport import Initiator
from connectors.fix._wire import Message
from gateway.store.database import Database
from gateway.store.session_log import SessionLog
from tests.conftest import FakeClock

UTC = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
MON, WED, FRI, SUN = 0, 2, 4, 6
HOUR = 3600.0
DAY = 24 * HOUR


def at(zone: ZoneInfo, day: str, clock: str) -> float:
    """Unix seconds of a wall-clock time (``2026-01-14``, ``17:00``) in ``zone``."""
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone).timestamp()


def weekly(start: str, end: str, zone: ZoneInfo, start_day: int, end_day: int) -> Schedule:
    return Schedule(
        dt.time.fromisoformat(start), dt.time.fromisoformat(end), zone, start_day, end_day
    )


def daily(start: str, end: str, zone: ZoneInfo = UTC) -> Schedule:
    return Schedule(dt.time.fromisoformat(start), dt.time.fromisoformat(end), zone)


# -- parsing the configuration's words ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17:00", dt.time(17, 0)),
        ("00:05:30", dt.time(0, 5, 30)),
        ("25:00", None),
        ("17h", None),
        ("", None),
    ],
)
def test_clock_times_are_parsed_or_refused(text: str, expected: dt.time | None) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("mon", MON), ("Sunday", SUN), (" FRI ", FRI), ("wednesday", WED), ("su", None), ("", None)],
)
def test_day_names_are_parsed_or_refused(text: str, expected: int | None) -> None:
    assert parse_day(text) == expected


# -- daily windows ----------------------------------------------------------------------------


def test_a_daily_window_starts_inclusive_and_ends_exclusive() -> None:
    window = daily("00:05", "23:55")
    day = "2026-01-14"
    expected = (at(UTC, day, "00:05"), at(UTC, day, "23:55"))
    assert window.period(at(UTC, day, "00:05")) == expected
    assert window.period(at(UTC, day, "12:00")) == expected
    assert window.period(at(UTC, day, "23:54:59")) == expected
    assert window.period(at(UTC, day, "00:04:59")) is None
    assert window.period(at(UTC, day, "23:55")) is None
    # The gap before midnight belongs to no period, and the next day's is another one.
    assert window.period(at(UTC, "2026-01-15", "00:05")) == (
        at(UTC, "2026-01-15", "00:05"),
        at(UTC, "2026-01-15", "23:55"),
    )


def test_a_daily_window_over_midnight_belongs_to_the_day_it_started() -> None:
    night = daily("22:00", "06:00")
    evening = (at(UTC, "2026-01-14", "22:00"), at(UTC, "2026-01-15", "06:00"))
    assert night.period(at(UTC, "2026-01-14", "23:30")) == evening
    # After midnight the period is still the one that began the evening before.
    assert night.period(at(UTC, "2026-01-15", "03:00")) == evening
    assert night.period(at(UTC, "2026-01-15", "06:00")) is None
    assert night.period(at(UTC, "2026-01-15", "12:00")) is None
    assert night.period(at(UTC, "2026-01-14", "21:59:59")) is None


def test_a_daily_window_with_equal_ends_is_all_day_and_turns_over_at_its_start() -> None:
    always = daily("17:00", "17:00", NEW_YORK)
    before = always.period(at(NEW_YORK, "2026-01-14", "16:59:59"))
    after = always.period(at(NEW_YORK, "2026-01-14", "17:00"))
    assert before == (at(NEW_YORK, "2026-01-13", "17:00"), at(NEW_YORK, "2026-01-14", "17:00"))
    assert after == (at(NEW_YORK, "2026-01-14", "17:00"), at(NEW_YORK, "2026-01-15", "17:00"))
    # No instant is outside: 24 hourly samples over a day all find a period.
    start = at(NEW_YORK, "2026-01-14", "00:30")
    assert all(always.period(start + h * HOUR) is not None for h in range(24))


def test_the_window_is_read_in_its_time_zone() -> None:
    # 17:00 in New York is 22:00 UTC in winter and 21:00 UTC in summer.
    window = daily("17:00", "18:00", NEW_YORK)
    winter = window.period(at(UTC, "2026-01-14", "22:30"))
    summer = window.period(at(UTC, "2026-07-14", "21:30"))
    assert winter == (at(UTC, "2026-01-14", "22:00"), at(UTC, "2026-01-14", "23:00"))
    assert summer == (at(UTC, "2026-07-14", "21:00"), at(UTC, "2026-07-14", "22:00"))
    assert window.period(at(UTC, "2026-01-14", "17:30")) is None  # 17:30 UTC is 12:30 there


def test_a_window_east_of_utc_is_found_while_utc_is_still_on_the_day_before() -> None:
    # 08:00 on Monday in Tokyo is 23:00 on Sunday in UTC: the window is Monday's.
    tokyo = ZoneInfo("Asia/Tokyo")
    morning = daily("07:00", "09:00", tokyo)
    assert morning.period(at(UTC, "2026-01-11", "23:00")) == (
        at(tokyo, "2026-01-12", "07:00"),
        at(tokyo, "2026-01-12", "09:00"),
    )


def test_a_night_window_over_a_clock_change_keeps_its_wall_clock_ends() -> None:
    # Europe/London springs forward at 01:00 UTC on 2026-03-29: 22:00 GMT to 06:00 BST is
    # seven real hours, not eight.
    night = daily("22:00", "06:00", LONDON)
    period = night.period(at(UTC, "2026-03-29", "02:00"))
    assert period == (at(UTC, "2026-03-28", "22:00"), at(UTC, "2026-03-29", "05:00"))
    assert period[1] - period[0] == 7 * HOUR
    assert night.period(at(UTC, "2026-03-29", "05:00")) is None


# -- weekly windows ---------------------------------------------------------------------------


def test_the_forex_week_runs_from_sunday_to_friday_in_new_york() -> None:
    week = weekly("17:00", "17:00", NEW_YORK, SUN, FRI)
    expected = (at(NEW_YORK, "2026-01-11", "17:00"), at(NEW_YORK, "2026-01-16", "17:00"))
    inside = [
        at(NEW_YORK, "2026-01-11", "17:00"),  # Sunday, the first instant
        at(NEW_YORK, "2026-01-12", "03:00"),  # Monday night
        at(NEW_YORK, "2026-01-14", "12:00"),  # Wednesday
        at(NEW_YORK, "2026-01-16", "16:59:59"),  # Friday, the last second
    ]
    assert [week.period(t) for t in inside] == [expected] * len(inside)
    outside = [
        at(NEW_YORK, "2026-01-16", "17:00"),  # Friday close
        at(NEW_YORK, "2026-01-17", "12:00"),  # Saturday
        at(NEW_YORK, "2026-01-18", "16:59:59"),  # Sunday, before the open
    ]
    assert [week.period(t) for t in outside] == [None] * len(outside)
    assert week.period(at(NEW_YORK, "2026-01-18", "17:00")) == (
        at(NEW_YORK, "2026-01-18", "17:00"),
        at(NEW_YORK, "2026-01-23", "17:00"),
    )


def test_the_start_day_is_the_weekday_in_the_schedules_zone() -> None:
    # Sunday 20:00 in New York is already Monday in UTC: still inside the week that began on
    # Sunday there. Reading the weekday in UTC would find no Sunday start and say "closed".
    week = weekly("17:00", "17:00", NEW_YORK, SUN, FRI)
    instant = at(UTC, "2026-01-12", "01:00")
    assert dt.datetime.fromtimestamp(instant, UTC).weekday() == MON
    assert week.period(instant) == (
        at(NEW_YORK, "2026-01-11", "17:00"),
        at(NEW_YORK, "2026-01-16", "17:00"),
    )


def test_a_weekend_window_wraps_over_the_end_of_the_week() -> None:
    weekend = weekly("22:00", "06:00", UTC, FRI, MON)
    expected = (at(UTC, "2026-01-16", "22:00"), at(UTC, "2026-01-19", "06:00"))
    assert weekend.period(at(UTC, "2026-01-17", "12:00")) == expected  # Saturday
    assert weekend.period(at(UTC, "2026-01-18", "23:59")) == expected  # Sunday
    assert weekend.period(at(UTC, "2026-01-19", "05:59:59")) == expected  # Monday morning
    assert weekend.period(at(UTC, "2026-01-19", "06:00")) is None
    assert weekend.period(at(UTC, "2026-01-14", "12:00")) is None  # Wednesday
    assert weekend.period(at(UTC, "2026-01-16", "21:59")) is None  # Friday, before


def test_a_weekly_window_within_one_day() -> None:
    wednesday = weekly("09:00", "17:00", UTC, WED, WED)
    assert wednesday.period(at(UTC, "2026-01-14", "10:00")) == (
        at(UTC, "2026-01-14", "09:00"),
        at(UTC, "2026-01-14", "17:00"),
    )
    assert wednesday.period(at(UTC, "2026-01-14", "17:00")) is None
    assert wednesday.period(at(UTC, "2026-01-15", "10:00")) is None  # Thursday, same hours
    assert wednesday.period(at(UTC, "2026-01-21", "10:00")) == (
        at(UTC, "2026-01-21", "09:00"),
        at(UTC, "2026-01-21", "17:00"),
    )


def test_a_weekly_window_from_a_day_back_to_it_lasts_a_week() -> None:
    # Same day and same time: the whole week, turning over at Wednesday 17:00.
    always = weekly("17:00", "17:00", UTC, WED, WED)
    first = (at(UTC, "2026-01-14", "17:00"), at(UTC, "2026-01-21", "17:00"))
    assert always.period(at(UTC, "2026-01-14", "17:00")) == first
    assert always.period(at(UTC, "2026-01-21", "16:59:59")) == first  # seven days on
    assert always.period(at(UTC, "2026-01-21", "17:00")) == (
        at(UTC, "2026-01-21", "17:00"),
        at(UTC, "2026-01-28", "17:00"),
    )
    # Ending earlier in the day than it starts: back on the same weekday, a week later.
    almost = weekly("17:00", "09:00", UTC, WED, WED)
    assert almost.period(at(UTC, "2026-01-20", "12:00")) == (
        at(UTC, "2026-01-14", "17:00"),
        at(UTC, "2026-01-21", "09:00"),
    )
    assert almost.period(at(UTC, "2026-01-21", "12:00")) is None


def test_a_weekly_window_over_a_clock_change_is_an_hour_shorter() -> None:
    # London's spring change falls on Sunday 2026-03-29, inside a Friday-to-Monday window.
    weekend = weekly("22:00", "06:00", LONDON, FRI, MON)
    period = weekend.period(at(LONDON, "2026-03-29", "12:00"))
    assert period is not None
    start, end = period
    assert start == at(UTC, "2026-03-27", "22:00")  # GMT
    assert end == at(UTC, "2026-03-30", "05:00")  # 06:00 BST
    assert end - start == 2 * DAY + 7 * HOUR


# -- the period's start: a new sequence -------------------------------------------------------


class _Idle:
    """An application for a session that never connects in these tests."""

    def on_logon(self, session: Session) -> None: ...

    def on_logout(self, session: Session, reason: str) -> None: ...

    def on_message(self, session: Session, message: Message) -> None: ...

    def on_rejected(self, session: Session, sent: Message | None, text: str) -> None: ...

    def resend(self, message: Message) -> bool:
        return True

    def authenticate(self, logon: Message) -> str | None:
        return None


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    yield db
    db.dispose()


def test_every_instant_of_a_period_reports_the_same_start() -> None:
    # The initiator resets the numbers when the start differs from the stored one: a start
    # that drifted inside a period would reset the sequence in the middle of a session.
    week = weekly("17:00", "17:00", NEW_YORK, SUN, FRI)
    begin = at(NEW_YORK, "2026-01-11", "17:00")
    starts = {(week.period(begin + k * 7 * 61.0) or (None,))[0] for k in range(1000)}
    assert starts == {begin}


def test_a_new_period_resets_the_stored_numbers_and_the_same_period_keeps_them(
    database: Database,
) -> None:
    week = weekly("17:00", "17:00", NEW_YORK, SUN, FRI)
    clock = FakeClock(at(NEW_YORK, "2026-01-14", "12:00"))
    settings = SessionSettings("GATEWAY", "VENUE")
    store = SessionLog(database, settings.session_id)
    session = Session(settings, store, _Idle(), clock=clock)
    initiator = Initiator(session, "127.0.0.1", 9, schedule=week)

    period = week.period(clock())
    assert period is not None
    initiator._enter_period(period[0])
    assert store.load().period_start == period[0]
    store.record_sent(1, b"journaled")
    store.record_sent(2, None)
    store.set_next_in(7)

    # A reconnect later in the same week: nothing is reset.
    clock.advance(DAY)
    again = week.period(clock())
    assert again == period
    initiator._enter_period(again[0])
    numbers = store.load()
    assert (numbers.next_out, numbers.next_in) == (3, 7)
    assert store.sent(1, None) == [(1, b"journaled")]

    # The next week is a new FIX session: numbers from 1, the journal cleared.
    clock.advance(7 * DAY)
    following = week.period(clock())
    assert following is not None and following[0] == period[0] + 7 * DAY
    initiator._enter_period(following[0])
    numbers = store.load()
    assert (numbers.next_out, numbers.next_in, numbers.period_start) == (1, 1, following[0])
    assert store.sent(1, None) == []


def test_the_session_is_told_to_leave_when_its_period_is_over(database: Database) -> None:
    week = weekly("17:00", "17:00", NEW_YORK, SUN, FRI)
    clock = FakeClock(at(NEW_YORK, "2026-01-16", "16:59"))
    settings = SessionSettings("GATEWAY", "VENUE")
    session = Session(settings, SessionLog(database, settings.session_id), _Idle(), clock=clock)
    Initiator(session, "127.0.0.1", 9, schedule=week)
    # The initiator installs its check as the session's keep(): asked at every timer tick.
    assert session.keep() is None
    clock.advance(60)
    assert session.keep() == "the session's scheduled time is over"
