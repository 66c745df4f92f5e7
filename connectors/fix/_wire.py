"""FIX 4.4 on the wire: framing with checks, parsing into fields, encoding with ``simplefix``.

``simplefix`` encodes (body length, checksum, field order). Frames are cut, checked and split
here: a session must tell a garbled message (wrong length or checksum: ignored, its number
recovered later by a resend) from a valid one, and splitting a checked frame is simple.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import simplefix  # type: ignore[import-untyped]

SOH = b"\x01"
BEGIN_STRING = "FIX.4.4"
MAX_MESSAGE = 1 << 20
"""A frame claiming a longer body is treated as garbage, not waited for."""

_START = re.compile(rb"8=FIX[^\x01]{0,16}\x019=(\d{1,7})\x01")


class Tag:
    """The tags the session and the connector use, by their FIX names."""

    Account = 1
    AvgPx = 6
    BeginSeqNo = 7
    BeginString = 8
    BodyLength = 9
    CheckSum = 10
    ClOrdID = 11
    Commission = 12
    CumQty = 14
    Currency = 15
    EndSeqNo = 16
    ExecID = 17
    ListID = 66
    ListSeqNo = 67
    TotNoOrders = 68
    HandlInst = 21
    LastPx = 31
    LastShares = 32  # LastQty
    MsgSeqNum = 34
    MsgType = 35
    NewSeqNo = 36
    OrderID = 37
    OrderQty = 38
    OrdStatus = 39
    OrdType = 40
    OrigClOrdID = 41
    PossDupFlag = 43
    Price = 44
    RefSeqNum = 45
    SenderCompID = 49
    SendingTime = 52
    Side = 54
    Symbol = 55
    TargetCompID = 56
    Text = 58
    TimeInForce = 59
    TransactTime = 60
    ExpireTime = 126
    NoOrders = 73
    BidType = 394
    OrigSendingTime = 122
    GapFillFlag = 123
    TestReqID = 112
    ExpireDate = 432
    ResetSeqNumFlag = 141
    StopPx = 99
    EncryptMethod = 98
    HeartBtInt = 108
    CxlRejReason = 102
    OrdRejReason = 103
    ExecType = 150
    LeavesQty = 151
    MDReqID = 262
    SubscriptionRequestType = 263
    MarketDepth = 264
    MDUpdateType = 265
    NoMDEntryTypes = 267
    NoMDEntries = 268
    MDEntryType = 269
    MDEntryPx = 270
    MDEntrySize = 271
    MDUpdateAction = 279
    MDEntryID = 278
    MDReqRejReason = 281
    NoRelatedSym = 146
    RefTagID = 371
    RefMsgType = 372
    SessionRejectReason = 373
    BusinessRejectReason = 380
    CxlRejResponseTo = 434
    Username = 553
    Password = 554


ADMIN_TYPES = frozenset({"0", "1", "2", "3", "4", "5", "A"})
"""Session-level message types: never resent, replaced by a gap fill."""


@dataclass(frozen=True)
class Message:
    """A parsed message: its fields in order, and the bytes it came in."""

    pairs: tuple[tuple[int, str], ...]
    raw: bytes = b""
    _first: dict[int, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Index each tag's first value."""
        for tag, value in self.pairs:
            self._first.setdefault(tag, value)

    @property
    def type(self) -> str:
        """MsgType (35)."""
        return self._first.get(Tag.MsgType, "")

    def get(self, tag: int, default: str | None = None) -> str | None:
        """The first value of ``tag``."""
        return self._first.get(tag, default)

    def seq(self) -> int | None:
        """MsgSeqNum (34), if present and a number."""
        value = self.get(Tag.MsgSeqNum)
        return int(value) if value is not None and value.isdigit() else None

    def flag(self, tag: int) -> bool:
        """Whether a Boolean field is ``Y``."""
        return self.get(tag) == "Y"

    def groups(self, count_tag: int, first_tag: int) -> list[dict[int, str]]:
        """The entries of a repeating group: each starts at its ``first_tag``."""
        entries: list[dict[int, str]] = []
        inside = False
        for tag, value in self.pairs:
            if tag == count_tag:
                inside = True
                continue
            if not inside:
                continue
            if tag == first_tag:
                entries.append({})
            if entries:
                if tag in entries[-1]:
                    break  # a tag repeated outside the group's shape ends it
                entries[-1][tag] = value
        return entries


class Garbled(Exception):  # noqa: N818 - names what arrived
    """A frame whose length or checksum is wrong."""


