"""Malformed `symbols:`: every mistake is one `file:line:col: path: message` line.

The cases follow tests/test_config_errors.py: ``BASE`` (six valid lines) followed by a
``symbols:`` section on line 7. ``symbol()`` writes one symbol in block style with one key per
line, in a fixed order, so that a key's line is easy to read off: the first symbol's keys sit on
lines 8 (``symbol``) to 17 (``session-regular``) and extra keys follow from line 18.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config import checks as config_checks
from gateway.config import load_config
from gateway.config.symbols import TIMEZONES
from gateway.market.sessions import SessionError, parse_session
from tests.test_config_errors import BASE, ENVIRON, fake_registry, problems_of

AAPL: dict[str, str] = {
    "symbol": "AAPL",
    "description": "Apple Inc.",
    "currency": "USD",
    "exchange-listed": "NASDAQ",
    "exchange-traded": "NASDAQ",
    "minmovement": "1",
    "pricescale": "100",
    "type": "stock",
    "timezone": "America/New_York",
    "session-regular": "0930-1600:23456",
}
"""A valid symbol; keys on lines 8-17 when it comes first."""

ESZ: dict[str, str] = {
    **AAPL,
    "symbol": "ESZ2026",
    "description": "E-mini S&P 500 Dec 2026",
    "exchange-listed": "CME_MINI",
    "exchange-traded": "CME_MINI",
    "minmovement": "25",
    "type": "futures",
    "timezone": "America/Chicago",
    "session-regular": "1700-1600:23456",
}
"""A futures contract without its futures keys (root, root-description, expiration)."""


def symbol(base: dict[str, str] = AAPL, **changes: str | None) -> str:
    """One list item in block style; ``changes`` use '_' for '-' and None removes a key."""
    item = dict(base)
    for key, value in changes.items():
        key = key.replace("_", "-")
        if value is None:
            del item[key]
        else:
            item[key] = value
    lines = [f"{k}: {v}" for k, v in item.items()]
    return "  - " + "\n    ".join(lines) + "\n"


def symbols(*items: str, groups: str = "") -> str:
    """BASE, an optional ``groups:`` text, then ``symbols:`` with ``items``."""
    return BASE + groups + "symbols:\n" + "".join(items)


def session_message(text: str) -> str:
    """The session parser's own reason for refusing ``text``."""
    with pytest.raises(SessionError) as info:
        parse_session(text)
    return str(info.value)


