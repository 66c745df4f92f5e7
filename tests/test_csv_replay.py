"""The csv_replay connector: file formats and their errors, the schedule, the thread, the YAML."""

from __future__ import annotations

import gzip
import itertools
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from connectors._csv_format import BAR_COLUMNS, MAX_PROBLEMS, TICK_COLUMNS
from connectors.csv_replay import MAX_LAG, CsvReplay, CsvReplayOptions, ReplayFileError, Sleep
from gateway.app import build_connectors
from gateway.config import ConfigError, load_config
from gateway.plugins.records import Bar, Depth, Quote, Tick, Trade
from gateway.plugins.registry import Registry, check_connector_class
from gateway.plugins.roles import ConnectorContext, MarketData
from tests.conftest import FakeClock

T0 = 1_800_000_030.0  # a replay start in the middle of a minute
HEADER = "offset,symbol,kind,price,size,bid,bid_size,ask,ask_size"
TICKS = f"""\
{HEADER}
0,EURUSD,trade,1.08,100000,,,,
0,EURUSD,quote,,,1.07997,2000000,1.08003,1000000
1.5,AAPL,trade,190.01,100,,,,
30,EURUSD,trade,1.08002,50000,,,,
90,AAPL,quote,,,190.00,300,190.02,200
"""
BARS = """\
offset,symbol,open,high,low,close,volume
-2,EURUSD,1.0795,1.0801,1.0794,1.0799,3000000
-1,AAPL,189.90,190.05,189.85,190.01,2500
-1,EURUSD,1.0799,1.0802,1.0798,1.08,1200000
0,EURUSD,1.08,1.08,1.08,1.08,100000
"""


def write(path: Path, text: str | bytes) -> Path:
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def make(
    base: Path,
    ticks: str | bytes = TICKS,
    bars: str | bytes | None = None,
    *,
    names: tuple[str, str] = ("ticks.csv", "bars.csv"),
    clock: FakeClock | None = None,
    sleep: Sleep | None = None,
    **options: Any,
) -> CsvReplay:
    write(base / names[0], ticks)
    if bars is not None:
        write(base / names[1], bars)
    opts = CsvReplayOptions(
        ticks=names[0],
        bars=names[1] if bars is not None else None,
        **options,
    )
    return CsvReplay(
        opts,
        ConnectorContext("feed", base, {}),
        clock=clock or FakeClock(T0),
        sleep=sleep,
    )


def schedule(replay: CsvReplay, t0: float, t1: float) -> list[tuple[float, str, str]]:
    return [(t.time, t.symbol, type(t).__name__) for t in replay.ticks_between(t0, t1)]


# -- formats ----------------------------------------------------------------------------------


def test_the_three_kinds_are_read_with_their_values(tmp_path: Path) -> None:
    text = (
        "offset,symbol,kind,price,size,bid,bid_size,ask,ask_size,bids,asks\n"
        "0.25,BTCUSD,trade,60000.5,0.015,,,,,,\n"
        "0.5,BTCUSD,quote,,,60000.0,1.5,60001.0,2,,\n"
        "0.75,BTCUSD,depth,,,,,,,59999:1;60000:2,60001:3;60002:4\n"
        "1,BTCUSD,depth,,,,,,,,\n"
    )
    replay = make(tmp_path, text, start=T0)
    assert list(replay.ticks_between(T0, T0 + 2)) == [
        Trade("BTCUSD", T0 + 0.25, 60000.5, 0.015),
        Quote("BTCUSD", T0 + 0.5, 60000.0, 1.5, 60001.0, 2.0),
        Depth(
            "BTCUSD", T0 + 0.75, ((59999.0, 1.0), (60000.0, 2.0)), ((60001.0, 3.0), (60002.0, 4.0))
        ),
        Depth("BTCUSD", T0 + 1, (), ()),
    ]


