"""Session strings and the session calendar (gateway.market.sessions).

Expected instants are computed here from hard-coded UTC offsets (EST = UTC-5, EDT = UTC-4,
CST = UTC-6, CDT = UTC-5, CET = UTC+1, CEST = UTC+2), never through zoneinfo, so that the
calendar's time-zone arithmetic is checked against an independent source. In 2026 the US
changes clocks on Sunday 8 March and Sunday 1 November, the EU on 29 March and 25 October.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest

from gateway.market.sessions import SessionCalendar, SessionError, SessionSpec, parse_session

EST, EDT, CST, CDT, CET, CEST, UTC = -5, -4, -6, -5, 1, 2, 0
WEEKDAYS = "23456"


def at(local: str, offset: int) -> int:
    """Unix seconds of the wall time ``YYYY-MM-DD HH:MM[:SS]`` at a UTC offset in hours."""
    layout = "%Y-%m-%d %H:%M:%S" if local.count(":") == 2 else "%Y-%m-%d %H:%M"
    wall = datetime.strptime(local, layout)
    return calendar.timegm(wall.timetuple()) - offset * 3600


def midnight_utc(day: str) -> int:
    return at(f"{day} 00:00", UTC)


def days_of(spec: SessionSpec) -> dict[str, tuple[int, int]]:
    """{TradingView day digit: (open, close) in minutes from the trading day's midnight}."""
    return {
        str(index + 1): (rng.open, rng.close)
        for index, rng in enumerate(spec.days)
        if rng is not None
    }


def every(digits: str, bounds: tuple[int, int]) -> dict[str, tuple[int, int]]:
    return dict.fromkeys(digits, bounds)


def cal(text: str, timezone: str) -> SessionCalendar:
    return SessionCalendar(parse_session(text), timezone)


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # No day digits: Monday to Friday ("0930-1600 … every weekday").
        ("0930-1600", every(WEEKDAYS, (570, 960))),
        ("0930-1600:23456", every(WEEKDAYS, (570, 960))),
        (
            "0900-1700:23456|1000-1400:17",
            every(WEEKDAYS, (540, 1020)) | every("17", (600, 840)),
        ),
        # TradingView's own per-day example.
        (
            "0900-1700:1|1000-1700:2|1100-1700:34567",
            {"1": (540, 1020), "2": (600, 1020)} | every("34567", (660, 1020)),
        ),
        # Days named explicitly override the weekday default.
        ("0900-1630|0900-1400:2", every("3456", (540, 990)) | {"2": (540, 840)}),
        # Overnight: opens the day before, belongs to the day it ends on.
        ("1700-1600", every(WEEKDAYS, (-420, 960))),
        ("1700-1600:23456", every(WEEKDAYS, (-420, 960))),
        ("1800-1700", every(WEEKDAYS, (-360, 1020))),
        ("2200-2100:1234567", every("1234567", (-120, 1260))),
        ("1700-0000:2", {"2": (-420, 0)}),
        # start == end is a 24-hour overnight session, except 0000-0000 (a whole day).
        ("1700-1700", every(WEEKDAYS, (-420, 1020))),
        ("0000-0000", every(WEEKDAYS, (0, 1440))),
        ("0000-0000:23456", every(WEEKDAYS, (0, 1440))),
        ("0000-2400:1234567", every("1234567", (0, 1440))),
        ("0930-2400:7", {"7": (570, 1440)}),
        ("0000-2359:23456", every(WEEKDAYS, (0, 1439))),
        ("24x7", every("1234567", (0, 1440))),
    ],
)
def test_parse_session_forms(text: str, expected: dict[str, tuple[int, int]]) -> None:
    spec = parse_session(text)
    assert spec.text == text
    assert days_of(spec) == expected
    assert spec.always_open == (text == "24x7")


