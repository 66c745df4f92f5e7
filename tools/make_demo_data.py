"""Generate the demo's recorded market data for the ``csv_replay`` connector.

.venv/bin/python tools/make_demo_data.py [--out examples/demo/data] [--seed 7] [--days 5]
    [--minutes 60] [--anchor 2026-01-07T10:30:00-05:00]

Writes ``ticks.csv.gz`` (a ``--minutes`` long stream of trades, quotes and depth for EURUSD,
BTCUSD, AAPL and ESZ2026 whose prices end where they start, so that looping shows no jump) and
``bars.csv.gz`` (``--days`` of 1-minute back-fill bars ending one minute before the replay start,
the last close equal to the stream's first trade). Back-fill bars exist only inside each
symbol's sessions, computed with zoneinfo as if the replay started at ``--anchor``. The model
uses only basic float arithmetic on one seeded Mersenne Twister (normals are sums of twelve
uniforms, no libm), so a seed gives the same bytes on every platform; gzip is written with
mtime 0. Formats: docs/csv-replay.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
DEFAULT_ANCHOR = "2026-01-07T10:30:00-05:00"  # a Wednesday morning: every market is open
TICK_HEADER = "offset,symbol,kind,price,size,bid,bid_size,ask,ask_size,bids,asks"
BAR_HEADER = "offset,symbol,open,high,low,close,volume"
SUBSTEPS = 6  # random-walk steps per back-fill minute (10 s each)


def _minutes(local: dt.datetime) -> int:
    return local.hour * 60 + local.minute


def stock_session(t: dt.datetime) -> bool:
    """09:30–16:00 New York, Monday to Friday (holidays ignored)."""
    local = t.astimezone(NEW_YORK)
    return local.weekday() < 5 and 570 <= _minutes(local) < 960


def future_session(t: dt.datetime) -> bool:
    """17:00–16:00 Chicago, Sunday evening to Friday, with a daily break at 16:00–17:00."""
    local = t.astimezone(CHICAGO)
    day, minute = local.weekday(), _minutes(local)
    if day == 5:
        return False
    if day == 6:
        return minute >= 1020
    return minute < 960 or (day != 4 and minute >= 1020)


def forex_session(t: dt.datetime) -> bool:
    """Sunday 17:00 to Friday 17:00 New York."""
    local = t.astimezone(NEW_YORK)
    day, minute = local.weekday(), _minutes(local)
    if day == 5:
        return False
    if day == 6:
        return minute >= 1020
    return day != 4 or minute < 1020


def crypto_session(t: dt.datetime) -> bool:
    """Always open."""
    return True


@dataclass(frozen=True)
class Symbol:
    """How one symbol is modelled; prices in ticks, sizes in units of 10**-size_decimals."""

    name: str
    decimals: int  # price decimals
    tick_units: int  # the tick size in units of 10**-decimals
    first: int  # the stream's first trade price, in ticks
    vol: float  # ticks per square root of a second
    spreads: tuple[int, ...]  # quoted spreads in ticks, drawn uniformly
    quote_rate: float  # quotes per second
    trade_rate: float  # trades per second
    trade_size: tuple[int, int, int]  # lowest, highest, step
    quote_size: tuple[int, int, int]
    size_decimals: int
    depth_step: int  # ticks between depth levels
    gap: float  # standard deviation of the jump between sessions, in ticks
    session: Callable[[dt.datetime], bool]
    mid_trades: bool = False  # forex: trades at the mid price

    def price(self, ticks: int) -> str:
        """A price in ticks as decimal text."""
        return _decimal(ticks * self.tick_units, self.decimals)

    def size(self, units: int) -> str:
        """A size in units as decimal text."""
        return _decimal(units, self.size_decimals)


SYMBOLS = (
    Symbol("EURUSD", 5, 1, 108_000, 1.8, (5, 6, 6, 7), 1.5, 0.4, (10_000, 2_000_000, 1_000),
           (500_000, 5_000_000, 100_000), 0, 2, 60.0, forex_session, mid_trades=True),
    Symbol("BTCUSD", 1, 5, 120_000, 12.0, (1, 1, 2, 3), 2.0, 1.0, (1, 1_500, 1),
           (50, 4_000, 1), 3, 2, 0.0, crypto_session),
    Symbol("AAPL", 2, 1, 19_000, 1.9, (1, 1, 2, 3), 1.5, 0.7, (1, 400, 1),
           (100, 3_000, 100), 0, 1, 120.0, stock_session),
    Symbol("ESZ2026", 2, 25, 23_200, 0.8, (1, 1, 1, 2), 1.5, 0.7, (1, 12, 1),
           (5, 120, 1), 0, 1, 12.0, future_session),
)  # fmt: skip


def _decimal(units: int, decimals: int) -> str:
    if decimals == 0:
        return str(units)
    sign, units = ("-" if units < 0 else ""), abs(units)
    scale = 10**decimals
    return f"{sign}{units // scale}.{units % scale:0{decimals}d}"


def _normal(rng: random.Random) -> float:
    """A standard normal variate, approximately: twelve uniforms (exact float arithmetic)."""
    return sum(rng.random() for _ in range(12)) - 6.0


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def _draw(rng: random.Random, size: tuple[int, int, int]) -> int:
    """A size skewed towards small ones, on its step."""
    lo, hi, step = size
    u = rng.random()
    return lo + step * math.floor(u * u * u * ((hi - lo) // step + 1))


def _bridge(rng: random.Random, seconds: int, vol: float) -> list[float]:
    """A Brownian bridge on a 1-second grid: 0 at both ends, in ticks."""
    walk = [0.0]
    for _ in range(seconds):
        walk.append(walk[-1] + _normal(rng))
    end = walk[-1]
    return [(w - end * i / seconds) * vol for i, w in enumerate(walk)]


def _offset(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def stream(sym: Symbol, rng: random.Random, minutes: int) -> list[tuple[int, str]]:
    """The symbol's ticks as (millisecond offset, CSV row), in time order."""
    seconds = minutes * 60
    path = _bridge(rng, seconds, sym.vol)

    def mid(ms: int) -> float:
        i, frac = divmod(ms, 1000)
        upper = path[min(i + 1, seconds)]
        return sym.first + path[i] + (upper - path[i]) * frac / 1000

    events: list[tuple[int, int]] = [(0, 0), (0, 1)]  # (ms, 0 trade | 1 quote | 2 depth)
    for second in range(seconds):
        kinds = [1 for _ in range(4) if rng.random() < sym.quote_rate / 4]
        kinds += [0 for _ in range(3) if rng.random() < sym.trade_rate / 3]
        if second % 10 == 5:
            kinds.append(2)
        events += [(second * 1000 + math.floor(rng.random() * 1000), k) for k in kinds]
    events.sort()

    def level(price: int) -> str:
        return f"{sym.price(price)}:{sym.size(_draw(rng, sym.quote_size))}"

    rows: list[tuple[int, str]] = []
    bid = ask = sym.first
    for n, (ms, kind) in enumerate(events):
        head = f"{_offset(ms)},{sym.name}"
        if kind == 1:
            spread = sym.spreads[math.floor(rng.random() * len(sym.spreads))]
            bid = _round(mid(ms) - spread / 2)
            ask = bid + spread
            sizes = _draw(rng, sym.quote_size), _draw(rng, sym.quote_size)
            quote = f"{sym.price(bid)},{sym.size(sizes[0])},{sym.price(ask)},{sym.size(sizes[1])}"
            rows.append((ms, f"{head},quote,,,{quote},,"))
        elif kind == 0:
            if n == 0:
                price = sym.first
            elif sym.mid_trades:
                price = (bid + ask) // 2  # the mid of the current quote
            else:
                price = ask if rng.random() < 0.5 else bid
            size = sym.size(_draw(rng, sym.trade_size))
            rows.append((ms, f"{head},trade,{sym.price(price)},{size},,,,,,"))
        else:
            step = sym.depth_step
            bids = ";".join(level(p) for p in range(bid - 4 * step, bid + 1, step))
            asks = ";".join(level(p) for p in range(ask, ask + 5 * step, step))
            rows.append((ms, f"{head},depth,,,,,,,{bids},{asks}"))
    return rows