def test_comments_blank_lines_bom_crlf_quotes_and_column_order(tmp_path: Path) -> None:
    text = (
        "\ufeff# recorded on the demo feed\r\n"
        "symbol,kind,size,price,offset\r\n"
        "\r\n"
        '"EUR,USD",trade,5," 1.5 ",2\r\n'
        "   # a comment\r\n"
        '"A""B",trade,1,1,3\r\n'
    )
    replay = make(tmp_path, text, start=T0)
    assert list(replay.ticks_between(T0, T0 + 10)) == [
        Trade("EUR,USD", T0 + 2, 1.5, 5.0),
        Trade('A"B', T0 + 3, 1.0, 1.0),
    ]


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_plain_and_gzip_files_give_the_same_ticks_and_bars(tmp_path: Path, suffix: str) -> None:
    names = (f"ticks.csv{suffix}", f"bars.csv{suffix}")
    replay = make(tmp_path, TICKS, BARS, names=names, start=T0)
    assert replay.validate() == []
    assert schedule(replay, T0, T0 + 100) == [
        (T0, "EURUSD", "Trade"),
        (T0, "EURUSD", "Quote"),
        (T0 + 1.5, "AAPL", "Trade"),
        (T0 + 30, "EURUSD", "Trade"),
        (T0 + 90, "AAPL", "Quote"),
    ]
    assert [b.time for b in replay.backfill("EURUSD", 0, 2**31)] == [
        1_800_000_000 - 120,
        1_800_000_000 - 60,
        1_800_000_000,
    ]


VALID_TICKS = "offset,symbol,kind,price,size\n0,A,trade,1,1\n"
BAR_HEADER = ",".join(BAR_COLUMNS)