def test_ranges_keep_their_text_for_messages() -> None:
    spec = parse_session("0900-1630|0900-1400:2")
    assert spec.days[1] is not None and spec.days[1].text == "0900-1400:2"
    assert spec.days[2] is not None and spec.days[2].text == "0900-1630"
    assert spec.days[0] is None and spec.days[6] is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty session string"),
        ("   ", "empty session string"),
        ("24X7", "'24X7' is not a session string: did you mean 24x7?"),
        ("24×7", "'24×7' is not a session string: did you mean 24x7?"),
        ("24x7|0930-1600", "24x7 must be the whole session string"),
        ("0930 - 1600", "whitespace is not allowed in a session string"),
        ("1;0930-1600", "';' (a first day of the week) is not supported"),
        (
            "0930-1400,1430-1600",
            "',' (several ranges in one day) is not supported: TradingView does not support "
            "breaks within a trading day, merge them into one range",
        ),
        (
            "1600F-0930",
            "'F' (a session opening days before its trading day) is not supported; "
            "a start later than the end already makes an overnight session",
        ),
        ("0930-1600!", "unexpected character '!'"),
        ("open", "unexpected character 'o'"),
        ("0930\u20111600", "unexpected character '\u2011' (use a plain '-')"),
        ("0930–1600", "unexpected character '–' (use a plain '-')"),
        ("0930-1600|", "range 2 is empty (check the '|' separators)"),
        ("|0930-1600", "range 1 is empty (check the '|' separators)"),
        ("0930-1600||1000-1200:7", "range 2 is empty (check the '|' separators)"),
        ("0930", "0930 is not a range: expected HHMM-HHMM"),
        ("0930-1600-1700", "0930-1600-1700 is not a range: expected HHMM-HHMM"),
        ("0930-1600:2:3", "0930-1600:2:3 has more than one ':'"),
        ("-1600", "-1600 has no start time: expected HHMM-HHMM"),
        ("0930-", "0930- has no end time: expected HHMM-HHMM"),
        ("930-1600", "930 in 930-1600 is not a time: expected four digits HHMM"),
        ("09300-1600", "09300 in 09300-1600 is not a time: expected four digits HHMM"),
        ("0960-1600", "0960 in 0960-1600: minutes must be 00 to 59"),
        ("0930-1575", "1575 in 0930-1575: minutes must be 00 to 59"),
        ("2500-1600", "2500 in 2500-1600: hours must be 00 to 23 (or 2400 as an end)"),
        ("0930-2401", "2401 in 0930-2401: hours must be 00 to 23 (or 2400 as an end)"),
        ("2400-0930", "2400-0930 starts at 2400, which is only allowed as an end (use 0000)"),
        ("0930-1600:", "no day digits after ':' in 0930-1600: (1 = Sunday … 7 = Saturday)"),
        ("0930-1600:8", "'8' in 0930-1600:8 is not a day: use 1 (Sunday) to 7 (Saturday)"),
        ("0930-1600:0", "'0' in 0930-1600:0 is not a day: use 1 (Sunday) to 7 (Saturday)"),
        ("0930-1600:2-3", "'-' in 0930-1600:2-3 is not a day: use 1 (Sunday) to 7 (Saturday)"),
        ("0930-1600:22", "day 2 (Monday) appears twice in 0930-1600:22"),
        ("0930-1600:23456|1000-1400:717", "day 7 (Saturday) appears twice in 1000-1400:717"),
        (
            "0930-1600|1000-1400:23456",
            "0930-1600 applies to no day: every weekday has its own range",
        ),
    ],
)
def test_malformed_session_strings(text: str, message: str) -> None:
    with pytest.raises(SessionError) as caught:
        parse_session(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "0900-1700:23456|1000-1400:2",
            "0900-1700:23456 and 1000-1400:2 overlap (Monday 10:00 to 14:00)",
        ),
        ("0930-1600:2|0930-1600:2", "0930-1600:2 and 0930-1600:2 overlap (Monday 09:30 to 16:00)"),
        ("0930-1200|1100-1600", "0930-1200 and 1100-1600 overlap (Monday 11:00 to 12:00)"),
        # Monday's overnight session opens on Sunday evening, inside Sunday's session.
        (
            "1700-1600:23|1000-1800:1",
            "1700-1600:23 and 1000-1800:1 overlap (Sunday 17:00 to 18:00)",
        ),
        # Sunday's overnight session opens on Saturday evening: the week wraps around.
        (
            "0900-2000:7|1800-1600:1",
            "0900-2000:7 and 1800-1600:1 overlap (Saturday 18:00 to 20:00)",
        ),
        # Tuesday's session opens on Monday at 17:00, before Monday's ends at 18:00.
        (
            "0900-1800:2|1700-1600:3",
            "0900-1800:2 and 1700-1600:3 overlap (Monday 17:00 to 18:00)",
        ),
        (
            "0000-2400:2|2300-0100:3",
            "0000-2400:2 and 2300-0100:3 overlap (Monday 23:00 to 00:00)",
        ),
        (
            "1700-1700:23|0800-0900:2",
            "1700-1700:23 and 0800-0900:2 overlap (Monday 08:00 to 09:00)",
        ),
    ],
)
def test_overlapping_ranges_are_rejected(text: str, message: str) -> None:
    with pytest.raises(SessionError) as caught:
        parse_session(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "text",
    [
        "1700-1700:23456",  # adjacent 24-hour sessions share a boundary, they do not overlap
        "0000-0000:1234567",
        "1700-1600:23456|1600-1700:7",
        "0930-1600:2|1600-1700:3",
    ],
)
def test_touching_ranges_are_not_overlaps(text: str) -> None:
    parse_session(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "0930-1200:2|1300-1600:2",
            "0930-1200:2 and 1300-1600:2 both give Monday a session, but TradingView does not "
            "support breaks within a trading day: merge them into one range (0930-1600)",
        ),
        (
            "1700-1600:1234567|1600-1700:1",
            "1700-1600:1234567 and 1600-1700:1 both give Sunday a session, but TradingView does "
            "not support breaks within a trading day: merge them into one range (1700-1700)",
        ),
        (
            "0100-0200|1800-0000",
            "0100-0200 and 1800-0000 both give Monday a session, but TradingView does not "
            "support breaks within a trading day: merge them into one range (1800-0200)",
        ),
        (
            "1700-0100:2|0200-2300:2",
            "1700-0100:2 and 0200-2300:2 both give Monday a session, but TradingView does not "
            "support breaks within a trading day: merge them into one range",
        ),
    ],
)
def test_breaks_within_a_trading_day_are_rejected(text: str, message: str) -> None:
    with pytest.raises(SessionError) as caught:
        parse_session(text)
    assert str(caught.value) == message


