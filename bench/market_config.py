"""Throwaway inputs of the market suite: synthetic tick files and minimal gateway configurations.

Every tick of a synthetic file is unique and numbered: tick ``k`` is at offset ``k / rate``, of
symbol ``B{k % symbols}``, a trade (size ``k``) or a quote (bid and ask sizes ``k``). A streamed
message therefore names its tick by its size, and the tick's scheduled publish time is
``start + k / rate`` exactly (the csv_replay connector's contract with a fixed ``start``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

# The demo configuration's published hash of the password "demo": a configuration needs a user.
DEMO_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$b3A5ND4dTGBRVUlcSQdw5g$"
    "wbiJiUbHbWiYIOt4wJc8rK2Tzzk0ScliWSdLQTpqg5g"
)

SILENT_START = 1_000_000_000.0
"""A replay start in 2001: with ``loop: false`` such a feed never publishes anything."""

_HEADER = "offset,symbol,kind,price,size,bid,bid_size,ask,ask_size\n"


def symbol_names(count: int) -> list[str]:
    """``B0``, ``B1``, …: the synthetic symbols."""
    return [f"B{i}" for i in range(count)]


def tick_row(k: int, rate: float, symbols: int) -> str:
    """Row ``k`` of a synthetic tick file (trade or quote, its sizes ``k``)."""
    price = 100 + (k % 100) / 100
    offset = f"{k / rate:.6f}"
    symbol = f"B{k % symbols}"
    if (k // symbols) % 2 == 0:
        return f"{offset},{symbol},trade,{price:.2f},{k},,,,\n"
    return f"{offset},{symbol},quote,,,{price - 0.01:.2f},{k},{price + 0.01:.2f},{k}\n"


def write_ticks(path: Path, *, rate: float, seconds: float, symbols: int) -> int:
    """A tick file of ``rate`` ticks per second (all symbols together) for ``seconds``.

    Returns the number of ticks.
    """
    count = max(1, int(seconds * rate))
    with path.open("w", encoding="utf-8") as out:
        out.write(_HEADER)
        out.writelines(tick_row(k, rate, symbols) for k in range(count))
    return count


def tick_of(message: dict[str, object]) -> int | None:
    """The tick number of a streamed trade or quote (its size); None for anything else."""
    kind = message.get("f")
    value = message.get("s") if kind == "t" else message.get("bs") if kind == "q" else None
    return int(value) if isinstance(value, int | float) else None


def write_config(
    directory: Path,
    *,
    ticks: Path,
    start: float,
    symbols: int,
    store_url: str,
    name: str = "gateway.yaml",
) -> Path:
    """A minimal gateway configuration: ``symbols`` 24x7 symbols fed by a csv_replay of ``ticks``.

    The replay starts at ``start`` (Unix seconds) and does not loop; data endpoints need no
    authentication; the store is ``store_url``.
    """
    data = {
        "version": 1,
        "broker": {"name": "Bench", "spec": "1.4.14"},
        "store": {"url": store_url},
        "auth": {"data": {"mode": "none"}},
        "users": [{"login": "bench", "password_hash": DEMO_HASH, "accounts": ["BENCH"]}],
        "accounts": [{"id": "BENCH", "name": "Bench", "type": "demo", "currency": "USD"}],
        "symbols": [
            {
                "symbol": symbol,
                "description": f"Bench symbol {symbol}",
                "type": "crypto",
                "currency": "USD",
                "exchange-listed": "BENCH",
                "exchange-traded": "BENCH",
                "minmovement": 1,
                "pricescale": 100,
                "timezone": "Etc/UTC",
                "session-regular": "24x7",  # sessions never drop a tick
            }
            for symbol in symbol_names(symbols)
        ],
        "connectors": {
            "feed": {
                "type": "csv_replay",
                "ticks": str(ticks.resolve()),
                "loop": False,
                "start": start,
            }
        },
        "market": {"feeds": ["feed"]},
    }
    target = directory / name
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def write_silent_config(directory: Path, *, symbols: int, store_url: str, name: str) -> Path:
    """A configuration whose feed publishes nothing: for idle streams and for /history."""
    ticks = directory / f"{Path(name).stem}-ticks.csv"
    ticks.write_text(_HEADER + tick_row(0, 1.0, symbols), encoding="utf-8")
    return write_config(
        directory,
        ticks=ticks,
        start=SILENT_START,
        symbols=symbols,
        store_url=store_url,
        name=name,
    )