MALFORMED: list[tuple[str, str | bytes, str]] = [
    ("ticks", f"{HEADER}\nabc,EURUSD,trade,1.1,5,,,,", "2:1: offset: expected a number, got 'abc'"),
    ("ticks", f"{HEADER}\n-1,EURUSD,trade,1.1,5,,,,", "2:1: offset: must not be below 0, got -1"),
    (
        "ticks",
        f"{HEADER}\n5,A,trade,1,1,,,,\n4.5,A,trade,1,1,,,,",
        "3:1: offset: 4.5 is before the previous row's 5: rows must be in time order",
    ),
    (
        "ticks",
        f"{HEADER}\n1,EURUSD,trde,1.1,5,,,,",
        "2:10: kind: unknown kind 'trde' (did you mean trade?); use trade, quote or depth",
    ),
    ("ticks", f"{HEADER}\n1,,trade,1,1,,,,", "2:3: symbol: missing value"),
    ("ticks", f"{HEADER}\n1,EURUSD,trade,,5,,,,", "2:16: price: missing value"),
    ("ticks", f"{HEADER}\n1,EURUSD,trade,nan,5,,,,", "2:16: price: expected a number, got 'nan'"),
    ("ticks", f"{HEADER}\n1,EURUSD,trade,1e999,5,,,,", "2:16: price: number out of range: 1e999"),
    ("ticks", f"{HEADER}\n1,EURUSD,trade,1.1,-5,,,,", "2:20: size: must not be below 0, got -5"),
    ("ticks", f"{HEADER}\n1,EURUSD,trade,1.1,5,1.0,,,", "2:22: bid: must be empty in a trade row"),
    (
        "ticks",
        f"{HEADER}\n1,EURUSD,quote,,,1.2,5,1.1,5",
        "2:24: ask: the ask 1.1 is below the bid 1.2",
    ),
    ("ticks", f"{HEADER}\n1,EURUSD,quote,,,,5,1.1,5", "2:18: bid: missing value"),
    ("ticks", f"{HEADER}\n1,EURUSD,trade,1.1,5,,,", "2:1: expected 9 fields, got 8"),
    ("ticks", 'offset,"symbol,kind\n', "1:1: unterminated quote starting at column 8"),
    (
        "ticks",
        f'{HEADER}\n1,"EURUSD,trade,1.1,5,,,,',
        "2:1: unterminated quote starting at column 3",
    ),
    (
        "ticks",
        f'{HEADER}\n1,"A"B,trade,1,1,,,,',
        "2:1: unexpected text after the closing quote at column 6",
    ),
    (
        "ticks",
        "offset,symbol,kind,prcie,size\n1,A,trade,1,1",
        "1:20: unknown column 'prcie' (did you mean price?)",
    ),
    (
        "ticks",
        "offset,symbol,kind,price,price\n1,A,trade,1,1",
        "1:26: column 'price' appears twice",
    ),
    ("ticks", "offset,kind,price,size\n1,trade,1,1", "1:1: header lacks column symbol"),
    (
        "ticks",
        "",
        "1:1: empty file: expected a header line such as " + ",".join(TICK_COLUMNS),
    ),
    ("ticks", f"# only a header\n{HEADER}\n", "2:1: no ticks: a replay needs at least one row"),
    (
        "ticks",
        "offset,symbol,kind,price,size\n1,A,quote,1,2",
        "2:5: kind: a quote row needs column bid, bid_size, ask, ask_size, absent from the header",
    ),
    (
        "ticks",
        "offset,symbol,kind,bids,asks\n1,A,depth,1.0:5;0.9:5,1.1:5",
        "2:11: bids: levels must ascend by price: '0.9:5' follows 1",
    ),
    (
        "ticks",
        "offset,symbol,kind,bids,asks\n1,A,depth,1.0-5,1.1:5",
        "2:11: bids: expected price:size levels separated by ';', got '1.0-5'",
    ),
    (
        "ticks",
        "offset,symbol,kind,bids,asks\n1,A,depth,1.0:0,1.1:5",
        "2:11: bids: level '1.0:0': the size must be positive",
    ),
    (
        "ticks",
        "offset,symbol,kind,bids,asks\n1,A,depth,1.2:5,1.1:5",
        "2:17: asks: the best ask 1.1 is below the best bid 1.2",
    ),
    ("ticks", f"{HEADER}\n1,\xffA,trade,1,1,,,,".encode("latin-1"), "2:3: not UTF-8 text"),
    (
        "bars",
        f"{BAR_HEADER}\n1,A,1,2,0.5,1.5,10",
        "2:1: offset: must be 0 or negative (minutes before the replay start), got 1",
    ),
    (
        "bars",
        f"{BAR_HEADER}\n-1.5,A,1,2,0.5,1.5,10",
        "2:1: offset: expected whole minutes (an integer ≤ 0), got '-1.5'",
    ),
    (
        "bars",
        f"{BAR_HEADER}\n-1,A,1,1.2,0.5,1.5,10",
        "2:8: high: 1.2 is below the bar's open, low or close",
    ),
    (
        "bars",
        f"{BAR_HEADER}\n-1,A,1,2,1.1,1.5,10",
        "2:10: low: 1.1 is above the bar's open or close",
    ),
    (
        "bars",
        f"{BAR_HEADER}\n-1,A,1,2,0.5,1.5,10\n-1,A,1,2,0.5,1.5,10",
        "3:1: offset: a second bar of A at offset -1",
    ),
    (
        "bars",
        f"{BAR_HEADER}\n-1,A,1,2,0.5,1.5,10\n-2,A,1,2,0.5,1.5,10",
        "3:1: offset: -2 is before the previous row's -1: rows must be in time order",
    ),
    (
        "bars",
        f"{BAR_HEADER}\n-1,B,1,2,0.5,1.5,10",
        "2:4: symbol: 'B' never occurs in the tick file",
    ),
    ("bars", f"{BAR_HEADER}\n-1,,1,2,0.5,1.5,10", "2:4: symbol: missing value"),
    ("bars", f"{BAR_HEADER}\n-1,A,1,2,0.5,1.5,-3", "2:18: volume: must not be below 0, got -3"),
    ("bars", f"{BAR_HEADER}\n-1,A,1,2,x,1.5,3", "2:10: low: expected a number, got 'x'"),
    (
        "bars",
        "offset,symbol,open,high,low,close\n-1,A,1,2,0.5,1.5",
        "1:1: header lacks column volume",
    ),
]


@pytest.mark.parametrize(("which", "content", "problem"), MALFORMED)
def test_malformed_rows_are_reported_with_file_line_and_column(
    tmp_path: Path, which: str, content: str | bytes, problem: str
) -> None:
    if which == "ticks":
        replay = make(tmp_path, content)
        path = tmp_path / "ticks.csv"
    else:
        replay = make(tmp_path, VALID_TICKS, content)
        path = tmp_path / "bars.csv"
    assert replay.validate() == [f"{path}:{problem}"]
    with pytest.raises(ReplayFileError) as exc:
        replay.start()
    assert str(exc.value) == f"{path}:{problem}"
    assert not replay.running