def test_session_error_is_a_value_error() -> None:
    assert issubclass(SessionError, ValueError)


@pytest.mark.parametrize("timezone", ["Mars/Base", "", "../etc/passwd", "America/New_York "])
def test_unknown_time_zone(timezone: str) -> None:
    with pytest.raises(SessionError) as caught:
        cal("0930-1600", timezone)
    assert str(caught.value) == (
        f"unknown time zone {timezone!r}: expected an IANA name such as America/New_York"
    )


def test_calendar_describes_itself() -> None:
    calendar_ = cal("0930-1600", "America/New_York")
    assert repr(calendar_) == "SessionCalendar('0930-1600', 'America/New_York')"
    assert calendar_.timezone == "America/New_York"
    assert calendar_.spec.text == "0930-1600"


# --- a New York stock, 0930-1600, across both DST changes of 2026 ---------------------------

NY_STOCK = cal("0930-1600", "America/New_York")


@pytest.mark.parametrize(
    ("day", "offset"),
    [
        ("2026-03-06", EST),  # Friday before the spring change
        ("2026-03-09", EDT),  # Monday after it
        ("2026-10-30", EDT),  # Friday before the autumn change
        ("2026-11-02", EST),  # Monday after it
    ],
)
def test_stock_edges_across_dst(day: str, offset: int) -> None:
    open_, close = at(f"{day} 09:30", offset), at(f"{day} 16:00", offset)
    assert NY_STOCK.session_bounds(date.fromisoformat(day)) == [(open_, close)]
    assert not NY_STOCK.is_open(open_ - 1)
    assert NY_STOCK.is_open(open_)  # the open minute is included
    assert NY_STOCK.is_open(at(f"{day} 15:58:59", offset))
    assert NY_STOCK.is_open(close - 0.001)
    assert not NY_STOCK.is_open(close)  # the close minute is excluded
    assert NY_STOCK.trading_day(open_) == date.fromisoformat(day)
    assert NY_STOCK.trading_day(close) is None
    assert NY_STOCK.minute_is_in_session(open_)
    assert NY_STOCK.minute_is_in_session(close - 60)
    assert not NY_STOCK.minute_is_in_session(close)
    assert not NY_STOCK.minute_is_in_session(open_ - 60)


