"""The ``fix`` connector's options.

Where the counterparty is, and everything that differs between upstreams: comp ids, the
account tag, symbols, time in force, custom tags.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.fix._schedule import Schedule, parse_clock, parse_day
from gateway.config._convert import option
from gateway.config.types import Duration, Secret

DEFAULT_TIME_IN_FORCE: Mapping[str, str] = MappingProxyType(
    {"DAY": "0", "GTC": "1", "IOC": "3", "FOK": "4", "GTT": "6", "GTD": "6"}
)
"""Duration ids (an order's durationType) → TimeInForce (59); "6" (GTD) sends ExpireTime."""

_COMP_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


def _comp_id(value: str) -> str | None:
    if value and len(value) <= 64 and set(value) <= _COMP_ID_CHARS:
        return None
    return "must be 1 to 64 letters, digits, '_', '-' or '.'"


def _port(value: int) -> str | None:
    return None if 0 < value < 65536 else "must be a TCP port (1 to 65535)"


def _tag(value: int) -> str | None:
    return None if 0 < value < 1_000_000 else "must be a FIX tag number (1 to 999999)"


def _clock(value: str) -> str | None:
    return None if parse_clock(value) is not None else "must be a time of day, HH:MM or HH:MM:SS"


def _day(value: str | None) -> str | None:
    if value is None or parse_day(value) is not None:
        return None
    return "must be a day of the week (mon … sun)"


def _zone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone, e.g. UTC or America/New_York"
    return None


def _positive_duration(value: Duration) -> str | None:
    return None if value.seconds > 0 else "must be longer than 0 seconds"


def _heartbeat(value: Duration) -> str | None:
    if value.seconds >= 1 and value.seconds == int(value.seconds):
        return None
    return "must be a whole number of seconds, at least 1"


def _tags(value: Mapping[str, int]) -> str | None:
    bad = [k for k, tag in value.items() if _tag(tag) is not None]
    return f"{', '.join(bad)}: must be FIX tag numbers (1 to 999999)" if bad else None


def _tif(value: Mapping[str, str]) -> str | None:
    bad = [k for k, v in value.items() if not v or len(v) > 2]
    return f"{', '.join(bad)}: a TimeInForce value is one or two characters" if bad else None


def _prefix(value: str) -> str | None:
    if len(value) <= 16 and all(c.isalnum() or c in "-_" for c in value):
        return None
    return "must be at most 16 letters, digits, '-' or '_'"


@dataclass(frozen=True)
class ScheduleOptions:
    """When the session runs, in the counterparty's time zone; each period is one session."""

    start: str = option("00:00", doc="Start of each period (HH:MM).", check=_clock)
    end: str = option(
        "00:00", doc="End of each period (HH:MM); equal to start: all day.", check=_clock
    )
    timezone: str = option("UTC", doc="IANA time zone of start and end.", check=_zone)
    start_day: str | None = option(
        None, doc="A weekly session: the day it starts (e.g. sun); left out: daily.", check=_day
    )
    end_day: str | None = option(
        None,
        doc="A weekly session: the day it ends (e.g. fri); given with `start_day` only.",
        check=_day,
    )

    def validate(self) -> Iterator[tuple[str, str]]:
        """A weekly session names both days: one day alone is a half-written schedule."""
        if (self.start_day is None) != (self.end_day is None):
            missing = "end_day" if self.end_day is None else "start_day"
            yield missing, "a weekly session needs both start_day and end_day"

    def schedule(self) -> Schedule:
        """The checked schedule."""
        start, end = parse_clock(self.start), parse_clock(self.end)
        assert start is not None and end is not None
        return Schedule(
            start,
            end,
            ZoneInfo(self.timezone),
            None if self.start_day is None else parse_day(self.start_day),
            None if self.end_day is None else parse_day(self.end_day),
        )


@dataclass(frozen=True)
class OrderTag:
    """A tag sent with every new order (e.g. HandlInst 21 = 1)."""

    tag: int = option(doc="The tag number.", check=_tag)
    value: str = option(doc="Its value.")


@dataclass(frozen=True)
class MarketDataOptions:
    """Which symbols to subscribe to (MarketDataRequest) and how deep."""

    symbols: tuple[str, ...] = option(
        (), doc="The gateway's symbols to subscribe to; empty: every symbol of `symbols`."
    )
    depth: int = option(
        1,
        doc="MarketDepth (264): 1 top of book, 0 the full book, N levels.",
        check=lambda v: None if v >= 0 else "must be 0 or more",
    )
    trades: bool = option(True, doc="Ask for trades (MDEntryType 2) as well as bid and offer.")


@dataclass(frozen=True)
class FixOptions:
    """A FIX 4.4 upstream: the gateway is the initiator."""

    host: str = option(doc="The counterparty's host name or address.")
    port: int = option(doc="The counterparty's port.", check=_port)
    sender_comp_id: str = option(doc="SenderCompID (49): the gateway's comp id.", check=_comp_id)
    target_comp_id: str = option(doc="TargetCompID (56): the counterparty's.", check=_comp_id)
    username: str | None = option(None, doc="Username (553) of the Logon.")
    password: Secret | None = option(None, doc="Password (554) of the Logon; use $env or $file.")
    heartbeat: Duration = option(
        Duration(30), doc="HeartBtInt (108): seconds between heartbeats.", check=_heartbeat
    )
    reconnect_min: Duration = option(
        Duration(1),
        doc="First wait before dialling again after a failure.",
        check=_positive_duration,
    )
    reconnect_max: Duration = option(
        Duration(30),
        doc="Longest wait between attempts (the wait doubles up to it).",
        check=_positive_duration,
    )
    reset_on_logon: bool = option(
        False, doc="Send ResetSeqNumFlag (141=Y) with every Logon: numbers start from 1."
    )
    schedule: ScheduleOptions | None = option(
        None, doc="When the session runs; left out: always (numbers never reset)."
    )
    account_tag: int = option(1, doc="The tag that carries the account (Account 1).", check=_tag)
    accounts: Mapping[str, str] = option(
        doc="Gateway account id → the upstream's account; unlisted: the same id.",
        factory=lambda: MappingProxyType({}),
    )
    symbols: Mapping[str, str] = option(
        doc="Gateway instrument or symbol → the upstream's Symbol (55); unlisted: the same.",
        factory=lambda: MappingProxyType({}),
    )
    time_in_force: Mapping[str, str] = option(
        doc="Duration id → TimeInForce (59); an order without a duration sends none.",
        factory=lambda: DEFAULT_TIME_IN_FORCE,
        check=_tif,
    )
    custom_fields: Mapping[str, int] = option(
        doc="Order-dialog custom field id → the tag its value is sent in.",
        factory=lambda: MappingProxyType({}),
        check=_tags,
    )
    order_tags: tuple[OrderTag, ...] = option(
        (OrderTag(21, "1"),), doc="Tags sent with every NewOrderSingle, e.g. HandlInst."
    )
    cl_ord_id_prefix: str = option(
        "", doc="Prefix of every ClOrdID (11), to tell several gateways apart.", check=_prefix
    )
    ack_timeout: Duration = option(
        Duration(5),
        doc="How long a placement, modification or cancellation waits for the upstream's "
        "answer before TradingView is told it is pending.",
        check=_positive_duration,
    )
    lease: Duration = option(
        Duration(10),
        doc="Exactly one process sharing the store runs the session; it renews a lease in the "
        "store every third of this. If it dies, another process takes over after at most this.",
        check=_positive_duration,
    )
    brackets: Literal["core", "native"] = option(
        "core",
        doc="core: the gateway works brackets (a leg is sent as an order once its parent "
        "fills; it cancels the other leg itself). native: an order and its brackets go out "
        "as one NewOrderList (E), and the upstream works them (see docs/fix.md).",
    )
    bracket_list_tags: tuple[OrderTag, ...] = option(
        (OrderTag(1385, "2"),),
        doc="Tags sent on the NewOrderList of native brackets, telling the upstream how the "
        "orders hang together; default ContingencyType (1385) = 2, one-triggers-other.",
    )
    market_data: MarketDataOptions | None = option(
        None, doc="Subscribe to the upstream's market data; left out: orders only."
    )

    def upstream_symbol(self, name: str) -> str:
        """The upstream's symbol for a gateway instrument or symbol."""
        return self.symbols.get(name, name)

    def upstream_account(self, account_id: str) -> str:
        """The upstream's account for a gateway account."""
        return self.accounts.get(account_id, account_id)