CASES = [
    # --- names and exchanges ---------------------------------------------------------------
    pytest.param(
        symbols(symbol(symbol="aapl")),
        [
            "8:13: symbols[0].symbol: must be upper-case latin letters, digits, '.' and '_' "
            "only, e.g. EURUSD or BTCUSDT.P"
        ],
        id="symbol-lower-case",
    ),
    pytest.param(
        symbols(symbol(symbol="BRK-B")),
        [
            "8:13: symbols[0].symbol: must be upper-case latin letters, digits, '.' and '_' "
            "only, e.g. EURUSD or BTCUSDT.P"
        ],
        id="symbol-with-dash",
    ),
    pytest.param(
        symbols(symbol(), symbol(description="Apple again")),
        ["18:5: symbols[1].symbol: duplicate symbol 'AAPL'"],
        id="duplicate-symbol",
    ),
    pytest.param(
        symbols(symbol(exchange_listed="nasdaq")),
        ["11:22: symbols[0].exchange-listed: must be upper-case, e.g. NASDAQ"],
        id="exchange-lower-case",
    ),
    pytest.param(
        symbols(symbol(description="''")),
        ["9:18: symbols[0].description: must not be empty"],
        id="empty-description",
    ),
    pytest.param(
        symbols(symbol(currency=None)),
        ["8:5: symbols[0].currency: missing required key"],
        id="currency-missing",
    ),
    # --- tickers ---------------------------------------------------------------------------
    pytest.param(
        symbols(symbol(ticker="'BTC,USD'")),
        ["18:13: symbols[0].ticker: must not contain commas"],
        id="ticker-with-comma",
    ),
    pytest.param(
        symbols(symbol(ticker="APPLE"), symbol(symbol="AAPL.US", ticker="APPLE")),
        ["29:5: symbols[1].ticker: duplicate ticker 'APPLE'"],
        id="duplicate-ticker",
    ),
    pytest.param(
        symbols(symbol(), symbol(symbol="AAPL.US", ticker="AAPL")),
        [
            "28:5: symbols[1].ticker: 'AAPL' is the name of symbols[0]: data requests would not "
            "know which one is meant"
        ],
        id="ticker-is-another-symbols-name",
    ),
    # --- prices ----------------------------------------------------------------------------
    pytest.param(
        symbols(symbol(pricescale="250")),
        ["14:5: symbols[0].pricescale: must be a power of 10 (1, 10, 100...): 10^decimals"],
        id="pricescale-not-power-of-ten",
    ),
    pytest.param(
        symbols(symbol(fractional="true")),
        ["14:5: symbols[0].pricescale: must be a power of 2 (2, 4, ... 256) with fractional: true"],
        id="fractional-pricescale-not-power-of-two",
    ),
    pytest.param(
        symbols(symbol(minmovement="0")),
        ["13:18: symbols[0].minmovement: must be a whole number greater than 0"],
        id="minmovement-zero",
    ),
    pytest.param(
        symbols(symbol(minmovement="0.5")),
        ["13:18: symbols[0].minmovement: expected a whole number, got a number (0.5)"],
        id="minmovement-fraction",
    ),
    pytest.param(
        symbols(symbol(pointvalue="0")),
        ["18:17: symbols[0].pointvalue: must be greater than 0"],
        id="pointvalue-zero",
    ),
    # --- time zone and sessions --------------------------------------------------------------
    pytest.param(
        symbols(symbol(timezone="America/NewYork")),
        [
            "16:15: symbols[0].timezone: 'America/NewYork' is not one of TradingView's time "
            "zones (did you mean America/New_York?)"
        ],
        id="timezone-typo",
    ),
    pytest.param(
        symbols(symbol(timezone="UTC")),
        [
            "16:15: symbols[0].timezone: 'UTC' is not one of TradingView's time zones "
            "(did you mean Etc/UTC?)"
        ],
        id="timezone-not-in-the-list",
    ),
    pytest.param(
        symbols(symbol(session_premarket="0400-0930:23456")),
        [
            "18:5: symbols[0].session-premarket: needs session-extended, which covers "
            "premarket, regular and postmarket"
        ],
        id="premarket-without-extended",
    ),
    pytest.param(
        symbols(
            symbol(
                session_extended="0400-2000:23456",
                session_premarket="0400-1000:23456",
                session_postmarket="1600-2000:23456",
            )
        ),
        [
            "19:5: symbols[0].session-premarket: must end by the start of session-regular "
            "(0930 on Monday)"
        ],
        id="premarket-overlaps-regular",
    ),
    pytest.param(
        symbols(
            symbol(
                session_extended="0400-1900:23456",
                session_premarket="0400-0930:23456",
                session_postmarket="1600-2000:23456",
            )
        ),
        ["20:5: symbols[0].session-postmarket: must end with session-extended (1900 on Monday)"],
        id="postmarket-beyond-extended",
    ),
    pytest.param(
        symbols(symbol(session_extended="1000-2000:23456")),
        [
            "18:5: symbols[0].session-extended: must not start after session-regular "
            "(0930 on Monday)"
        ],
        id="extended-starts-after-regular",
    ),
    pytest.param(
        symbols(symbol(session_extended="0400-2000:2345")),
        [
            "18:5: symbols[0].session-extended: has no session on Friday, when session-regular "
            "trades"
        ],
        id="extended-misses-a-regular-day",
    ),
    # --- futures ---------------------------------------------------------------------------
    pytest.param(
        symbols(symbol(ESZ)),
        [
            "8:5: symbols[0].root: required for futures",
            "8:5: symbols[0].root-description: required for futures",
            "8:5: symbols[0].expiration: required for futures",
        ],
        id="futures-without-root-and-expiration",
    ),
    pytest.param(
        symbols(symbol(ESZ, root="ES", root_description="E-mini S&P 500", expiration="20261231")),
        [],
        id="futures-complete",
    ),
    pytest.param(
        symbols(symbol(ESZ, root="ES", root_description="E-mini S&P 500", expiration="20261301")),
        ["20:17: symbols[0].expiration: 20261301 is not a date written YYYYMMDD, e.g. 20261218"],
        id="expiration-not-a-date",
    ),
    pytest.param(
        symbols(symbol(ESZ, root="ES", root_description="E-mini", expiration="'20261218'")),
        [
            "20:17: symbols[0].expiration: expected a whole number, got a string ('20261218'); "
            "YAML reads it as text: write 2.0e+9 rather than 2e9, and no quotes"
        ],
        id="expiration-quoted",
    ),
    pytest.param(
        symbols(symbol(root="AAPL")),
        ["18:5: symbols[0].root: only futures have one (TradingView wants null for other types)"],
        id="root-on-a-stock",
    ),
    # --- crypto and typespecs ------------------------------------------------------------------
    pytest.param(
        symbols(
            symbol(type="spot", typespecs="crypto", timezone="Etc/UTC", session_regular="24x7")
        ),
        [
            "8:5: symbols[0].volume-type: required when typespecs include crypto and the symbol "
            "has volume (base, quote, tick or contract)"
        ],
        id="crypto-without-volume-type",
    ),
    pytest.param(
        symbols(
            symbol(
                type="spot",
                typespecs="crypto",
                has_no_volume="true",
                timezone="Etc/UTC",
                session_regular="24x7",
            )
        ),
        [],
        id="crypto-without-volume-needs-no-volume-type",
    ),
    pytest.param(
        symbols(symbol(typespecs="'cfd,etf'")),
        ["18:16: symbols[0].typespecs: unknown typespec 'etf' (allowed: cfd, spreadbet, crypto)"],
        id="unknown-typespec",
    ),
    pytest.param(
        symbols(symbol(typespecs="'crypto, cfd'")),
        ["18:16: symbols[0].typespecs: write it without spaces, e.g. crypto,cfd"],
        id="typespecs-with-space",
    ),
    pytest.param(
        symbols(symbol(volume_type="shares")),
        [
            "18:18: symbols[0].volume-type: unknown value 'shares' "
            "(allowed: base, quote, tick, contract)"
        ],
        id="unknown-volume-type",
    ),
    pytest.param(
        symbols(symbol(is_cfd="true")),
        ["18:5: symbols[0].is-cfd: deprecated by TradingView: use typespecs: cfd"],
        id="is-cfd-deprecated",
    ),
    pytest.param(
        symbols(symbol(typespecs="cfd,cfd")),
        ["18:16: symbols[0].typespecs: lists a typespec twice"],
        id="typespec-twice",
    ),
    # --- keys and identifiers ----------------------------------------------------------------
    pytest.param(
        symbols(symbol(exchange_traded="' '", ticker="''")),
        [
            "12:22: symbols[0].exchange-traded: must not be empty",
            "18:13: symbols[0].ticker: must not be empty",
        ],
        id="empty-exchange-and-ticker",
    ),
    pytest.param(
        symbols(symbol(isin="US037833100")),
        [
            "18:11: symbols[0].isin: expected 12 characters: country code, 9 letters or digits, "
            "check digit"
        ],
        id="isin-too-short",
    ),
    pytest.param(
        symbols(symbol(wkn="A1B2C")),
        ["18:10: symbols[0].wkn: expected 6 upper-case letters or digits, e.g. 865985"],
        id="wkn-too-short",
    ),
    pytest.param(
        symbols(symbol(pricescale=None, pricescal="100")),
        ["17:5: symbols[0].pricescal: unknown key (did you mean pricescale?)"],
        id="misspelt-key",
    ),
    pytest.param(
        symbols(symbol(minmov2="10")),
        ["18:5: symbols[0].minmov2: renamed by TradingView: use minmovement2"],
        id="old-key-minmov2",
    ),
    pytest.param(
        symbols(symbol(isin="US0378331006")),
        ["18:11: symbols[0].isin: US0378331006 has a wrong check digit"],
        id="isin-check-digit",
    ),
    # --- groups ----------------------------------------------------------------------------
    pytest.param(
        symbols(symbol(), groups="groups:\n  - id: acme_stocks\n  - id: acme_fx\n"),
        [
            "11:5: symbols[0].group: required when groups are configured "
            "(one of acme_stocks, acme_fx)"
        ],
        id="symbol-without-group",
    ),
    pytest.param(
        symbols(symbol(group="acme_stock"), groups="groups:\n  - id: acme_stocks\n"),
        ["20:5: symbols[0].group: unknown group 'acme_stock' (did you mean acme_stocks?)"],
        id="symbol-in-unknown-group",
    ),
    pytest.param(
        symbols(symbol(group="acme_stocks")),
        ["18:5: symbols[0].group: no groups are configured: list it under groups or remove it"],
        id="group-without-groups",
    ),
    pytest.param(
        BASE + "groups:\n" + "".join(f"  - id: acme_{'x' * n}\n" for n in range(1, 12)),
        ["18:5: groups[10].id: TradingView allows at most 10 groups"],
        id="eleven-groups",
    ),
]