def test_stock_open_moves_one_hour_in_utc() -> None:
    friday = NY_STOCK.session_bounds(date(2026, 3, 6))[0][0]
    monday = NY_STOCK.session_bounds(date(2026, 3, 9))[0][0]
    assert friday % 86400 == 14 * 3600 + 30 * 60  # 14:30 UTC
    assert monday % 86400 == 13 * 3600 + 30 * 60  # 13:30 UTC


@pytest.mark.parametrize("day", ["2026-03-07", "2026-03-08", "2026-10-31", "2026-11-01"])
def test_stock_is_closed_on_weekends(day: str) -> None:
    assert NY_STOCK.session_bounds(date.fromisoformat(day)) == []
    assert not NY_STOCK.is_open(at(f"{day} 12:00", EST))


def test_minute_must_be_aligned() -> None:
    with pytest.raises(ValueError, match="is not the start of a minute"):
        NY_STOCK.minute_is_in_session(at("2026-03-09 10:00", EDT) + 30)


# --- forex 24x5 ----------------------------------------------------------------------------

# TradingView's own FX example is 1700-1700 in New York: Sunday 17:00 to Friday 17:00,
# each trading day opening at 17:00 the evening before.
FOREX_NY = cal("1700-1700", "America/New_York")


@pytest.mark.parametrize(
    ("local", "offset", "day"),
    [
        ("2026-01-11 16:59", EST, None),  # Sunday before the week opens
        ("2026-01-11 17:00", EST, "2026-01-12"),  # Sunday evening belongs to Monday
        ("2026-01-14 16:59:59", EST, "2026-01-14"),
        ("2026-01-14 17:00", EST, "2026-01-15"),  # the daily roll at 17:00
        ("2026-01-16 16:59", EST, "2026-01-16"),
        ("2026-01-16 17:00", EST, None),  # Friday close: no Saturday session
        ("2026-01-17 12:00", EST, None),
        ("2026-03-08 16:59", EDT, None),  # DST Sunday
        ("2026-03-08 17:00", EDT, "2026-03-09"),
        ("2026-10-30 16:59", EDT, "2026-10-30"),
        ("2026-11-01 17:00", EST, "2026-11-02"),
    ],
)
def test_forex_new_york(local: str, offset: int, day: str | None) -> None:
    ts = at(local, offset)
    expected = None if day is None else date.fromisoformat(day)
    assert FOREX_NY.trading_day(ts) == expected
    assert FOREX_NY.is_open(ts) == (day is not None)


def test_forex_dst_week_has_a_23_hour_monday() -> None:
    monday = FOREX_NY.session_bounds(date(2026, 3, 9))
    assert monday == [(at("2026-03-08 17:00", EDT), at("2026-03-09 17:00", EDT))]
    assert monday[0][1] - monday[0][0] == 24 * 3600  # Sunday 17:00 EDT: after the change
    tuesday_open = FOREX_NY.session_bounds(date(2026, 3, 10))[0][0]
    assert tuesday_open == monday[0][1]


FOREX_UTC = cal("0000-0000:23456", "Etc/UTC")


@pytest.mark.parametrize(
    ("local", "day"),
    [
        ("2026-01-11 23:59", None),
        ("2026-01-12 00:00", "2026-01-12"),
        ("2026-01-13 23:59:59", "2026-01-13"),
        ("2026-01-16 23:59", "2026-01-16"),
        ("2026-01-17 00:00", None),
    ],
)
def test_forex_utc_whole_days(local: str, day: str | None) -> None:
    expected = None if day is None else date.fromisoformat(day)
    assert FOREX_UTC.trading_day(at(local, UTC)) == expected