def _activity(sym: Symbol, t: dt.datetime) -> tuple[float, float]:
    """(volatility, volume) multipliers by time of day: a U-shaped day for the stock."""
    if sym.name == "AAPL":
        x = (_minutes(t.astimezone(NEW_YORK)) - 570) / 390
        return 0.7 + 2.4 * (x - 0.5) ** 2, 0.5 + 6.0 * (x - 0.5) ** 2
    if sym.name == "ESZ2026":
        return (1.3, 2.5) if stock_session(t) else (0.6, 0.4)
    if sym.name == "EURUSD":
        return (1.3, 1.5) if 7 <= t.hour < 17 else (0.6, 0.5) if t.hour >= 21 else (1.0, 1.0)
    weekend = t.weekday() >= 5
    return (0.7, 0.6) if weekend else (1.2, 1.3) if 13 <= t.hour < 21 else (0.9, 0.9)


def backfill(sym: Symbol, rng: random.Random, anchor: int, days: int) -> list[tuple[int, str, str]]:
    """1-minute bars (offset, symbol, CSV values) inside sessions, the last close = first."""
    step_vol = sym.vol * math.sqrt(60 / SUBSTEPS)
    per_minute = sym.trade_rate * 60 * (sym.trade_size[0] + sym.trade_size[1]) / 4
    level = float(sym.first)  # the close of the bar being made; walking back in time
    bars: list[tuple[int, str, str]] = []
    gap = False
    for offset in range(-1, -days * 1440 - 1, -1):
        t = dt.datetime.fromtimestamp(anchor + offset * 60, dt.UTC)
        if not sym.session(t):
            gap = bool(bars)
            continue
        if gap:
            level += _normal(rng) * sym.gap
            gap = False
        vol, volume = _activity(sym, t)
        x = level
        path = [x]
        for _ in range(SUBSTEPS):
            x += _normal(rng) * step_vol * vol
            path.append(x)
        o, h, low, c = _round(x), _round(max(path)), _round(min(path)), _round(level)
        lot = sym.trade_size[2]
        units = max(lot, lot * _round(per_minute * volume * (0.5 + rng.random()) / lot))
        values = ",".join(sym.price(p) for p in (o, h, low, c)) + "," + sym.size(units)
        bars.append((offset, sym.name, values))
        level = x
    bars.reverse()
    return bars


