"""The ``sql`` connector's options: the database, and one declaration per endpoint it serves.

Every slot says which bound parameters its SQL may use and which spec fields its mapping must
produce; both are checked when the configuration loads, with the YAML line of the mistake.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from connectors.sql._declarations import Statement, is_read
from gateway.auth.passwords import check_scheme
from gateway.config._convert import config_fields, option, suggest
from gateway.config.instruments import Instrument
from gateway.config.symbols import Symbol
from gateway.config.types import Duration, Secret

_CHANNEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
"""A channel name is an SQL identifier (LISTEN takes no bound parameter): a safe subset only."""

LISTINGS: dict[str, type] = {"market_data.symbols": Symbol, "account_data.instruments": Instrument}
"""Slots whose records become configuration entries, keyed like the YAML's."""


def _required(cls: type) -> frozenset[str]:
    fields = config_fields(cls)
    return frozenset(
        key
        for key, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


READS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "market_data.symbols": (frozenset(), _required(Symbol)),
    "account_data.instruments": (frozenset(), _required(Instrument)),
    # slot: (parameters the SQL may use, spec fields the mapping must produce)
    "identity.user": (frozenset({"login"}), frozenset({"password_hash"})),
    "identity.accounts": (frozenset({"login"}), frozenset({"id"})),
    "identity.groups": (frozenset({"login"}), frozenset({"group"})),
    "account_data.state": (frozenset({"account_id", "login"}), frozenset({"balance"})),
    "account_data.orders": (
        frozenset({"account_id", "login", "since"}),
        frozenset({"id", "instrument", "qty", "side", "type", "status"}),
    ),
    "account_data.orders_history": (
        frozenset({"account_id", "login", "before", "max_count"}),
        frozenset({"id", "instrument", "qty", "side", "type", "status"}),
    ),
    "account_data.positions": (
        frozenset({"account_id", "login"}),
        frozenset({"id", "instrument", "qty", "avgPrice"}),  # side: from a signed qty
    ),
    "account_data.executions": (
        frozenset({"account_id", "login", "instrument", "max_count"}),
        frozenset({"instrument", "price", "qty", "side", "time"}),
    ),
    "account_data.leverage": (
        frozenset({"account_id", "login", "instrument", "side", "order_type"}),
        frozenset({"leverage", "min", "max", "step"}),
    ),
    "account_data.balances": (
        frozenset({"account_id", "login"}),
        frozenset({"symbol", "total", "available", "reserved"}),
    ),
    "market_data.quotes": (frozenset(), frozenset({"symbol", "bid", "ask"})),
    "market_data.bars": (
        frozenset({"symbol", "start", "end"}),
        frozenset({"time", "open", "high", "low", "close"}),
    ),
}
"""The read slots."""

ORDER_PARAMS = frozenset(
    {
        "account_id",
        "login",
        "instrument",
        "qty",
        "side",
        "type",
        "limit_price",
        "stop_price",
        "duration_type",
        "duration_date_time",
        "request_id",
        "nonce",
        "now_ms",
    }
)
BRACKET_PARAMS = frozenset({"take_profit", "stop_loss", "trailing_stop_pips", "guaranteed_stop"})
WRITES: dict[str, frozenset[str]] = {
    # slot: parameters its statements may use (plus those its own `params` compute)
    "execution.place": ORDER_PARAMS | BRACKET_PARAMS,
    "execution.modify": ORDER_PARAMS | BRACKET_PARAMS | {"order_id"},
    "execution.cancel": frozenset({"account_id", "login", "order_id", "now_ms"}),
    "execution.close_position": frozenset(
        {"account_id", "login", "position_id", "amount", "now_ms", "nonce"}
    ),
    "execution.modify_position": BRACKET_PARAMS
    | {"account_id", "login", "position_id", "now_ms", "nonce"},
    "execution.set_leverage": frozenset(
        {"account_id", "login", "instrument", "side", "order_type", "leverage", "now_ms"}
    ),
    "execution.reverse_position": frozenset(
        {"account_id", "login", "position_id", "qty", "side", "now_ms", "nonce"}
    ),
}
"""The write slots."""


@dataclass(frozen=True)
class IdentityQueries:
    """Who may log in (the identity role), from the broker's user tables."""

    user: Statement = option(
        doc="One row for a login: its password hash (field password_hash) and optionally "
        "active (false: refused). Parameter :login."
    )
    accounts: Statement = option(
        doc="The login's accounts (field id; optional name, currency, type and profile: "
        "accounts not listed in the YAML are served from that account profile). "
        "Parameter :login."
    )
    groups: Statement | None = option(
        None, doc="The login's data groups (field group). Parameter :login."
    )


@dataclass(frozen=True)
class AccountQueries:
    """Account state read from the broker's tables (the account_data role, mapped mode)."""

    state: Statement = option(doc="One row: balance, unrealizedPl, equity… (/state).")
    orders: Statement = option(doc="Working orders and today's final ones (/orders).")
    orders_history: Statement | None = option(None, doc="Final orders before today.")
    positions: Statement | None = option(None, doc="Open positions (/positions).")
    executions: Statement | None = option(None, doc="Fills (/executions).")
    balances: Statement | None = option(None, doc="Crypto balances (/balances).")
    leverage: Statement | None = option(
        None,
        doc="One row: the leverage of :instrument for :side and :order_type, and what the user "
        "may choose (fields leverage, min, max, step; optional title) (getLeverage).",
    )
    instruments: Statement | None = option(
        None,
        doc="Tradable instruments, one row each, fields named like the YAML's instruments "
        "keys (name, description, type, minTick…); read when the gateway starts and added to "
        "instruments (a YAML entry of the same name wins).",
    )


