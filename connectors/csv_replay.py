"""``csv_replay``: market data replayed from a recorded tick file, as if it happened now.

Each tick of the file is published at wall time ``anchor + (offset + n × period) / speed``,
stamped with that time, where ``anchor`` is the replay's start (the ``start`` option, or the time
the replay is first needed), ``period`` the recording's length in whole minutes and ``n`` the
loop count. The schedule is a pure function of the files and the anchor: :meth:`CsvReplay.
ticks_between` yields it for any window without waiting, and the publishing thread walks the same
schedule in real time. Back-fill bars come from an optional bar file, anchored at the minute of
the replay's start. Formats and semantics: docs/csv-replay.md.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from connectors._csv_format import (
    History,
    Recording,
    ReplayFileError,
    read_bars,
    read_ticks,
)
from gateway.config._convert import option
from gateway.cooperative import pause
from gateway.plugins.records import Bar, Tick
from gateway.plugins.roles import ConnectorContext, Role, TickSink

__all__ = ["CsvReplay", "CsvReplayOptions", "ReplayFileError"]

log = logging.getLogger("gateway.connectors.csv_replay")

MAX_LAG = 5.0
"""Seconds behind schedule after which the replay skips ahead to now instead of catching up
(after a suspended machine or a long pause, a burst of stale ticks would help nobody)."""

ERROR_LOG_INTERVAL = 60.0
"""A failing sink is logged at most once per this many seconds (with a count of failures)."""


def _positive(value: float) -> str | None:
    return None if math.isfinite(value) and value > 0 else "must be a number greater than 0"


def _finite(value: float | None) -> str | None:
    return None if value is None or math.isfinite(value) else "must be a finite Unix time"


@dataclass(frozen=True)
class CsvReplayOptions:
    """Options of the csv_replay connector."""

    ticks: str = option(
        doc="The tick file (CSV, gzip when it ends in .gz), relative to the configuration file."
    )
    bars: str | None = option(
        None, doc="An optional file of 1-minute back-fill bars, ending at the replay's start."
    )
    speed: float = option(
        1.0, doc="Replay speed: 2 plays the recording twice as fast.", check=_positive
    )
    loop: bool = option(True, doc="Start the recording again when it ends.")
    start: float | None = option(
        None,
        doc="A fixed replay start in Unix seconds (for reproducible runs); "
        "default: when the gateway starts.",
        check=_finite,
    )


Sleep = Callable[[float], bool]
"""Waits up to the given seconds; True when the replay must stop (``Event.wait``'s contract)."""


class CsvReplay:
    """Market data replayed from CSV files, looping, always "now"."""

    kind: ClassVar[str] = "csv_replay"
    roles: ClassVar[frozenset[Role]] = frozenset({Role.MARKET_DATA})
    Options: ClassVar[type] = CsvReplayOptions

    def __init__(
        self,
        options: CsvReplayOptions,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Sleep | None = None,
    ) -> None:
        """Remember the options; nothing is read until :meth:`validate` or :meth:`start`."""
        self.options = options
        self.name = context.name
        self.ticks_path = Path(context.base_dir) / options.ticks
        self.bars_path = Path(context.base_dir) / options.bars if options.bars else None
        self._clock = clock
        self._sleep = sleep  # None: wait on the run's stop event
        self._stopping = threading.Event()  # one per run: a late old thread never revives
        self._lock = threading.Lock()
        self._sinks: tuple[TickSink, ...] = ()
        self._recording: Recording | None = None
        self._history: History = {}
        self._anchor: float | None = options.start
        self._thread: threading.Thread | None = None
        self._sink_errors: dict[int, tuple[float, int]] = {}

    # -- files ---------------------------------------------------------------------------

    def validate(self) -> list[str]:
        """Every problem of the files (``file:line:col: column: message``), without starting."""
        try:
            self._load()
        except ReplayFileError as exc:
            return exc.problems
        return []

    def _load(self) -> Recording:
        """The recording, read and validated once; :class:`ReplayFileError` lists problems."""
        with self._lock:
            if self._recording is not None:
                return self._recording
            recording, problems = read_ticks(self.ticks_path)
            history: History = {}
            if self.bars_path is not None:
                symbols = frozenset(t.symbol for t in recording.ticks) if recording else None
                history, bar_problems = read_bars(self.bars_path, symbols)
                problems += bar_problems
            if recording is None or problems:
                raise ReplayFileError(problems)
            self._recording, self._history = recording, history
            return recording

    # -- the schedule --------------------------------------------------------------------

    @property
    def anchor(self) -> float:
        """The wall time of offset 0 of the first loop; fixed the first time it is needed."""
        with self._lock:
            if self._anchor is None:
                self._anchor = self._clock()
            return self._anchor

    @property
    def period(self) -> float:
        """Wall seconds of one loop of the recording (at this speed)."""
        return self._load().period / self.options.speed

    def ticks_between(self, t0: float, t1: float) -> Iterator[Tick]:
        """The scheduled ticks with ``t0 <= time < t1``, in order, stamped; never waits."""
        for tick in self._schedule(t0):
            if tick.time >= t1:
                return
            yield tick

    def _schedule(self, t0: float) -> Iterator[Tick]:
        """Every scheduled tick with ``time >= t0``, in order (endless when looping)."""
        recording, anchor, speed = self._load(), self.anchor, self.options.speed
        period = recording.period
        # An estimate of the first loop that matters; starting one early costs one bisect.
        n = max(0, math.floor((t0 - anchor) * speed / period) - 1) if t0 > anchor else 0
        while self.options.loop or n == 0:
            shift = n * period

            def wall(offset: float, shift: float = shift) -> float:
                return anchor + (offset + shift) / speed

            offsets, ticks = recording.offsets, recording.ticks
            for i in range(bisect.bisect_left(offsets, t0, key=wall), len(offsets)):
                yield dataclasses.replace(ticks[i], time=wall(offsets[i]))
            n += 1

    # -- lifecycle -----------------------------------------------------------------------

    def subscribe(self, sink: TickSink) -> None:
        """Publish every tick from now on to ``sink`` too."""
        with self._lock:
            self._sinks = (*self._sinks, sink)

    def start(self) -> None:
        """Read and validate the files, then publish in a daemon thread (no-op if running)."""
        self._load()
        anchor, now = self.anchor, self._clock()
        # A replay that began moments ago (this call, or a back-fill just before) plays from its
        # first tick; one anchored long ago joins its schedule now.
        cursor = anchor if anchor >= now - MAX_LAG else now
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = stopping = threading.Event()
            self._thread = threading.Thread(
                target=self._run,
                args=(cursor, stopping),
                name=f"csv_replay:{self.name}",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop publishing; returns once the thread has ended (promptly: it waits on an event)."""
        with self._lock:
            self._stopping.set()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        """Whether the publishing thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self, start: float, stopping: threading.Event) -> None:
        try:
            cursor: float | None = start
            while cursor is not None and not stopping.is_set():
                cursor = self._play(cursor, stopping)
        except Exception:  # a bug here must not kill the worker silently
            log.exception("csv_replay %r: the replay thread failed", self.name)

    def _play(self, cursor: float, stopping: threading.Event) -> float | None:
        """Publish on time from ``cursor``; the time to resume from after a skip, or None."""
        sleep = self._sleep or stopping.wait
        for tick in self._schedule(cursor):
            while (delay := tick.time - self._clock()) > 0:
                if sleep(delay) or stopping.is_set():
                    return None
            if stopping.is_set():
                return None
            pause()  # ticks all due at once (a catch-up) must not hold a gevent worker
            now = self._clock()
            if now - tick.time > MAX_LAG:
                log.warning(
                    "csv_replay %r: %.1f s behind the recording, skipping to now",
                    self.name,
                    now - tick.time,
                )
                return now
            self._publish(tick)
        return None  # the recording ended (loop: false)

    def _publish(self, tick: Tick) -> None:
        for sink in self._sinks:
            try:
                sink.publish(tick)
            except Exception:
                self._sink_failed(sink)

    def _sink_failed(self, sink: TickSink) -> None:
        now = self._clock()
        last, count = self._sink_errors.get(id(sink), (-math.inf, 0))
        if now - last >= ERROR_LOG_INTERVAL:
            log.exception(
                "csv_replay %r: sink %r failed (%d earlier failures not logged); replay goes on",
                self.name,
                sink,
                count,
            )
            self._sink_errors[id(sink)] = (now, 0)
        else:
            self._sink_errors[id(sink)] = (last, count + 1)

    # -- history -------------------------------------------------------------------------

    def backfill(self, symbol: str, start: int, end: int) -> list[Bar]:
        """The bar file's bars of ``symbol`` with ``start <= time < end``.

        A bar at offset ``m`` opens at ``floor_to_minute(anchor) + 60 m``.
        """
        self._load()
        base = math.floor(self.anchor / 60) * 60
        bars = self._history.get(symbol, [])

        def when(bar: Bar) -> int:
            return base + bar.time

        lo = bisect.bisect_left(bars, start, key=when)
        hi = bisect.bisect_left(bars, end, key=when)
        return [dataclasses.replace(b, time=when(b)) for b in bars[lo:hi]]