def test_every_problem_of_both_files_is_listed_at_once(tmp_path: Path) -> None:
    replay = make(
        tmp_path,
        f"{HEADER}\nx,A,trade,1,1,,,,\n1,A,trade,y,1,,,,\n",
        f"{BAR_HEADER}\n1,A,1,2,0.5,1.5,10\n",
    )
    ticks, bars = tmp_path / "ticks.csv", tmp_path / "bars.csv"
    assert replay.validate() == [
        f"{ticks}:2:1: offset: expected a number, got 'x'",
        f"{ticks}:3:11: price: expected a number, got 'y'",
        f"{bars}:2:1: offset: must be 0 or negative (minutes before the replay start), got 1",
    ]


def test_a_wrong_file_stops_after_a_bounded_number_of_problems(tmp_path: Path) -> None:
    rows = "".join(f"{i},A,trade,bad,1,,,,\n" for i in range(100))
    problems = make(tmp_path, f"{HEADER}\n{rows}").validate()
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == f"{tmp_path / 'ticks.csv'}: stopped after {MAX_PROBLEMS} problems"
    bars = "".join(f"-1,A,1,2,3,1,{i}\n" for i in range(60))
    problems = make(tmp_path, VALID_TICKS, f"{BAR_HEADER}\n{bars}").validate()
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == f"{tmp_path / 'bars.csv'}: stopped after {MAX_PROBLEMS} problems"


def test_unreadable_files_are_reported_and_construction_reads_nothing(tmp_path: Path) -> None:
    opts = CsvReplayOptions(ticks="missing.csv", bars="data/none.csv.gz")
    replay = CsvReplay(opts, ConnectorContext("feed", tmp_path, {}))  # no I/O: no error yet
    assert replay.validate() == [
        f"{tmp_path / 'missing.csv'}: cannot read: No such file or directory",
        f"{tmp_path / 'data' / 'none.csv.gz'}: cannot read: No such file or directory",
    ]
    (tmp_path / "bad.csv.gz").write_text("not gzip at all")
    bad = CsvReplay(CsvReplayOptions(ticks="bad.csv.gz"), ConnectorContext("f", tmp_path, {}))
    [problem] = bad.validate()
    assert problem.startswith(f"{tmp_path / 'bad.csv.gz'}: cannot read: ")
    assert "gzip" in problem


def test_a_fixed_file_validates_after_a_failed_attempt(tmp_path: Path) -> None:
    replay = make(tmp_path, f"{HEADER}\nx,A,trade,1,1,,,,\n")
    assert replay.validate() != []
    write(tmp_path / "ticks.csv", TICKS)
    assert replay.validate() == []


# -- the schedule ------------------------------------------------------------------------------


def test_the_schedule_is_a_pure_function_of_the_files_and_the_start(tmp_path: Path) -> None:
    first = schedule(make(tmp_path, start=T0), T0 - 50, T0 + 10_000)
    again = schedule(make(tmp_path, start=T0, clock=FakeClock(T0 + 999)), T0 - 50, T0 + 10_000)
    assert first == again
    assert first[:5] == [
        (T0, "EURUSD", "Trade"),
        (T0, "EURUSD", "Quote"),
        (T0 + 1.5, "AAPL", "Trade"),
        (T0 + 30, "EURUSD", "Trade"),
        (T0 + 90, "AAPL", "Quote"),
    ]


@pytest.mark.parametrize(("last", "period"), [(90.0, 120.0), (119.999, 120.0), (120.0, 180.0)])
def test_the_loop_length_is_the_whole_minutes_after_the_last_offset(
    tmp_path: Path, last: float, period: float
) -> None:
    replay = make(tmp_path, f"{HEADER}\n0,A,trade,1,1,,,,\n{last},A,trade,2,1,,,,\n", start=T0)
    assert replay.period == period
    times = [t for t, *_ in schedule(replay, T0, T0 + 3 * period)]
    assert times == [
        T0,
        T0 + last,
        T0 + period,
        T0 + period + last,
        T0 + 2 * period,
        T0 + 2 * period + last,
    ]