@dataclass(frozen=True)
class MarketQueries:
    """Market data from the broker's tables (the market_data role)."""

    symbols: Statement | None = option(
        None,
        doc="Chart symbols, one row each, fields named like the YAML's symbols keys (symbol, "
        "description, type, exchange-listed, session-regular…); read when the gateway starts "
        "and added to symbols (a YAML entry of the same name wins).",
    )
    quotes: Statement | None = option(
        None,
        doc="The latest quote of every symbol (fields symbol, bid, ask; optional last and "
        "last_size, the last trade), polled every poll_interval: each change of bid/ask is a "
        "quote, each change of last/last_size a trade.",
    )
    bars: Statement | None = option(
        None,
        doc="1-minute bars of :symbol with :start <= time < :end, Unix seconds (fields time, "
        "open, high, low, close, volume): the back-fill of /history.",
    )


@dataclass(frozen=True, kw_only=True)
class ExecutionStatements:
    """Order commands written to the broker's tables, each in one transaction."""

    place: tuple[Statement, ...] = option(
        doc="Statements that record a new order; the last returns its id (field id)."
    )
    modify: tuple[Statement, ...] = option((), doc="Statements that change a working order.")
    cancel: tuple[Statement, ...] = option(doc="Statements that cancel a working order.")
    close_position: tuple[Statement, ...] = option((), doc="Statements that close a position.")
    modify_position: tuple[Statement, ...] = option(
        (), doc="Statements that set a position's brackets (modifyPosition)."
    )
    set_leverage: tuple[Statement, ...] = option(
        (),
        doc="Statements that store the user's :leverage for :instrument, :side and :order_type "
        "(setLeverage; the gateway has checked it against the leverage query's bounds).",
    )
    reverse_position: tuple[Statement, ...] = option(
        (),
        doc="Statements that reverse a position (modifyPosition with side, where the account "
        "offers supportNativeReversePosition): :side is the new side, :qty the position's size.",
    )


@dataclass(frozen=True)
class SqlOptions:
    """Options of the sql connector."""

    url: Secret = option(
        doc="SQLAlchemy URL of the broker's database; relative SQLite paths are relative to "
        "the configuration file."
    )
    password_scheme: Literal["auto", "bcrypt", "argon2", "pbkdf2_sha256"] = option(
        "auto", doc="How the user table's password hashes are made; auto detects each hash."
    )
    poll_interval: Duration = option(
        Duration(1.0), doc="How often change detection polls the database for the streams."
    )
    listen: str | None = option(
        None,
        doc="PostgreSQL: a LISTEN/NOTIFY channel the broker's triggers notify on every change "
        "of orders, positions or balances (payload: the account id, or empty for any). The "
        "trading streams then re-read at once; poll_interval remains the fallback. Other "
        "databases poll only.",
        check=lambda v: (
            None
            if _CHANNEL.match(v)
            else "must be a name of letters, digits and _ (at most 63, not starting with a digit)"
        ),
    )
    identity: IdentityQueries | None = option(None, doc="The identity role.")
    account_data: AccountQueries | None = option(None, doc="The account_data role.")
    execution: ExecutionStatements | None = option(
        None, doc="Order commands in mapped mode (place, modify, cancel, close_position)."
    )
    market_data: MarketQueries | None = option(None, doc="The market_data role.")

    def statements(self) -> Iterator[tuple[str, Statement]]:
        """Every declared statement with its slot name (``execution.place`` for each of its)."""
        for section in ("identity", "account_data", "execution", "market_data"):
            group = getattr(self, section)
            if group is None:
                continue
            for name in vars(group):
                value = getattr(group, name)
                for statement in value if isinstance(value, tuple) else (value,):
                    if statement is not None:
                        yield f"{section}.{name}", statement

    def validate(self) -> Iterator[tuple[str, str]]:
        """Parameters each slot offers, fields it must produce, reads only where reading."""
        problem = check_scheme(self.password_scheme)
        if problem:
            yield "password_scheme", problem
        for slot, statement in self.statements():
            where = _relative(statement.path)
            if slot in READS:
                allowed, required = READS[slot]
                if not is_read(statement.sql):
                    yield f"{where}.sql", "a read endpoint takes a SELECT only"
                # Without `fields`, result columns named like the spec's fields map themselves;
                # `gateway check --connect` then checks the columns the query returns.
                missing = sorted(required - set(statement.fields))
                if statement.fields and missing:
                    yield f"{where}.fields", f"missing the spec field(s) {', '.join(missing)}"
                if slot in LISTINGS:
                    keys = config_fields(LISTINGS[slot])
                    for name in statement.fields:
                        if name not in keys:
                            yield (
                                f"{where}.fields.{name}",
                                f"not a key of {slot.split('.')[1]}{suggest(name, keys)}",
                            )
            else:
                allowed = WRITES[slot] | frozenset(statement.params)
                if is_read(statement.sql) and slot != "execution.place":
                    yield f"{where}.sql", "expected a statement that writes (INSERT, UPDATE…)"
            unknown = sorted(statement.bind_names - allowed)
            if unknown:
                offered = ", ".join(f":{p}" for p in sorted(allowed))
                names = ", ".join(f":{p}" for p in unknown)
                yield f"{where}.sql", f"unknown parameter {names} (this endpoint offers {offered})"


def _relative(path: str) -> str:
    """The declaration's path relative to the connector's options (validate() reports so)."""
    parts = path.split(".")
    # connectors.<name>.<section>.<slot>[...]: drop the first two.
    return ".".join(parts[2:]) if len(parts) > 2 else path