# --- crypto 24x7 ---------------------------------------------------------------------------

CRYPTO = cal("24x7", "Etc/UTC")


@pytest.mark.parametrize("local", ["2026-01-17 00:00", "2026-01-18 12:34", "2026-01-18 23:59:59"])
def test_crypto_trades_every_day(local: str) -> None:
    ts = at(local, UTC)
    assert CRYPTO.is_open(ts)
    assert CRYPTO.trading_day(ts) == date.fromisoformat(local[:10])


def test_crypto_day_is_the_utc_calendar_day() -> None:
    sunday = date(2026, 1, 18)
    assert CRYPTO.session_bounds(sunday) == [
        (midnight_utc("2026-01-18"), midnight_utc("2026-01-19"))
    ]
    assert CRYPTO.daily_bar_time(sunday) == midnight_utc("2026-01-18")


def test_24x7_in_a_dst_zone_follows_local_midnight() -> None:
    berlin = cal("24x7", "Europe/Berlin")
    spring = berlin.session_bounds(date(2026, 3, 29))
    assert spring == [(at("2026-03-29 00:00", CET), at("2026-03-30 00:00", CEST))]
    assert spring[0][1] - spring[0][0] == 23 * 3600
    assert berlin.trading_day(at("2026-03-28 23:30", UTC)) == date(2026, 3, 29)


def test_sessions_between_many_days_stays_correct() -> None:
    # Far more days than the calendar remembers at once.
    start, end = midnight_utc("2024-01-01"), midnight_utc("2027-01-01")
    sessions = list(CRYPTO.sessions_between(start, end))
    assert len(sessions) == 366 + 365 + 365
    assert sessions[0] == (date(2024, 1, 1), start, start + 86400)
    assert sessions[-1][2] == end
    assert all(a[2] == b[1] for a, b in pairwise(sessions))


# --- an overnight futures session, 1700-1600:23456 in Chicago ------------------------------

FUTURES = cal("1700-1600:23456", "America/Chicago")


@pytest.mark.parametrize(
    ("local", "offset", "day"),
    [
        ("2026-01-11 16:59", CST, None),
        ("2026-01-11 17:00", CST, "2026-01-12"),  # Sunday evening belongs to Monday
        ("2026-01-12 15:59", CST, "2026-01-12"),
        ("2026-01-12 16:00", CST, None),  # the daily maintenance hour
        ("2026-01-12 16:59", CST, None),
        ("2026-01-12 17:00", CST, "2026-01-13"),
        ("2026-01-16 15:59", CST, "2026-01-16"),
        ("2026-01-16 17:00", CST, None),  # Friday evening: no Saturday session
        ("2026-01-17 12:00", CST, None),
        ("2026-03-08 17:00", CDT, "2026-03-09"),
        ("2026-11-01 17:00", CST, "2026-11-02"),
    ],
)
def test_futures_overnight(local: str, offset: int, day: str | None) -> None:
    expected = None if day is None else date.fromisoformat(day)
    assert FUTURES.trading_day(at(local, offset)) == expected


def test_futures_bounds_and_daily_bar_time() -> None:
    monday = date(2026, 1, 12)
    assert FUTURES.session_bounds(monday) == [
        (at("2026-01-11 17:00", CST), at("2026-01-12 16:00", CST))
    ]
    assert FUTURES.session_bounds(date(2026, 1, 11)) == []  # Sunday is not a trading day
    assert FUTURES.daily_bar_time(monday) == midnight_utc("2026-01-12")
    # The DST Monday opens at 17:00 CDT on Sunday and closes at 16:00 CDT.
    assert FUTURES.session_bounds(date(2026, 3, 9)) == [
        (at("2026-03-08 17:00", CDT), at("2026-03-09 16:00", CDT))
    ]


# --- per-day variants ----------------------------------------------------------------------

PER_DAY = cal("0900-1700:23456|1000-1400:17", "Etc/UTC")


