"""The two CSV files of the ``csv_replay`` connector: reading and validating them.

Every problem is reported as ``FILE:LINE:COLUMN: NAME: message`` (the position of the field in
the file, its column name from the header), and reading goes on so that one run shows every
mistake, up to :data:`MAX_PROBLEMS` per file. The formats are described in docs/csv-replay.md.
"""

from __future__ import annotations

import difflib
import gzip
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.cooperative import pause
from gateway.plugins.records import Bar, Depth, Quote, Tick, Trade

TICK_COLUMNS = (
    "offset",
    "symbol",
    "kind",
    "price",
    "size",
    "bid",
    "bid_size",
    "ask",
    "ask_size",
    "bids",
    "asks",
)
"""Every column a tick file may have; the first three are required."""

KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "trade": ("price", "size"),
    "quote": ("bid", "bid_size", "ask", "ask_size"),
    "depth": ("bids", "asks"),
}
"""The value columns each kind of tick row fills; all others must be empty in that row."""

BAR_COLUMNS = ("offset", "symbol", "open", "high", "low", "close", "volume")
"""The columns of a bar file, all required."""

MAX_PROBLEMS = 50
"""Reading a file stops after this many problems (a wrong file would report every line)."""

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_INTEGER = re.compile(r"[+-]?\d+\Z")