def test_loops_shift_by_the_period_and_time_never_decreases(tmp_path: Path) -> None:
    replay = make(tmp_path, start=T0)  # period 120 s
    ticks = list(replay.ticks_between(T0, T0 + 120 * 50))
    assert len(ticks) == 5 * 50
    for n in range(50):
        assert [t.time - 120 * n for t in ticks[5 * n : 5 * n + 5]] == pytest.approx(
            [T0, T0, T0 + 1.5, T0 + 30, T0 + 90], abs=1e-6
        )
    times = [t.time for t in ticks]
    assert times == sorted(times)
    for _, group in itertools.groupby(
        sorted(ticks, key=lambda t: (t.symbol, type(t).__name__)),
        key=lambda t: (t.symbol, type(t).__name__),
    ):
        per_kind = [t.time for t in group]
        assert per_kind == sorted(per_kind)
    # Everything else but the time is replayed unchanged.
    assert ticks[5 * 7] == Trade("EURUSD", T0 + 120 * 7, 1.08, 100000.0)


def test_windows_far_ahead_equal_slices_of_one_long_window(tmp_path: Path) -> None:
    replay = make(tmp_path, start=T0)
    day = 86_400.0
    whole = schedule(replay, T0 + day, T0 + day + 600)
    parts = [schedule(replay, T0 + day + s, T0 + day + s + 37) for s in range(0, 629, 37)]
    assert whole == [x for part in parts for x in part if x[0] < T0 + day + 600]
    assert len(whole) == 25
    assert all(T0 + day <= t < T0 + day + 600 for t, *_ in whole)


def test_without_loop_the_recording_plays_once(tmp_path: Path) -> None:
    replay = make(tmp_path, start=T0, loop=False)
    assert len(schedule(replay, T0 - 10, T0 + 10_000)) == 5
    assert schedule(replay, T0 + 91, T0 + 10_000) == []


def test_speed_divides_offsets_and_period(tmp_path: Path) -> None:
    replay = make(tmp_path, start=T0, speed=2.0)
    assert replay.period == 60.0
    assert [t for t, *_ in schedule(replay, T0, T0 + 120)] == [
        T0, T0, T0 + 0.75, T0 + 15, T0 + 45, T0 + 60, T0 + 60, T0 + 60.75, T0 + 75, T0 + 105
    ]  # fmt: skip