@pytest.mark.parametrize(
    ("local", "is_open"),
    [
        ("2026-01-17 09:59", False),  # Saturday
        ("2026-01-17 10:00", True),
        ("2026-01-17 13:59", True),
        ("2026-01-17 14:00", False),
        ("2026-01-18 09:30", False),  # Sunday
        ("2026-01-18 10:00", True),
        ("2026-01-19 09:00", True),  # Monday
        ("2026-01-19 16:59", True),
        ("2026-01-19 17:00", False),
    ],
)
def test_per_day_variants(local: str, is_open: bool) -> None:
    assert PER_DAY.is_open(at(local, UTC)) == is_open


def test_weekday_default_with_an_override() -> None:
    calendar_ = cal("0900-1630|0900-1400:2", "Etc/UTC")
    assert calendar_.session_bounds(date(2026, 1, 12)) == [
        (at("2026-01-12 09:00", UTC), at("2026-01-12 14:00", UTC))
    ]
    assert calendar_.session_bounds(date(2026, 1, 13)) == [
        (at("2026-01-13 09:00", UTC), at("2026-01-13 16:30", UTC))
    ]
    assert calendar_.session_bounds(date(2026, 1, 17)) == []


# --- trading day and daily bar time: the spec's example -----------------------------------

SPEC_EXAMPLE = cal("2200-2100", "Etc/UTC")


@pytest.mark.parametrize(
    ("local", "day"),
    [
        ("2026-01-12 20:59", "2026-01-12"),
        ("2026-01-12 21:59", None),  # between Monday's close and Tuesday's open
        ("2026-01-12 22:00", "2026-01-13"),  # Monday 22:00 opens Tuesday's session
        ("2026-01-13 20:59:59", "2026-01-13"),
        ("2026-01-13 21:00", None),
        ("2026-01-13 22:00", "2026-01-14"),
        ("2026-01-16 22:00", None),  # Friday evening: Saturday does not trade
        ("2026-01-18 22:00", "2026-01-19"),  # Sunday evening belongs to Monday
    ],
)
def test_spec_example_monday_2200_to_tuesday_2100_is_tuesday(local: str, day: str | None) -> None:
    expected = None if day is None else date.fromisoformat(day)
    assert SPEC_EXAMPLE.trading_day(at(local, UTC)) == expected


def test_spec_example_daily_bar_is_tuesday_midnight_utc() -> None:
    tuesday = SPEC_EXAMPLE.trading_day(at("2026-01-12 23:00", UTC))
    assert tuesday == date(2026, 1, 13)
    assert SPEC_EXAMPLE.daily_bar_time(tuesday) == midnight_utc("2026-01-13")
    assert SPEC_EXAMPLE.session_bounds(tuesday) == [
        (at("2026-01-12 22:00", UTC), at("2026-01-13 21:00", UTC))
    ]


def test_daily_bar_time_of_an_eastern_zone_is_still_utc_midnight() -> None:
    tokyo = cal("0900-1500", "Asia/Tokyo")
    monday = tokyo.trading_day(at("2026-01-12 09:00", 9))
    assert monday == date(2026, 1, 12)
    assert tokyo.session_bounds(monday)[0][0] == at("2026-01-12 00:00", UTC)
    assert tokyo.daily_bar_time(monday) == midnight_utc("2026-01-12")


# --- sessions_between ----------------------------------------------------------------------


def test_stock_sessions_between_skip_the_weekend() -> None:
    start, end = at("2026-01-16 12:00", EST), at("2026-01-20 09:30", EST)
    assert list(NY_STOCK.sessions_between(start, end)) == [
        (date(2026, 1, 16), at("2026-01-16 09:30", EST), at("2026-01-16 16:00", EST)),
        (date(2026, 1, 19), at("2026-01-19 09:30", EST), at("2026-01-19 16:00", EST)),
    ]


def test_forex_sessions_between_across_the_weekend() -> None:
    start, end = at("2026-01-16 12:00", EST), at("2026-01-19 12:00", EST)
    assert list(FOREX_NY.sessions_between(start, end)) == [
        (date(2026, 1, 16), at("2026-01-15 17:00", EST), at("2026-01-16 17:00", EST)),
        (date(2026, 1, 19), at("2026-01-18 17:00", EST), at("2026-01-19 17:00", EST)),
    ]


