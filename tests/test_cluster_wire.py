"""The bus's messages: what goes out comes back the same; what is not ours is refused."""

from __future__ import annotations

import pytest

from gateway.cluster.wire import BadMessageError, decode, encode_change, encode_tick
from gateway.plugins.records import Depth, Quote, Trade

TICKS = [
    Trade("BTCUSD", 1700000000.25, 60001.5, 0.3),
    Quote("EURUSD", 1700000001.0, 1.0712, 1e6, 1.0714, 2e6),
    Depth("BTCUSD", 1700000002.0, ((59999.0, 1.5), (60000.0, 2.0)), ((60001.0, 0.5),)),
]


@pytest.mark.parametrize("tick", TICKS, ids=lambda t: type(t).__name__)
def test_a_tick_comes_back_as_it_was_sent(tick: Trade | Quote | Depth) -> None:
    envelope = decode(encode_tick("host:1:abc", 1700000003.5, tick))
    assert (envelope.origin, envelope.sent, envelope.tick) == ("host:1:abc", 1700000003.5, tick)
    assert envelope.account is None


@pytest.mark.parametrize("account", ["A-1", None])
def test_a_change_comes_back_with_its_account(account: str | None) -> None:
    envelope = decode(encode_change("p", 5.0, account))
    assert (envelope.origin, envelope.account, envelope.tick) == ("p", account, None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"s": 1, "k": "trade"}', "no origin"),
        (b'{"o": "p", "s": 1, "k": "bet", "symbol": "X", "time": 1}', "unknown kind 'bet'"),
        (b'{"o": "p", "s": 1, "k": "trade", "time": 1, "price": 1, "size": 1}', "no symbol"),
        (
            b'{"o": "p", "s": 1, "k": "trade", "symbol": "X", "time": 1, "price": "1", "size": 1}',
            "price must be a finite number",
        ),
        (
            b'{"o": "p", "s": 1, "k": "trade", "symbol": "X", "time": 1, "price": true, "size": 1}',
            "price must be a finite number",
        ),
        (
            b'{"o": "p", "s": 1, "k": "depth", "symbol": "X", "time": 1, "bids": [[1]], '
            b'"asks": []}',
            "bids must be a list of [price, volume]",
        ),
        (b'{"o": "p", "s": 1, "k": "change", "account": 7}', "account must be a string or null"),
        (b'{"o": "p", "s": "soon", "k": "change", "account": null}', "s must be a finite number"),
    ],
)
def test_what_is_not_a_bus_message_is_refused_with_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(BadMessageError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        decode(raw)


def test_an_infinite_price_is_refused() -> None:
    # orjson writes NaN and infinity as null; another program's 1e999 is refused when parsed.
    raw = b'{"o": "p", "s": 1, "k": "trade", "symbol": "X", "time": 1, "price": 1e999, "size": 1}'
    with pytest.raises(BadMessageError, match="not JSON"):
        decode(raw)