@pytest.mark.parametrize(("yaml_text", "expected"), CASES)
def test_malformed_symbols(tmp_path: Path, yaml_text: str, expected: list[str]) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    if not expected:
        load_config(path, environ=ENVIRON, registry=fake_registry())
        return
    assert problems_of(path) == [f"{path}:{line}" for line in expected]


@pytest.mark.parametrize(
    "value", ["0930-1660:23456", "0930-1600:28", "0930-1200|1300-1600", "24X7"]
)
def test_unparseable_sessions_carry_the_parsers_reason(tmp_path: Path, value: str) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(symbols(symbol(session_regular=value)), encoding="utf-8")
    reason = session_message(value)
    assert problems_of(path) == [
        f"{path}:17:22: symbols[0].session-regular: invalid session: {reason}"
    ]


def test_every_session_key_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    text = symbols(
        symbol(
            session_extended="0400-2000:2345X",
            session_premarket="0400-0930:23456|",
            session_postmarket="1600-2000:23456",
        )
    )
    path.write_text(text, encoding="utf-8")
    assert problems_of(path) == [
        f"{path}:18:23: symbols[0].session-extended: invalid session: "
        + session_message("0400-2000:2345X"),
        f"{path}:19:24: symbols[0].session-premarket: invalid session: "
        + session_message("0400-0930:23456|"),
    ]


