"""The bus's messages: ticks and account changes as compact JSON.

Whatever arrives from Redis is data, checked field by field: a message that is not one of ours
(another program on the channel, a newer gateway's kind) is refused with a reason, never
half-applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.plugins.records import Depth, Quote, Tick, Trade

_KINDS: dict[type, str] = {Trade: "trade", Quote: "quote", Depth: "depth"}


class BadMessageError(ValueError):
    """A bus message that cannot be taken; the text says why."""


@dataclass(frozen=True)
class Envelope:
    """A decoded message: who sent it, when, and what it carries."""

    origin: str
    sent: float
    tick: Tick | None = None
    account: str | None = None
    """For a change: the account it concerns; None for one that may concern any account."""


def encode_tick(origin: str, sent: float, tick: Tick) -> bytes:
    """A tick as a bus message."""
    body: dict[str, Any] = {"o": origin, "s": sent, "k": _KINDS[type(tick)]}
    body.update(vars(tick))
    return orjson.dumps(body)


def encode_change(origin: str, sent: float, account: str | None) -> bytes:
    """An account change (None: any account) as a bus message."""
    return orjson.dumps({"o": origin, "s": sent, "k": "change", "account": account})


def decode(raw: bytes | str) -> Envelope:
    """A bus message; :class:`BadMessageError` for anything that is not a well-formed one."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadMessageError(f"not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadMessageError("not a JSON object")
    origin, sent, kind = body.get("o"), body.get("s"), body.get("k")
    if not isinstance(origin, str) or not origin:
        raise BadMessageError("no origin")
    sent = _number(body, "s") if sent is not None else math.nan
    if kind == "change":
        account = body.get("account")
        if account is not None and not isinstance(account, str):
            raise BadMessageError("account must be a string or null")
        return Envelope(origin, sent, account=account)
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise BadMessageError("no symbol")
    time = _number(body, "time")
    tick: Tick
    if kind == "trade":
        tick = Trade(symbol, time, _number(body, "price"), _number(body, "size"))
    elif kind == "quote":
        tick = Quote(
            symbol,
            time,
            _number(body, "bid"),
            _number(body, "bid_size"),
            _number(body, "ask"),
            _number(body, "ask_size"),
        )
    elif kind == "depth":
        tick = Depth(symbol, time, _levels(body, "bids"), _levels(body, "asks"))
    else:
        raise BadMessageError(f"unknown kind {str(kind)[:40]!r}")
    return Envelope(origin, sent, tick=tick)


def _number(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    # bool is an int to Python, never a price.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadMessageError(f"{key} must be a finite number")
    return float(value)


def _levels(body: dict[str, Any], key: str) -> tuple[tuple[float, float], ...]:
    value = body.get(key)
    if not isinstance(value, list):
        raise BadMessageError(f"{key} must be a list of [price, volume]")
    levels: list[tuple[float, float]] = []
    for level in value:
        if not isinstance(level, list) or len(level) != 2:
            raise BadMessageError(f"{key} must be a list of [price, volume]")
        levels.append((_number({key: level[0]}, key), _number({key: level[1]}, key)))
    return tuple(levels)