class ReplayFileError(Exception):
    """A replay file is missing or malformed; ``problems`` lists every ``file:line:col`` issue."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Recording:
    """The parsed tick file: ticks stamped with their offset (seconds) in time order."""

    offsets: tuple[float, ...]
    ticks: tuple[Tick, ...]

    @property
    def period(self) -> float:
        """The loop length: the whole minutes that end strictly after the last offset."""
        return (math.floor(self.offsets[-1] / 60) + 1) * 60.0


History = dict[str, list[Bar]]
"""Back-fill bars by symbol, ascending; ``Bar.time`` holds the offset in seconds (≤ 0)."""


class _TooManyError(Exception):
    pass


def _open(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed when its name ends in ``.gz``."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


class _File:
    """Line-by-line reading of one CSV file with positioned problem reports."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self.header: dict[str, int] = {}
        self.line = 0

    def report(self, line: int, col: int, message: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.problems.append(f"{self.path}: stopped after {MAX_PROBLEMS} problems")
            raise _TooManyError
        self.problems.append(f"{self.path}:{line}:{col}: {message}")

    def lines(self) -> Iterator[tuple[int, str]]:
        """Numbered lines that are not blank or ``#`` comments (gzip by the ``.gz`` suffix)."""
        try:
            with _open(self.path) as raw:
                for number, data in enumerate(raw, start=1):
                    self.line = number
                    try:
                        line = data.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        col = len(data[: exc.start].decode("utf-8", "replace")) + 1
                        self.report(number, col, "not UTF-8 text")
                        continue
                    if number == 1:
                        line = line.removeprefix("\ufeff")
                    line = line.rstrip("\r\n")
                    if line.strip() and not line.lstrip().startswith("#"):
                        yield number, line
        except (OSError, EOFError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.problems.append(f"{self.path}: cannot read: {reason or type(exc).__name__}")

    def read_header(self, number: int, line: str, known: tuple[str, ...], required: int) -> bool:
        """Check a header line against the known columns; False if rows cannot be read."""
        fields = _split(line)
        if isinstance(fields, str):
            self.report(number, 1, fields)
            return False
        ok = True
        for name, col in fields:
            if name not in known:
                match = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {match[0]}?)" if match else ""
                self.report(number, col, f"unknown column {name!r}{hint}")
                ok = False
            elif name in self.header:
                self.report(number, col, f"column {name!r} appears twice")
                ok = False
            else:
                self.header[name] = len(self.header)
        missing = [c for c in known[:required] if c not in self.header]
        if missing and ok:
            self.report(number, 1, "header lacks column " + ", ".join(missing))
        return ok and not missing


class _Row:
    """One data row: values and columns by name, typed getters that report problems."""

    def __init__(self, file: _File, number: int, fields: list[tuple[str, int]]) -> None:
        self.file = file
        self.number = number
        self.fields = {name: fields[i] for name, i in file.header.items()}

    def has(self, name: str) -> bool:
        return name in self.fields

    def text(self, name: str) -> str:
        return self.fields[name][0] if name in self.fields else ""

    def report(self, name: str, message: str) -> None:
        self.file.report(self.number, self.fields[name][1], f"{name}: {message}")

    def number_of(self, name: str, *, minimum: float | None = None) -> float | None:
        value = self.text(name)
        if not value:
            self.report(name, "missing value")
            return None
        if not _NUMBER.match(value):
            self.report(name, f"expected a number, got {value!r}")
            return None
        number = float(value)
        if not math.isfinite(number):
            self.report(name, f"number out of range: {value}")
            return None
        if minimum is not None and number < minimum:
            self.report(name, f"must not be below {minimum:g}, got {value}")
            return None
        return number


def _split(line: str) -> list[tuple[str, int]] | str:
    """The fields of a CSV line with their 1-based columns, or what is wrong with the quoting."""
    fields: list[tuple[str, int]] = []
    i, n = 0, len(line)
    while True:
        start = i
        if i < n and line[i] == '"':
            value, i = [], i + 1
            while True:
                if i >= n:
                    return f"unterminated quote starting at column {start + 1}"
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        value.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                value.append(line[i])
                i += 1
            if i < n and line[i] != ",":
                return f"unexpected text after the closing quote at column {i + 1}"
            fields.append(("".join(value).strip(), start + 1))
        else:
            end = line.find(",", i)
            end = n if end < 0 else end
            fields.append((line[i:end].strip(), start + 1))
            i = end
        if i >= n:
            return fields
        i += 1  # the comma


def _rows(file: _File, known: tuple[str, ...], required: int) -> Iterator[_Row]:
    """The data rows of a file after a valid header."""
    header_seen = False
    for number, line in file.lines():
        if number % 1000 == 0:
            pause()  # a recording of millions of rows must not hold a gevent worker
        if not header_seen:
            header_seen = True
            if not file.read_header(number, line, known, required):
                return
            continue
        fields = _split(line)
        if isinstance(fields, str):
            file.report(number, 1, fields)
        elif len(fields) != len(file.header):
            file.report(number, 1, f"expected {len(file.header)} fields, got {len(fields)}")
        else:
            yield _Row(file, number, fields)
    if not header_seen and not file.problems:
        file.report(1, 1, "empty file: expected a header line such as " + ",".join(known))


def _levels(row: _Row, name: str) -> tuple[tuple[float, float], ...] | None:
    """A depth side ``price:size;price:size`` ascending by price, or None after a report."""
    text = row.text(name)
    levels: list[tuple[float, float]] = []
    for part in text.split(";") if text else []:
        price, sep, size = part.partition(":")
        price, size = price.strip(), size.strip()
        if not (sep and _NUMBER.match(price) and _NUMBER.match(size)):
            row.report(name, f"expected price:size levels separated by ';', got {part!r}")
            return None
        level = (float(price), float(size))
        if not all(math.isfinite(v) for v in level) or level[1] <= 0:
            row.report(name, f"level {part!r}: the size must be positive")
            return None
        if levels and level[0] <= levels[-1][0]:
            row.report(name, f"levels must ascend by price: {part!r} follows {levels[-1][0]:g}")
            return None
        levels.append(level)
    return tuple(levels)


def _tick(row: _Row, kind: str, symbol: str, offset: float) -> Tick | None:
    """The tick of one row of a known kind, or None after reporting its problems."""
    if kind == "trade":
        price, size = row.number_of("price"), row.number_of("size", minimum=0)
        if price is None or size is None:
            return None
        return Trade(symbol, offset, price, size)
    if kind == "quote":
        bid, ask = row.number_of("bid"), row.number_of("ask")
        bid_size, ask_size = (
            row.number_of("bid_size", minimum=0),
            row.number_of("ask_size", minimum=0),
        )
        if bid is None or ask is None or bid_size is None or ask_size is None:
            return None
        if ask < bid:
            row.report("ask", f"the ask {ask:g} is below the bid {bid:g}")
            return None
        return Quote(symbol, offset, bid, bid_size, ask, ask_size)
    bids, asks = _levels(row, "bids"), _levels(row, "asks")
    if bids is None or asks is None:
        return None
    if bids and asks and asks[0][0] < bids[-1][0]:
        row.report("asks", f"the best ask {asks[0][0]:g} is below the best bid {bids[-1][0]:g}")
        return None
    return Depth(symbol, offset, bids, asks)


def read_ticks(path: Path) -> tuple[Recording | None, list[str]]:
    """Parse and validate a tick file; the recording, or None and the problems."""
    file = _File(path)
    offsets: list[float] = []
    ticks: list[Tick] = []
    missing_reported: set[str] = set()
    try:
        for row in _rows(file, TICK_COLUMNS, 3):
            offset = row.number_of("offset", minimum=0)
            if offset is not None and offsets and offset < offsets[-1]:
                previous = f"{offsets[-1]:g}"
                row.report(
                    "offset",
                    f"{row.text('offset')} is before the previous row's {previous}: "
                    "rows must be in time order",
                )
                offset = None
            symbol = row.text("symbol")
            if not symbol:
                row.report("symbol", "missing value")
            kind = row.text("kind")
            if kind not in KIND_COLUMNS:
                match = difflib.get_close_matches(kind, KIND_COLUMNS, n=1)
                hint = f" (did you mean {match[0]}?)" if match else ""
                row.report("kind", f"unknown kind {kind!r}{hint}; use trade, quote or depth")
                continue
            absent = [c for c in KIND_COLUMNS[kind] if not row.has(c)]
            if absent:
                if kind not in missing_reported:
                    missing_reported.add(kind)
                    needed = ", ".join(absent)
                    row.report(
                        "kind", f"a {kind} row needs column {needed}, absent from the header"
                    )
                continue
            extra = [c for c in TICK_COLUMNS[3:] if row.text(c) and c not in KIND_COLUMNS[kind]]
            for column in extra:
                row.report(column, f"must be empty in a {kind} row")
            tick = _tick(row, kind, symbol, offset or 0.0)
            if tick is not None and offset is not None and symbol and not extra:
                offsets.append(offset)
                ticks.append(tick)
    except _TooManyError:
        pass
    if not file.problems and not ticks:
        file.report(file.line or 1, 1, "no ticks: a replay needs at least one row")
    if file.problems:
        return None, file.problems
    return Recording(tuple(offsets), tuple(ticks)), []


def read_bars(path: Path, symbols: frozenset[str] | None = None) -> tuple[History, list[str]]:
    """Parse and validate a bar file; bars by symbol (relative time), and the problems.

    With ``symbols`` (those of the tick file), a symbol that never ticks is reported once.
    """
    file = _File(path)
    history: History = {}
    previous: int | None = None
    try:
        for row in _rows(file, BAR_COLUMNS, len(BAR_COLUMNS)):
            offset = _bar_offset(row, previous)
            previous = offset if offset is not None else previous
            symbol = row.text("symbol")
            if not symbol:
                row.report("symbol", "missing value")
            elif symbols is not None and symbol not in symbols and symbol not in history:
                row.report("symbol", f"{symbol!r} never occurs in the tick file")
                history[symbol] = []
            values = [row.number_of(c) for c in ("open", "high", "low", "close")]
            volume = row.number_of("volume", minimum=0)
            if offset is None or not symbol or volume is None or None in values:
                continue
            o, h, low, c = (v for v in values if v is not None)
            if h < max(o, low, c):
                row.report("high", f"{h:g} is below the bar's open, low or close")
                continue
            if low > min(o, c):
                row.report("low", f"{low:g} is above the bar's open or close")
                continue
            bars = history.setdefault(symbol, [])
            if bars and bars[-1].time == offset * 60:
                row.report("offset", f"a second bar of {symbol} at offset {offset}")
                continue
            bars.append(Bar(symbol, offset * 60, o, h, low, c, volume))
    except _TooManyError:
        pass
    return ({} if file.problems else history), file.problems


def _bar_offset(row: _Row, previous: int | None) -> int | None:
    """A bar's offset: whole minutes, ≤ 0, not before the previous row's."""
    text = row.text("offset")
    if not _INTEGER.match(text):
        row.report("offset", f"expected whole minutes (an integer ≤ 0), got {text!r}")
        return None
    offset = int(text)
    if offset > 0:
        row.report("offset", f"must be 0 or negative (minutes before the replay start), got {text}")
        return None
    if previous is not None and offset < previous:
        row.report(
            "offset",
            f"{offset} is before the previous row's {previous}: rows must be in time order",
        )
        return None
    return offset