def test_the_start_defaults_to_when_the_replay_is_first_needed(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    replay = make(tmp_path, TICKS, BARS, clock=clock)
    assert replay.backfill("AAPL", 0, 2**31)[0].time == 1_800_000_000 - 60
    clock.advance(500)  # the anchor is already fixed by the back-fill
    assert replay.anchor == T0
    assert schedule(replay, T0, T0 + 1)[0] == (T0, "EURUSD", "Trade")


# -- back-fill ---------------------------------------------------------------------------------


def test_backfill_is_anchored_at_the_start_minute_and_filtered_half_open(tmp_path: Path) -> None:
    replay = make(tmp_path, TICKS, BARS, start=T0)
    m = 1_800_000_000  # floor_to_minute(T0)
    assert replay.backfill("EURUSD", m - 120, m) == [
        Bar("EURUSD", m - 120, 1.0795, 1.0801, 1.0794, 1.0799, 3_000_000.0),
        Bar("EURUSD", m - 60, 1.0799, 1.0802, 1.0798, 1.08, 1_200_000.0),
    ]
    assert [b.time for b in replay.backfill("EURUSD", m - 119, m + 1)] == [m - 60, m]
    assert [b.time for b in replay.backfill("EURUSD", m - 60, m - 60)] == []
    assert replay.backfill("AAPL", m - 60, m - 59) == [
        Bar("AAPL", m - 60, 189.90, 190.05, 189.85, 190.01, 2500.0)
    ]
    assert replay.backfill("BTCUSD", 0, 2**31) == []
    assert make(tmp_path, TICKS, start=T0).backfill("EURUSD", 0, 2**31) == []


# -- the publishing thread -----------------------------------------------------------------------


class Collect:
    """A sink that keeps what it receives and the clock at that moment."""

    def __init__(self, clock: FakeClock, until: int) -> None:
        self.clock = clock
        self.until = until
        self.ticks: list[Tick] = []
        self.lags: list[float] = []
        self.done = threading.Event()

    def publish(self, tick: Tick) -> None:
        self.ticks.append(tick)
        self.lags.append(self.clock.now - tick.time)
        if len(self.ticks) >= self.until:
            self.done.set()


class Boom:
    def __init__(self) -> None:
        self.calls = 0

    def publish(self, tick: Tick) -> None:
        self.calls += 1
        raise RuntimeError("sink is broken")


def fast_forward(clock: FakeClock, oversleep: float = 0.0) -> Sleep:
    def sleep(seconds: float) -> bool:
        clock.advance(seconds + oversleep)
        return False

    return sleep


def test_the_thread_publishes_the_schedule_to_every_sink(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    replay = make(tmp_path, clock=clock, sleep=fast_forward(clock))
    one, two = Collect(clock, 40), Collect(clock, 40)
    replay.subscribe(one)
    replay.start()
    replay.subscribe(two)  # joins while running, receives from then on
    try:
        assert one.done.wait(5) and two.done.wait(5)
    finally:
        replay.stop()
    assert not replay.running
    expected = list(itertools.islice(replay.ticks_between(T0, math.inf), len(one.ticks)))
    assert one.ticks == expected
    assert two.ticks == expected[len(expected) - len(two.ticks) :]
    assert all(lag == pytest.approx(0, abs=1e-6) for lag in one.lags)  # published on time


def test_a_failing_sink_is_logged_and_the_replay_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(T0)
    replay = make(tmp_path, clock=clock, sleep=fast_forward(clock))
    boom, good = Boom(), Collect(clock, 30)
    replay.subscribe(boom)
    replay.subscribe(good)
    with caplog.at_level(logging.ERROR, logger="gateway.connectors.csv_replay"):
        replay.start()
        try:
            assert good.done.wait(5)
        finally:
            replay.stop()
    assert boom.calls >= 30
    errors = [r for r in caplog.records if "sink" in r.getMessage()]
    assert errors and errors[0].exc_info is not None
    assert "sink is broken" in caplog.text
    assert len(errors) < boom.calls  # rate-limited, not one traceback per tick


def test_stop_is_prompt_while_waiting_for_the_next_tick(tmp_path: Path) -> None:
    replay = CsvReplay(
        CsvReplayOptions(ticks="ticks.csv"),
        ConnectorContext(
            "feed",
            write(
                tmp_path / "ticks.csv", f"{HEADER}\n0,A,trade,1,1,,,,\n600,A,trade,1,1,,,,\n"
            ).parent,
            {},
        ),
    )  # the real clock and Event.wait
    seen = threading.Event()

    class Sink:
        def publish(self, tick: Tick) -> None:
            seen.set()

    replay.subscribe(Sink())
    replay.start()
    replay.start()  # a second start while running is a no-op
    assert seen.wait(2)
    began = time.monotonic()
    replay.stop()
    assert time.monotonic() - began < 0.5
    assert not replay.running
    replay.stop()  # idempotent


def test_after_a_stall_the_replay_skips_to_now_instead_of_bursting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(T0)
    rows = "".join(f"{i},A,trade,1,1,,,,\n" for i in range(60))
    replay = make(tmp_path, f"{HEADER}\n{rows}", clock=clock, sleep=fast_forward(clock, 10.0))
    sink = Collect(clock, 20)
    replay.subscribe(sink)
    with caplog.at_level(logging.WARNING, logger="gateway.connectors.csv_replay"):
        replay.start()
        try:
            assert sink.done.wait(5)
        finally:
            replay.stop()
    assert max(sink.lags) <= MAX_LAG
    times = [t.time for t in sink.ticks]
    assert times == sorted(times)
    assert times[1] - times[0] > MAX_LAG  # skipped, not replayed late
    assert "skipping to now" in caplog.text


def test_a_replay_anchored_long_ago_joins_its_schedule_now_and_restarts(tmp_path: Path) -> None:
    clock = FakeClock(T0 + 86_400 + 45)  # one day (720 loops) and 45 s after the fixed start
    replay = make(tmp_path, clock=clock, sleep=fast_forward(clock), start=T0)
    first = Collect(clock, 3)
    replay.subscribe(first)
    replay.start()
    try:
        assert first.done.wait(5)
    finally:
        replay.stop()
    assert first.ticks[:2] == list(replay.ticks_between(T0 + 86_400 + 45, T0 + 86_400 + 150))[:2]
    assert first.ticks[0].time == T0 + 86_400 + 90
    stopped_at = first.ticks[-1].time
    second = Collect(clock, 3)
    replay.subscribe(second)
    replay.start()  # a stopped replay starts again
    try:
        assert second.done.wait(5)
    finally:
        replay.stop()
    assert second.ticks[0].time >= stopped_at


def test_an_unexpected_error_in_the_thread_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(seconds: float) -> bool:
        raise RuntimeError("the clock broke")

    replay = make(tmp_path, sleep=broken)
    replay.subscribe(Collect(FakeClock(), 100))
    with caplog.at_level(logging.ERROR, logger="gateway.connectors.csv_replay"):
        replay.start()
        deadline = time.monotonic() + 5
        while replay.running and time.monotonic() < deadline:
            time.sleep(0.01)
    replay.stop()
    assert "the replay thread failed" in caplog.text
    assert "the clock broke" in caplog.text


def test_a_recording_that_does_not_loop_ends_its_thread(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    replay = make(tmp_path, clock=clock, sleep=fast_forward(clock), loop=False)
    sink = Collect(clock, 5)
    replay.subscribe(sink)
    replay.start()
    assert sink.done.wait(5)
    deadline = time.monotonic() + 5
    while replay.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not replay.running
    assert len(sink.ticks) == 5
    replay.stop()


# -- the plugin contract and the YAML -----------------------------------------------------------


def test_the_connector_meets_the_contract_and_is_installed() -> None:
    assert check_connector_class(CsvReplay, "csv_replay") is CsvReplay
    assert Registry.discover().get("csv_replay") is CsvReplay
    replay = CsvReplay(CsvReplayOptions(ticks="x.csv"), ConnectorContext("f", Path("."), {}))
    assert isinstance(replay, MarketData)


HASH = (  # the demo's hash of "demo"
    "$argon2id$v=19$m=65536,t=3,p=4$b3A5ND4dTGBRVUlcSQdw5g$wbiJiUbHbWiYIOt4wJc8rK2Tzzk0ScliWSdLQTpqg5g"
)
MINIMAL = f"""\
version: 1
broker: {{name: Acme}}
users:
  - login: alice
    password_hash: {HASH}
    accounts: [A1]
accounts:
  - {{id: A1, name: Alice, type: live, currency: USD}}
connectors:
"""


def test_options_are_validated_with_positions(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        MINIMAL + "  a:\n    type: csv_replay\n    ticks: t.csv\n    speed: fast\n"
        "  b:\n    type: csv_replay\n    ticks: t.csv\n    speed: 0\n    loop: maybe\n"
        "  c:\n    type: csv_replay\n    tick: t.csv\n    start: .inf\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_config(config)
    assert [str(p).replace(str(config), "F") for p in exc.value.problems] == [
        "F:13:12: connectors.a.speed: expected a number, got a string ('fast')",
        "F:17:12: connectors.b.speed: must be a number greater than 0",
        "F:18:11: connectors.b.loop: expected true or false, got a string ('maybe')",
        "F:21:5: connectors.c.tick: unknown key (did you mean ticks?)",
        "F:22:12: connectors.c.start: must be a finite Unix time",
    ]


def test_a_configured_replay_reads_files_next_to_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write(tmp_path / "data" / "ticks.csv.gz", TICKS)
    write(tmp_path / "data" / "bars.csv", BARS)
    config = tmp_path / "gateway.yaml"
    config.write_text(
        MINIMAL + "  feed:\n    type: csv_replay\n    ticks: data/ticks.csv.gz\n"
        "    bars: data/bars.csv\n    speed: 2\n    start: 1800000030\n"
    )
    cfg = load_config(config)
    assert cfg.connectors["feed"].options == CsvReplayOptions(
        ticks="data/ticks.csv.gz", bars="data/bars.csv", speed=2.0, loop=True, start=T0
    )
    replay = build_connectors(cfg, Registry.discover())["feed"]
    assert isinstance(replay, CsvReplay)
    assert replay.validate() == []
    assert schedule(replay, T0, T0 + 1) == [
        (T0, "EURUSD", "Trade"),
        (T0, "EURUSD", "Quote"),
        (T0 + 0.75, "AAPL", "Trade"),  # speed 2
    ]