def test_too_many_symbols_in_one_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # TradingView's limit is 10 000 symbols per group; the check reads the limit when it runs.
    monkeypatch.setattr(config_checks, "MAX_SYMBOLS_PER_GROUP", 2)
    items = [symbol(symbol=name, group="acme_stocks") for name in ("A", "B", "C", "D")]
    path = tmp_path / "gateway.yaml"
    path.write_text(symbols(*items, groups="groups:\n  - id: acme_stocks\n"), encoding="utf-8")
    assert problems_of(path) == [
        f"{path}:42:5: symbols[2].group: group 'acme_stocks' has more than 2 symbols "
        "(TradingView's limit per group)"
    ]


def test_every_key_loads(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    full = symbol(
        ESZ,
        currency="null",
        base_currency="USD",
        minmovement2="0",
        fractional="false",
        root="ES",
        root_description="E-mini S&P 500",
        has_intraday="true",
        has_no_volume="false",
        typespecs="cfd",
        volume_type="contract",
        ticker="ES/Z26",
        session_regular="0830-1500:23456",
        session_extended="1700-1600:23456",
        session_premarket="1700-0830:23456",
        session_postmarket="1500-1600:23456",
        has_daily="true",
        has_weekly_and_monthly="false",
        pointvalue="50",
        expiration="20261218",
        bar_source="trade",
        bar_transform="none",
        bar_fillgaps="false",
        isin="US0378331005",
        wkn="'865985'",
    )
    path.write_text(symbols(full), encoding="utf-8")
    (sym,) = load_config(path, environ=ENVIRON, registry=fake_registry()).symbols
    assert sym.currency is None
    assert sym.pointvalue == 50.0
    assert sym.expiration == 20261218
    assert sym.volume_type == "contract"
    assert sym.group is None


def test_the_listed_time_zones_are_real_zones() -> None:
    assert len(TIMEZONES) == len(set(TIMEZONES)) == 42
    for name in TIMEZONES:
        ZoneInfo(name)  # tzdata is a dependency: every listed zone must load