def _gzip(path: Path, lines: list[str]) -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(("\n".join(lines) + "\n").encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def generate(out: Path, seed: int, days: int, minutes: int, anchor: dt.datetime) -> list[Path]:
    """Write both files into ``out``; their paths."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible model, not a secret
    start = math.floor(anchor.timestamp() / 60) * 60
    note = (
        f"# tools/make_demo_data.py --seed {seed} --days {days} --minutes {minutes} "
        f"--anchor {dt.datetime.fromtimestamp(start, dt.UTC).isoformat()}"
    )
    ticks: list[tuple[int, int, int, str]] = []
    for index, sym in enumerate(SYMBOLS):
        ticks += [(ms, index, n, row) for n, (ms, row) in enumerate(stream(sym, rng, minutes))]
    ticks.sort()
    bars: list[tuple[int, int, str]] = []
    for index, sym in enumerate(SYMBOLS):
        bars += [
            (off, index, f"{off},{name},{v}") for off, name, v in backfill(sym, rng, start, days)
        ]
    bars.sort()
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "ticks.csv.gz", out / "bars.csv.gz"]
    _gzip(paths[0], [note, TICK_HEADER] + [row for *_, row in ticks])
    _gzip(paths[1], [note, BAR_HEADER] + [row for *_, row in bars])
    return paths


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and generate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default_out = Path(__file__).resolve().parent.parent / "examples" / "demo" / "data"
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=5, help="days of back-fill (default 5)")
    parser.add_argument("--minutes", type=int, default=60, help="stream length (default 60)")
    parser.add_argument(
        "--anchor",
        default=DEFAULT_ANCHOR,
        help="the replay start the back-fill sessions are computed for: ISO 8601 with an "
        f"offset, or 'now' (default {DEFAULT_ANCHOR})",
    )
    args = parser.parse_args(argv)
    if args.days < 0 or args.minutes < 1:
        parser.error("--days must be ≥ 0 and --minutes ≥ 1")
    if args.anchor == "now":
        anchor = dt.datetime.now(dt.UTC)
    else:
        try:
            anchor = dt.datetime.fromisoformat(args.anchor)
        except ValueError:
            parser.error(f"--anchor: not an ISO 8601 time: {args.anchor!r}")
        if anchor.tzinfo is None:
            parser.error("--anchor needs a UTC offset, e.g. 2026-01-07T15:30:00+00:00")
    for path in generate(args.out, args.seed, args.days, args.minutes, anchor):
        print(f"{path}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
