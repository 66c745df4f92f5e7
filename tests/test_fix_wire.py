"""The FIX wire format (splitting, data fields, timestamps) and the market-data books."""

from __future__ import annotations

import calendar
import time

import pytest

from connectors.fix._market import MarketBooks
from connectors.fix._options import FixOptions, MarketDataOptions
from connectors.fix._wire import Framer, Garbled, Message, Tag, encode, parse, parse_timestamp
from gateway.plugins.records import Quote, Trade

HEADER = [(Tag.MsgType, "X"), (Tag.SenderCompID, "VENUE"), (Tag.TargetCompID, "GATEWAY"),
          (Tag.MsgSeqNum, "7"), (Tag.SendingTime, "20261125-10:00:00.250")]  # fmt: skip


def test_parse_gives_every_field_in_order() -> None:
    frame = encode(HEADER, [(Tag.MDReqID, "md-1"), (Tag.NoMDEntries, "0")])
    message = parse(frame)
    assert message.pairs[0] == (8, "FIX.4.4")
    assert message.pairs[1][0] == 9
    assert message.type == "X" and message.seq() == 7
    assert message.get(Tag.MDReqID) == "md-1"
    assert message.pairs[-1][0] == 10
    assert message.raw == frame


def test_a_data_field_may_hold_soh_and_is_read_by_its_length() -> None:
    # RawDataLength (95) then RawData (96): the value holds a SOH and an "=".
    raw = "a\x01b=c"
    frame = encode(HEADER, [(95, str(len(raw))), (96, raw), (Tag.Text, "after")])
    message = parse(frame)
    assert message.get(96) == raw
    assert message.get(Tag.Text) == "after"


def test_a_data_field_shorter_than_its_length_is_garbled() -> None:
    frame = encode(HEADER, [(95, "9"), (96, "abc"), (Tag.Text, "x")])
    with pytest.raises(Garbled, match="data field 96"):
        parse(frame)


@pytest.mark.parametrize(
    "frame",
    [b"8=FIX.4.4\x019=5\x01garbage", b"8=FIX.4.4\x01x9=5\x01", b"8=FIX.4.4\x0135=X"],
    ids=["no equals sign", "a tag that is not a number", "no final SOH"],
)
def test_a_frame_that_does_not_split_is_garbled(frame: bytes) -> None:
    with pytest.raises(Garbled):
        parse(frame)


def test_the_framer_reads_frames_split_anywhere_and_flags_a_bad_checksum() -> None:
    good = encode(HEADER, [(Tag.Text, "one")])
    bad = bytearray(encode(HEADER, [(Tag.Text, "two")]))
    bad[-4:-1] = b"%03d" % ((int(bad[-4:-1]) + 1) % 256)  # a wrong checksum
    stream = good + bytes(bad) + good
    framer = Framer()
    out: list[Message | Garbled] = []
    for i in range(0, len(stream), 7):  # seven bytes at a time
        framer.feed(stream[i : i + 7])
        out += framer.messages()
    assert [type(m) for m in out] == [Message, Garbled, Message]
    assert [m.get(Tag.Text) for m in out if isinstance(m, Message)] == ["one", "one"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20261125-10:00:00", "2026-11-25 10:00:00"),
        ("20261125-10:00:00.250", "2026-11-25 10:00:00.250"),
        ("20261125-10:00:00.250123", "2026-11-25 10:00:00.250123"),
        ("20261231-23:59:60", "2027-01-01 00:00:00"),  # a leap second
    ],
)
def test_timestamps_parse_to_unix_seconds(text: str, expected: str) -> None:
    main, _, fraction = expected.partition(".")
    seconds = calendar.timegm(time.strptime(main, "%Y-%m-%d %H:%M:%S"))
    if fraction:
        seconds += int(fraction) / 10 ** len(fraction)
    assert parse_timestamp(text) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    [None, "", "20261125 10:00:00", "20261325-10:00:00", "20261125-25:00:00",
     "20261125-10:00:00.2x", "2026112x-10:00:00", "20261125-10:00"],
)  # fmt: skip
def test_malformed_timestamps_are_none(text: str | None) -> None:
    assert parse_timestamp(text) is None


def _books() -> MarketBooks:
    options = FixOptions(
        host="127.0.0.1",
        port=1,
        sender_comp_id="GATEWAY",
        target_comp_id="VENUE",
        symbols={"BTCUSD": "BTC/USD"},
        market_data=MarketDataOptions(symbols=("BTCUSD",), depth=1),
    )
    return MarketBooks(options)


def _refresh(*entries: tuple[str, float, float]) -> Message:
    body: list[tuple[int, str | int | float]] = [(Tag.NoMDEntries, str(len(entries)))]
    for kind, price, size in entries:
        body += [(Tag.MDUpdateAction, "0"), (Tag.MDEntryType, kind), (Tag.Symbol, "BTC/USD"),
                 (Tag.MDEntryPx, price), (Tag.MDEntrySize, size)]  # fmt: skip
    return parse(encode(HEADER, body))


def test_a_quote_goes_out_only_when_the_top_of_book_changes() -> None:
    books = _books()
    first = books.apply(_refresh(("0", 100.0, 1.0), ("1", 101.0, 2.0)))
    assert first == [Quote("BTCUSD", first[0].time, 100.0, 1.0, 101.0, 2.0)]
    trade = books.apply(_refresh(("2", 100.5, 3.0)))
    assert [type(t) for t in trade] == [Trade]  # the top did not move: no quote again
    same = books.apply(_refresh(("0", 100.0, 1.0)))
    assert same == []
    moved = books.apply(_refresh(("0", 100.0, 5.0)))  # only the size changed
    assert [(t.bid, t.bid_size) for t in moved if isinstance(t, Quote)] == [(100.0, 5.0)]
