"""Symbols as ``GET /symbol_info`` serves them to TradingView's data servers.

One :class:`Symbol` per chart symbol, with the spec's own kebab-case keys (``exchange-listed``,
``session-regular``...), so that the spec's SymbolInfoArrays reads as the reference of this
section. Everything TradingView's symbol-info acceptance tests look at is checked when the file
is loaded, each problem at its YAML position: a broker learns of a bad ``pricescale`` from
``gateway check``, not from TradingView's report a week later.

Checks that compare symbols with each other or with ``groups:`` (unique names and tickers,
group membership and TradingView's group limits) live in :mod:`gateway.config.checks`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from gateway.config._convert import option, suggest
from gateway.config.instruments import SymbolType
from gateway.market.sessions import SessionError, SessionSpec, parse_session

TIMEZONES: tuple[str, ...] = (
    "America/New_York", "America/Los_Angeles", "America/Chicago", "America/Phoenix",
    "America/Toronto", "America/Vancouver", "America/Argentina/Buenos_Aires",
    "America/El_Salvador", "America/Sao_Paulo", "America/Bogota", "Europe/Moscow",
    "Europe/Athens", "Europe/Berlin", "Europe/London", "Europe/Madrid", "Europe/Paris",
    "Europe/Warsaw", "Australia/Sydney", "Australia/Brisbane", "Australia/Adelaide",
    "Australia/ACT", "Asia/Almaty", "Asia/Ashkhabad", "Asia/Tokyo", "Asia/Taipei",
    "Asia/Singapore", "Asia/Shanghai", "Asia/Seoul", "Asia/Tehran", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Hong_Kong", "Asia/Bangkok", "Pacific/Auckland", "Pacific/Chatham",
    "Pacific/Fakaofo", "Pacific/Honolulu", "America/Mexico_City", "Africa/Johannesburg",
    "Asia/Kathmandu", "US/Mountain", "Etc/UTC",
)  # fmt: skip
"""The ``timezone`` values spec 1.4.14 allows (an enum of the OpenAPI file), in its order."""

TYPESPECS: tuple[str, ...] = ("cfd", "spreadbet", "crypto")
"""The values a comma-separated ``typespecs`` may combine."""

VolumeType = Literal["base", "quote", "tick", "contract"]
BarSource = Literal["bid", "ask", "mid", "trade"]
BarTransform = Literal["none", "openprev", "prevopen"]

_SYMBOL = re.compile(r"^[A-Z0-9._]+$")
_ISIN = re.compile(r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$")
_WKN = re.compile(r"^[A-Z0-9]{6}$")
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


Check = Callable[[Any], "str | None"]


def _unless_null(check: Check) -> Check:
    """A check that lets an explicit null through (optional keys may be written ``null``)."""

    def checked(value: Any) -> str | None:
        return None if value is None else check(value)

    return checked


@_unless_null
def _text(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


def _symbol_name(value: str) -> str | None:
    if not _SYMBOL.match(value):
        return (
            "must be upper-case latin letters, digits, '.' and '_' only, e.g. EURUSD or BTCUSDT.P"
        )
    return None


def _exchange(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    if value != value.upper():
        return f"must be upper-case, e.g. {value.upper()}"
    return None


@_unless_null
def _positive_int(value: int) -> str | None:
    return "must be a whole number greater than 0" if value <= 0 else None


@_unless_null
def _not_negative(value: int) -> str | None:
    return "must not be negative" if value < 0 else None


@_unless_null
def _positive(value: float) -> str | None:
    return "must be greater than 0" if value <= 0 else None


@_unless_null
def _ticker(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    if "," in value:
        return "must not contain commas"
    return None


def _timezone(value: str) -> str | None:
    if value in TIMEZONES:
        return None
    return f"{value!r} is not one of TradingView's time zones{suggest(value, TIMEZONES)}"


@_unless_null
def _typespecs(value: str) -> str | None:
    if " " in value:
        return f"write it without spaces, e.g. {value.replace(' ', '')}"
    parts = value.split(",")
    for part in parts:
        if part not in TYPESPECS:
            return f"unknown typespec {part!r} (allowed: {', '.join(TYPESPECS)})"
    if len(set(parts)) < len(parts):
        return "lists a typespec twice"
    return None


@_unless_null
def _expiration(value: int) -> str | None:
    text = str(value)
    if len(text) == 8:
        try:
            datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
        else:
            return None
    return f"{value} is not a date written YYYYMMDD, e.g. 20261218"


@_unless_null
def _isin(value: str) -> str | None:
    if not _ISIN.match(value):
        return "expected 12 characters: country code, 9 letters or digits, check digit"
    # ISO 6166: letters become two digits (A=10...), then the Luhn check over the digits.
    digits = "".join(str(int(c, 36)) for c in value)
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return None if total % 10 == 0 else f"{value} has a wrong check digit"


@_unless_null
def _wkn(value: str) -> str | None:
    return None if _WKN.match(value) else "expected 6 upper-case letters or digits, e.g. 865985"


@_unless_null
def _session(value: str) -> str | None:
    try:
        parse_session(value)
    except SessionError as exc:
        return f"invalid session: {exc}"
    return None


def is_power(value: int, base: int) -> bool:
    """Whether ``value`` is ``base`` to a whole power (1 included): the pricescale rule."""
    while value > 1 and value % base == 0:
        value //= base
    return value == 1


def _hhmm(minutes: int) -> str:
    if minutes != 24 * 60:  # 2400 is a close; an overnight open is the evening before
        minutes %= 24 * 60
    return f"{minutes // 60:02d}{minutes % 60:02d}"


def _parsed(value: str | None) -> SessionSpec | None:
    # validate() runs once every key passed its own check: the sessions parse.
    return None if value is None else parse_session(value)


@dataclass(frozen=True, kw_only=True)
class Symbol:
    """A chart symbol (one entry of the spec's SymbolInfoArrays, served by /symbol_info)."""

    __key_style__ = "kebab"
    __deprecated_keys__ = {  # noqa: RUF012 - read-only class table
        "is-cfd": "deprecated by TradingView: use typespecs: cfd",
        "minmov2": "renamed by TradingView: use minmovement2",
        "session": "renamed by TradingView: use session-regular",
    }
    symbol: str = option(
        doc="Name users see: upper-case letters, digits, '.' and '_', e.g. EURUSD.",
        check=_symbol_name,
    )
    description: str = option(doc="Shown in the chart legend.", check=_text)
    currency: str | None = option(
        doc="Quote (counter) currency, ISO 4217 for fiat, e.g. USD; null if none.",
        check=_text,
    )
    base_currency: str | None = option(
        None, doc="Base currency of a pair, e.g. EUR in EURUSD.", check=_text
    )
    exchange_listed: str = option(doc="Listing exchange, upper-case, e.g. NASDAQ.", check=_exchange)
    exchange_traded: str = option(doc="Trading exchange, upper-case.", check=_exchange)
    minmovement: int = option(
        doc="Tick size in price units: minmovement / pricescale.", check=_positive_int
    )
    minmovement2: int | None = option(
        None, doc="Pip digits of forex, or fraction of a fraction (spec default 0).",
        check=_not_negative,
    )  # fmt: skip
    fractional: bool | None = option(
        None, doc="Fractional price format, pricescale 2^n (spec default false)."
    )
    pricescale: int = option(
        doc="10^decimals, e.g. 100 for 300.01; 2^n with fractional.", check=_positive_int
    )
    root: str | None = option(None, doc="Futures root, e.g. ES (futures only).", check=_text)
    root_description: str | None = option(
        None, doc="Futures root description (futures only).", check=_text
    )
    has_intraday: bool | None = option(None, doc="Minute bars available (assumed true).")
    has_no_volume: bool | None = option(None, doc="No volume data (spec default false).")
    type: SymbolType = option(doc="Symbol type (spec SymbolType).")
    typespecs: str | None = option(
        None, doc="Comma-separated subset of cfd, spreadbet, crypto.", check=_typespecs
    )
    volume_type: VolumeType | None = option(
        None, doc="What volume counts; required with typespecs crypto and volume."
    )
    ticker: str | None = option(
        None, doc="Unique id of data requests, e.g. BTC/USD (default: the symbol).", check=_ticker
    )
    timezone: str = option(
        doc="Exchange time zone, one of TradingView's list, e.g. America/New_York.",
        check=_timezone,
    )
    session_regular: str = option(
        doc="Trading hours in exchange time, e.g. 0930-1600:23456 or 24x7.", check=_session
    )
    session_extended: str | None = option(
        None, doc="Premarket + regular + postmarket hours.", check=_session
    )
    session_premarket: str | None = option(
        None, doc="Hours before the regular session.", check=_session
    )
    session_postmarket: str | None = option(
        None, doc="Hours after the regular session.", check=_session
    )
    has_daily: bool | None = option(None, doc="Broker serves daily bars (spec default true).")
    has_weekly_and_monthly: bool | None = option(
        None, doc="Broker serves weekly and monthly bars (spec default false)."
    )
    pointvalue: float | None = option(
        None, doc="Value of one whole price unit (spec default 1).", check=_positive
    )
    expiration: int | None = option(
        None, doc="Futures expiry as YYYYMMDD, e.g. 20261218 (futures only).", check=_expiration
    )
    bar_source: BarSource | None = option(
        None, doc="What bars are built from (spec default trade)."
    )
    bar_transform: BarTransform | None = option(None, doc="Bar alignment (spec default none).")
    bar_fillgaps: bool | None = option(
        None, doc="Flat zero-volume bars when nothing trades (spec default false)."
    )
    isin: str | None = option(None, doc="ISIN (stocks).", check=_isin)
    wkn: str | None = option(None, doc="German WKN (German stocks).", check=_wkn)
    group: str | None = option(
        None,
        doc="Id of the data group (groups) the symbol belongs to; required when groups exist.",
        wire=False,
    )

    def validate(self) -> Iterator[tuple[str, str]]:
        """Rules that tie several fields together, as TradingView's acceptance tests apply them."""
        if self.fractional:
            if not is_power(self.pricescale, 2):
                yield "pricescale", "must be a power of 2 (2, 4, ... 256) with fractional: true"
        elif not is_power(self.pricescale, 10):
            yield "pricescale", "must be a power of 10 (1, 10, 100...): 10^decimals"
        futures_only = {
            "root": self.root,
            "root-description": self.root_description,
            "expiration": self.expiration,
        }
        for key, value in futures_only.items():
            if self.type == "futures" and value is None:
                yield key, "required for futures"
            elif self.type != "futures" and value is not None:
                yield key, "only futures have one (TradingView wants null for other types)"
        if (
            "crypto" in (self.typespecs or "").split(",")
            and not self.has_no_volume
            and self.volume_type is None
        ):
            yield (
                "volume-type",
                "required when typespecs include crypto and the symbol has volume "
                "(base, quote, tick or contract)",
            )
        yield from self._sessions()

    def _sessions(self) -> Iterator[tuple[str, str]]:
        """Premarket and postmarket sit inside the extended session, around the regular one.

        Compared day by day on the parsed sessions; each rule is reported once, for the first
        day (Sunday first) that breaks it.
        """
        for key, value in (
            ("session-premarket", self.session_premarket),
            ("session-postmarket", self.session_postmarket),
        ):
            if value is not None and self.session_extended is None:
                yield key, "needs session-extended, which covers premarket, regular and postmarket"
        regular = parse_session(self.session_regular)
        extended = _parsed(self.session_extended)
        pre = _parsed(self.session_premarket)
        post = _parsed(self.session_postmarket)
        found: dict[str, tuple[str, str]] = {}
        for index, day in enumerate(_DAY_NAMES):
            r = regular.days[index]
            if r is None:
                continue
            e = extended.days[index] if extended else None
            p = pre.days[index] if pre else None
            q = post.days[index] if post else None
            rules: list[tuple[str, str, bool, str]] = []
            if extended is not None:
                rules += [
                    ("e-day", "session-extended", e is None, f"has no session on {day}, when "
                     "session-regular trades"),
                    ("e-open", "session-extended", e is not None and e.open > r.open,
                     f"must not start after session-regular ({_hhmm(r.open)} on {day})"),
                    ("e-close", "session-extended", e is not None and e.close < r.close,
                     f"must not end before session-regular ({_hhmm(r.close)} on {day})"),
                ]  # fmt: skip
            if p is not None:
                rules += [
                    ("p-close", "session-premarket", p.close > r.open,
                     f"must end by the start of session-regular ({_hhmm(r.open)} on {day})"),
                    ("p-open", "session-premarket", e is not None and p.open != e.open,
                     f"must start with session-extended ({_hhmm(e.open if e else 0)} on {day})"),
                ]  # fmt: skip
            if q is not None:
                rules += [
                    ("q-open", "session-postmarket", q.open < r.close,
                     f"must not start before session-regular ends ({_hhmm(r.close)} on {day})"),
                    ("q-close", "session-postmarket", e is not None and q.close != e.close,
                     f"must end with session-extended ({_hhmm(e.close if e else 0)} on {day})"),
                ]  # fmt: skip
            for rule, key, broken, message in rules:
                if broken and rule not in found:
                    found[rule] = (key, message)
        yield from found.values()