def test_futures_sessions_between_include_sunday_evening() -> None:
    start, end = at("2026-01-17 00:00", CST), at("2026-01-19 00:00", CST)
    assert list(FUTURES.sessions_between(start, end)) == [
        (date(2026, 1, 19), at("2026-01-18 17:00", CST), at("2026-01-19 16:00", CST)),
    ]


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (at("2026-01-12 16:00", EST), at("2026-01-13 09:30", EST), []),  # the night between
        (at("2026-01-12 15:59", EST), at("2026-01-13 09:31", EST), [12, 13]),
        (at("2026-01-13 12:00", EST), at("2026-01-13 12:00", EST), []),  # empty window
        (at("2026-01-13 12:00", EST), at("2026-01-12 12:00", EST), []),  # reversed window
    ],
)
def test_sessions_between_edges(start: int, end: int, days: list[int]) -> None:
    assert [d.day for d, _, _ in NY_STOCK.sessions_between(start, end)] == days


# --- daylight-saving gaps and repeats -------------------------------------------------------


def test_boundary_in_a_spring_forward_gap_moves_to_the_transition() -> None:
    # 29 March 2026, Berlin: 02:00 CET jumps to 03:00 CEST, so 02:30 never happens.
    berlin = cal("0230-1200:1", "Europe/Berlin")
    sunday = date(2026, 3, 29)
    transition = at("2026-03-29 03:00", CEST)
    assert transition == at("2026-03-29 02:00", CET)
    assert berlin.session_bounds(sunday) == [(transition, at("2026-03-29 12:00", CEST))]
    assert not berlin.is_open(transition - 1)
    assert berlin.trading_day(transition) == sunday


def test_close_in_a_spring_forward_gap_moves_to_the_transition() -> None:
    berlin = cal("0100-0230:1", "Europe/Berlin")
    assert berlin.session_bounds(date(2026, 3, 29)) == [
        (at("2026-03-29 01:00", CET), at("2026-03-29 03:00", CEST))
    ]


def test_range_inside_a_spring_forward_gap_has_no_session() -> None:
    berlin = cal("0200-0300:1", "Europe/Berlin")
    assert berlin.session_bounds(date(2026, 3, 29)) == []
    assert berlin.trading_day(at("2026-03-29 03:00", CEST)) is None
    assert berlin.session_bounds(date(2026, 3, 22)) == [
        (at("2026-03-22 02:00", CET), at("2026-03-22 03:00", CET))
    ]


def test_repeated_time_means_its_first_occurrence() -> None:
    # 25 October 2026, Berlin: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    berlin = cal("0230-1200:1", "Europe/Berlin")
    sunday = date(2026, 10, 25)
    assert berlin.session_bounds(sunday) == [
        (at("2026-10-25 02:30", CEST), at("2026-10-25 12:00", CET))
    ]
    assert berlin.trading_day(at("2026-10-25 02:15", CET)) == sunday  # the second 02:15


def test_overnight_session_spanning_a_dst_change() -> None:
    # The US changes clocks at 02:00 on a Sunday: each end keeps its wall-clock time.
    overnight = cal("2000-0400:2", "America/New_York")
    assert overnight.session_bounds(date(2026, 3, 9)) == [
        (at("2026-03-08 20:00", EDT), at("2026-03-09 04:00", EDT))
    ]
    sunday_night = cal("2000-0400:1", "America/New_York")
    assert sunday_night.session_bounds(date(2026, 3, 8)) == [
        (at("2026-03-07 20:00", EST), at("2026-03-08 04:00", EDT))
    ]
    assert sunday_night.session_bounds(date(2026, 11, 1)) == [
        (at("2026-10-31 20:00", EDT), at("2026-11-01 04:00", EST))
    ]


def test_day_after_the_repeat_is_unaffected() -> None:
    berlin = cal("0230-1200", "Europe/Berlin")
    monday = date(2026, 10, 26)
    assert berlin.session_bounds(monday) == [
        (at("2026-10-26 02:30", CET), at("2026-10-26 12:00", CET))
    ]
    assert berlin.session_bounds(monday + timedelta(days=-1)) == []