@dataclass
class Framer:
    """Cuts a byte stream into checked messages."""

    buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> None:
        """Add bytes read from the socket."""
        self.buffer += data

    def messages(self) -> Iterator[Message | Garbled]:
        """Every complete frame in the buffer: a message, or what was wrong with it."""
        while True:
            match = _START.search(self.buffer)
            if match is None:
                # Keep a possible start of a frame; drop the rest (noise between frames).
                tail = self.buffer.rfind(b"8=FIX")
                del self.buffer[: tail if tail >= 0 else max(len(self.buffer) - 16, 0)]
                return
            if match.start() > 0:
                skipped = bytes(self.buffer[: match.start()])
                del self.buffer[: match.start()]
                if skipped.strip(SOH + b"\r\n "):
                    yield Garbled(f"{len(skipped)} bytes before a message were not FIX")
                continue
            length = int(match.group(1))
            body_end = match.end() + length
            if length > MAX_MESSAGE:
                del self.buffer[:1]
                yield Garbled(f"a message claims a body of {length} bytes")
                continue
            if len(self.buffer) < body_end + 7:
                return  # incomplete: wait for more
            trailer = bytes(self.buffer[body_end : body_end + 7])
            frame = bytes(self.buffer[: body_end + 7])
            if not (
                trailer.startswith(b"10=") and trailer.endswith(SOH) and trailer[3:6].isdigit()
            ):
                del self.buffer[:1]  # resynchronize on the next "8=FIX"
                yield Garbled("the body length does not match the message")
                continue
            del self.buffer[: body_end + 7]
            if checksum(frame[:body_end]) != int(trailer[3:6]):
                yield Garbled("the checksum does not match the message")
                continue
            yield parse(frame)


def checksum(data: bytes) -> int:
    """The FIX checksum: the byte sum modulo 256."""
    return sum(data) % 256


# FIX 4.4's data fields, whose values may hold SOH: each follows the field giving its length.
_DATA_OF_LENGTH = {
    90: 91, 93: 89, 95: 96, 212: 213, 348: 349, 350: 351, 352: 353, 354: 355, 356: 357,
    358: 359, 360: 361, 362: 363, 364: 365, 445: 446, 618: 619, 621: 622,
}  # fmt: skip


def parse(frame: bytes) -> Message:
    """The fields of one checked frame (a data field is read by its length, SOH and all).

    Our own splitter, not ``simplefix``'s parser: the frame is already cut and checked, and
    splitting it here costs a tenth of what the general parser does, which is most of what a
    market-data message costs the session (bench/README.md, FIX suite).
    """
    pairs: list[tuple[int, str]] = []
    pos, end = 0, len(frame)
    data: tuple[int, int] | None = None  # (the data field's tag, its length) when one is due
    while pos < end:
        eq = frame.find(b"=", pos)
        tag_text = frame[pos:eq]
        if eq < 0 or not tag_text.isdigit():
            raise Garbled("the message could not be split into fields")
        tag = int(tag_text)
        if data is not None and data[0] == tag:
            stop = eq + 1 + data[1]
            if frame[stop : stop + 1] != SOH:
                raise Garbled(f"data field {tag} is not as long as its length field says")
        else:
            stop = frame.find(SOH, eq + 1)
            if stop < 0:
                raise Garbled("the message could not be split into fields")
        value = frame[eq + 1 : stop]
        data = None
        if tag in _DATA_OF_LENGTH and value.isdigit():
            data = (_DATA_OF_LENGTH[tag], int(value))
        pairs.append((tag, value.decode("utf-8", "replace")))
        pos = stop + 1
    return Message(tuple(pairs), frame)


def timestamp(at: float | None = None) -> str:
    """A UTCTimestamp with milliseconds."""
    at = time.time() if at is None else at
    millis = round(at * 1000)
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}"


def parse_timestamp(text: str | None) -> float | None:
    """Unix seconds of a UTCTimestamp (with or without fractions); None if malformed."""
    # Sliced by hand: time.strptime costs more than the rest of a market-data message.
    if not text or len(text) < 17 or text[8] != "-" or text[11] != ":" or text[14] != ":":
        return None
    main, fraction = text[:17], text[18:] if text[17:18] == "." else text[17:]
    digits = main[:8] + main[9:11] + main[12:14] + main[15:17]
    if not digits.isdigit() or not (fraction == "" or fraction.isdigit()):
        return None
    second = int(main[15:17])
    try:
        # A leap second (60) is the next minute's first.
        at = datetime.datetime(
            int(main[:4]), int(main[4:6]), int(main[6:8]), int(main[9:11]), int(main[12:14]),
            min(second, 59), tzinfo=datetime.UTC,
        )  # fmt: skip
    except ValueError:
        return None
    seconds = at.timestamp() + (second == 60)
    if fraction:
        seconds += int(fraction) / 10 ** len(fraction)
    return seconds


def encode(
    header: Sequence[tuple[int, str]],
    body: Iterable[tuple[int, str | int | float]],
    begin_string: str = BEGIN_STRING,
) -> bytes:
    """A complete message: BeginString, BodyLength, the header, the body and CheckSum."""
    message = simplefix.FixMessage()
    message.append_pair(Tag.BeginString, begin_string, header=True)
    for tag, value in header:
        message.append_pair(tag, value, header=True)
    for tag, item in body:
        message.append_pair(tag, number(item) if isinstance(item, float) else str(item))
    return bytes(message.encode())


def number(value: float) -> str:
    """A float as FIX writes it: no exponent, no trailing zeros."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
