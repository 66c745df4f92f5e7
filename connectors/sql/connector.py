"""The sql connector: identity and account data from a broker's own database (mapped mode).

Reads run in read-only transactions (SQLite ``query_only``, ``SET TRANSACTION READ ONLY``
elsewhere), so a declared read cannot write even if its SQL tried. Values are bound
parameters only. Mapping expressions run in Jinja2's sandbox.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
import sqlalchemy.event
import sqlalchemy.exc
from sqlalchemy.engine import Connection, Engine

from connectors.sql import _listen
from connectors.sql._declarations import Statement
from connectors.sql._expressions import ExpressionError
from connectors.sql._options import READS, SqlOptions
from gateway.auth import passwords as _passwords
from gateway.errors import ApiError
from gateway.plugins.records import AccountListing, Bar, Listing, Principal, Quote, Trade
from gateway.plugins.roles import ConnectorContext, Role, TickSink
from gateway.store.database import anchor_sqlite_url, engine_options
from gateway.trading.events import Changes
from gateway.trading.mapped import unix_seconds

log = logging.getLogger("gateway.connectors.sql")

MAX_ROWS = 5000
"""The most rows one read returns (a runaway query must not exhaust a worker)."""


MAX_LISTED = 50_000
"""The most symbols or instruments one listing reads."""


class SqlError(Exception):
    """A declared statement failed or returned something unusable; names the declaration."""


# How each database makes a session read-only, run once per new connection.
_READ_ONLY_SESSION = {
    "sqlite": "PRAGMA query_only = ON",
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "mariadb": "SET SESSION TRANSACTION READ ONLY",
}


def _read_only_url(url: str) -> sa.URL:
    """SQLite files opened read-only (``mode=ro``): a missing file is an error, not created."""
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if (
        parsed.get_backend_name() != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return parsed
    uri = "file:" + urllib.parse.quote(database)
    return parsed.set(database=uri).update_query_dict({"mode": "ro", "uri": "true"})


def _read_only_engine(url: str) -> Engine:
    # Not the store's create_engine: that one switches SQLite to WAL, and the broker's database
    # is the broker's to configure.
    engine = sa.create_engine(_read_only_url(url), **engine_options(url))
    statement = _READ_ONLY_SESSION.get(engine.dialect.name)
    if statement is None:
        raise SqlError(f"{engine.dialect.name}: no read-only session known for this database")

    def read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if engine.dialect.name != "sqlite":
            dbapi_connection.commit()

    sqlalchemy.event.listen(engine, "connect", read_only)
    return engine


class SqlConnector:
    """Serves identity and account data from declared SQL."""

    kind: ClassVar[str] = "sql"
    roles: ClassVar[frozenset[Role]] = frozenset(
        {Role.IDENTITY, Role.ACCOUNT_DATA, Role.MARKET_DATA}
    )
    Options: ClassVar[type] = SqlOptions

    def __init__(
        self,
        options: SqlOptions,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Remember the options; nothing connects before :meth:`start` (or first use)."""
        self.options = options
        self.name = context.name
        self.url = anchor_sqlite_url(options.url.reveal(), Path(context.base_dir))
        self._clock = clock
        self._engine: Engine | None = None
        self._writer: Engine | None = None
        self._lock = threading.Lock()
        self._principals: dict[str, tuple[float, Principal | None]] = {}
        self._sinks: tuple[TickSink, ...] = ()
        self._stopping = threading.Event()
        self._poller: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self.changes = Changes()
        """Bumped per account by the database's notifications (``listen``); mapped mode's
        streams wait on it."""

    # Lifecycle --------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The pool for reads, made on first use (after gunicorn's fork).

        Its connections are read-only for their whole session, set once when each opens: a
        declared read cannot write even if its SQL tried, and no statement per call is spent
        on it.
        """
        with self._lock:
            if self._engine is None:
                self._engine = _read_only_engine(self.url)
            return self._engine

    @property
    def writer(self) -> Engine:
        """The pool for order commands (an ordinary read-write pool), made on first use."""
        with self._lock:
            if self._writer is None:
                self._writer = sa.create_engine(self.url, **engine_options(self.url))
            return self._writer

    def start(self) -> None:
        """Start polling the quotes and listening for changes, as declared.

        The pools open on first use.
        """
        market = self.options.market_data
        with self._lock:
            running = [t for t in (self._poller, self._listener) if t is not None]
            if any(t.is_alive() for t in running):
                return
            self._stopping = stopping = threading.Event()
            if market is not None and market.quotes is not None:
                self._poller = threading.Thread(
                    target=self._poll_quotes,
                    args=(market.quotes, stopping),
                    name=f"sql:{self.name}:quotes",
                    daemon=True,
                )
                self._poller.start()
        channel = self.options.listen
        if channel is not None and self._can_listen():
            self._listener = threading.Thread(
                target=_listen.listen,
                args=(self.writer, channel, self.changes, stopping, self.name),
                name=f"sql:{self.name}:listen",
                daemon=True,
            )
            self._listener.start()

    def _can_listen(self) -> bool:
        url = sa.engine.make_url(self.url)
        if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
            return True
        # The same YAML serves SQLite and MariaDB copies of a PostgreSQL database: polling it is.
        log.warning(
            "connectors.%s.listen: LISTEN/NOTIFY needs PostgreSQL with the psycopg driver "
            "(this is %s+%s); the streams poll every %s s",
            self.name,
            url.get_backend_name(),
            url.get_driver_name(),
            f"{self.options.poll_interval.seconds:g}",
        )
        return False

    def stop(self) -> None:
        """Stop polling and listening, and close the pools."""
        self._stopping.set()
        threads = (self._poller, self._listener)
        self._poller = self._listener = None
        for thread in threads:
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5)
        with self._lock:
            for engine in (self._engine, self._writer):
                if engine is not None:
                    engine.dispose()
            self._engine = self._writer = None

    # Reading ----------------------------------------------------------------------------------

    @contextmanager
    def _read_only(self) -> Iterator[Connection]:
        """A connection of the read-only pool; its transaction is rolled back after use."""
        with self.engine.connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()  # reads only: nothing to keep

    def read(
        self, statement: Statement, params: Mapping[str, Any], limit: int = MAX_ROWS
    ) -> list[dict[str, Any]]:
        """Run a declared read with the parameters it uses; its rows, mapped to spec fields."""
        bound = {name: params.get(name) for name in statement.bind_names}
        try:
            with self._read_only() as conn:
                result = conn.execute(statement.text, bound)
                rows = [dict(row) for row in result.mappings().fetchmany(limit)]
        except sqlalchemy.exc.SQLAlchemyError as exc:
            # The driver's message can quote data: it goes to the log, never to the caller.
            log.error("%s failed: %s", statement.where(), _first_line(exc))
            raise ApiError("unavailable") from None
        try:
            return [statement.map_row(row) for row in rows]
        except ExpressionError as exc:
            log.error("%s: %s", statement.where(), exc)
            raise ApiError("unavailable") from None

    # The identity role ------------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> Principal | None:
        """Check the password against the broker's hash; the user's principal if it matches."""
        identity = self.options.identity
        if identity is None:
            return None
        rows = self.read(identity.user, {"login": login})
        row = rows[0] if rows else None
        scheme = self.options.password_scheme
        if row is None or not _truthy(row.get("active", True)):
            _passwords.dummy_verify(scheme)  # the same time whether or not the login exists
            return None
        if not _passwords.verify(scheme, row.get("password_hash"), password):
            return None
        principal = self._load_principal(login)
        with self._lock:
            self._principals[login] = (self._clock(), principal)
        return principal

    def lookup(self, login: str) -> Principal | None:
        """The principal of a login, cached for ``poll_interval`` (it runs on every request)."""
        now = self._clock()
        with self._lock:
            cached = self._principals.get(login)
        if cached is not None and now - cached[0] < self.options.poll_interval.seconds:
            return cached[1]
        principal = self._load_principal(login)
        with self._lock:
            if len(self._principals) > 10_000:
                self._principals.clear()
            self._principals[login] = (now, principal)
        return principal

    def _load_principal(self, login: str) -> Principal | None:
        identity = self.options.identity
        if identity is None:
            return None
        users = self.read(identity.user, {"login": login})
        if not users or not _truthy(users[0].get("active", True)):
            return None
        listings: dict[str, AccountListing] = {}
        for row in self.read(identity.accounts, {"login": login}):
            if row.get("id") is None:
                continue
            listing = AccountListing(
                _id_text(row["id"]),
                **{k: str(row[k]) for k in ("name", "currency", "type", "profile") if row.get(k)},
            )
            listings.setdefault(listing.id, listing)
        groups: list[str] = []
        if identity.groups is not None:
            groups = [str(r["group"]) for r in self.read(identity.groups, {"login": login})]
        return Principal(
            login, tuple(listings), tuple(dict.fromkeys(groups)), tuple(listings.values())
        )

    # The account_data role --------------------------------------------------------------------

    def accounts(self, principal: Principal) -> Sequence[Mapping[str, Any]]:
        """The user's accounts as the identity query returns them."""
        identity = self.options.identity
        if identity is None:
            return [{"id": a} for a in principal.accounts]
        return self.read(identity.accounts, {"login": principal.login})

    def fetch(
        self, entity: str, account_id: str, params: Mapping[str, Any]
    ) -> Sequence[Mapping[str, Any]]:
        """The records of one collection (``orders``, ``positions``…) of one account."""
        queries = self.options.account_data
        statement = getattr(queries, _SLOTS.get(entity, "-"), None) if queries else None
        if statement is None:
            raise ApiError("not_supported", feature=entity)
        return self.read(statement, {**params, "account_id": account_id})

    def listed(self, kind: str) -> Listing | None:
        """The broker's ``symbols`` or ``instruments`` as configuration records.

        None when their query is not declared. Read once when a gateway is built; the gateway
        converts and checks each record as it does the YAML's entries. A row whose mapping
        fails is left out and reported.
        """
        slot = _LISTED.get(kind)
        group = getattr(self.options, slot[0], None) if slot else None
        statement: Statement | None = getattr(group, slot[1], None) if slot and group else None
        if statement is None:
            return None
        try:
            with self._read_only() as conn:
                result = conn.execute(statement.text, {})
                rows = [dict(row) for row in result.mappings().fetchmany(MAX_LISTED)]
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise SqlError(f"{statement.where()}: {_first_line(exc)}") from None
        records: list[tuple[int, dict[str, Any]]] = []
        problems: list[str] = []
        for i, row in enumerate(rows, start=1):
            try:
                records.append((i, statement.map_row(row)))
            except ExpressionError as exc:
                problems.append(f"{statement.where()}: row {i}: {exc}")
        return Listing(tuple(records), statement.where(), tuple(problems))

    # The market_data role ---------------------------------------------------------------------

    def subscribe(self, sink: TickSink) -> None:
        """Send every quote change from now on to ``sink``."""
        with self._lock:
            self._sinks = (*self._sinks, sink)

    def backfill(self, symbol: str, start: int, end: int) -> list[Bar]:
        """The broker's 1-minute bars of ``symbol`` with ``start <= time < end``."""
        market = self.options.market_data
        if market is None or market.bars is None:
            return []
        params = {"symbol": symbol, "start": start, "end": end}
        try:
            rows = self.read(market.bars, params)
        except ApiError:
            return []  # logged by read(); history starts from the live quotes instead
        bars: list[Bar] = []
        for row in rows:
            try:
                when = unix_seconds(float(row["time"]))
                bars.append(
                    Bar(
                        symbol,
                        when - when % 60,
                        float(row["open"]),
                        float(row["high"]),
                        float(row["low"]),
                        float(row["close"]),
                        float(row.get("volume") or 0.0),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                log.error("%s: a bar of %s: %s", market.bars.where(), symbol, exc)
                return []
        return sorted(bars, key=lambda b: b.time)

    def _poll_quotes(self, statement: Statement, stopping: threading.Event) -> None:
        last: dict[str, tuple[float, float]] = {}
        traded: dict[str, tuple[float, float]] = {}
        while True:
            try:
                rows = self.read(statement, {})
            except ApiError:
                rows = []  # logged by read(); the next round tries again
            now = self._clock()
            for row in rows:
                try:
                    symbol = str(row["symbol"])
                    sides = (float(row["bid"]), float(row["ask"]))
                except (KeyError, TypeError, ValueError) as exc:
                    log.error("%s: %s", statement.where(), exc)
                    continue
                trade = self._trade(statement, row, symbol, now, traded)
                if trade is not None:
                    for sink in self._sinks:
                        sink.publish(trade)
                if last.get(symbol) == sides:
                    continue
                last[symbol] = sides
                quote = Quote(symbol, now, sides[0], 0.0, sides[1], 0.0)
                for sink in self._sinks:
                    sink.publish(quote)
            if stopping.wait(self.options.poll_interval.seconds):
                return

    @staticmethod
    def _trade(
        statement: Statement,
        row: Mapping[str, Any],
        symbol: str,
        now: float,
        traded: dict[str, tuple[float, float]],
    ) -> Trade | None:
        """A trade print when the row's optional ``last`` (and ``last_size``) changed.

        Polling sees the last trade only: two trades at the same price and size between two
        polls are one print. Without ``last`` the feed has quotes only.
        """
        if row.get("last") is None:
            return None
        try:
            print_ = (float(row["last"]), float(row.get("last_size") or 0.0))
        except (TypeError, ValueError) as exc:
            log.error("%s: last: %s", statement.where(), exc)
            return None
        if traded.get(symbol) == print_:
            return None
        first = symbol not in traded
        traded[symbol] = print_
        # The first poll finds the last trade of before the gateway started: not a new print.
        return None if first else Trade(symbol, now, *print_)

    # Order commands (mapped mode's writes) ----------------------------------------------------

    def command(self, action: str, account_id: str, params: Mapping[str, Any]) -> str | None:
        """Run the statements declared for ``action`` in one transaction.

        Each statement binds the parameters it names from ``params`` and its own computed
        ``params`` (expressions over ``form``, the core's validated values). A row with a
        non-empty ``error`` field refuses the command with that reason (a stored procedure's
        way to say no); the last row's ``id`` is the new order's id. A statement that changes
        nothing (``UPDATE … WHERE st = 'N'`` of an order already filled) refuses the command.
        """
        execution = self.options.execution
        statements = getattr(execution, action, ()) if execution else ()
        if not statements:
            raise ApiError("not_supported", feature=_COMMANDS.get(action, action))
        values = {**params, "account_id": account_id}
        last: dict[str, Any] | None = None
        try:
            with self.writer.begin() as conn:
                for statement in statements:
                    bound = self._bound(statement, values)
                    result = conn.execute(statement.text, bound)
                    if result.returns_rows:
                        row = result.mappings().first()
                        last = statement.map_row(dict(row)) if row is not None else None
                        if last and last.get("error"):
                            raise _Refused(str(last["error"])[:200])
                    elif (
                        result.rowcount == 0
                        and statement.keyword in _GUARDED
                        and not statement.optional
                    ):
                        raise _Refused("the order is no longer working")
        except _Refused as refused:
            raise ApiError("rejected", reason=refused.reason) from None
        except sqlalchemy.exc.DBAPIError as exc:
            reason = _raised_by_procedure(exc)
            if reason is None:
                raise self._failed(action, exc) from None
            log.info("connectors.%s: %s refused by the database: %s", self.name, action, reason)
            raise ApiError("rejected", reason=reason) from None
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise self._failed(action, exc) from None
        except ExpressionError as exc:
            log.error("connectors.%s: %s: %s", self.name, action, exc)
            raise ApiError("unavailable") from None
        if action != "place":
            return None
        if not last or last.get("id") is None:
            log.error("connectors.%s: place returned no id (map a field id)", self.name)
            raise ApiError("unavailable")
        new_id = last["id"]
        return str(int(new_id) if isinstance(new_id, float) and new_id.is_integer() else new_id)

    def _failed(self, action: str, exc: sqlalchemy.exc.SQLAlchemyError) -> ApiError:
        if isinstance(exc, sqlalchemy.exc.IntegrityError):
            log.warning("%s refused by the database: %s", action, _first_line(exc))
            return ApiError("rejected", reason="the broker's system refused it")
        log.error("connectors.%s: %s failed: %s", self.name, action, _first_line(exc))
        return ApiError("unavailable")

    @staticmethod
    def _bound(statement: Statement, values: Mapping[str, Any]) -> dict[str, Any]:
        computed = {
            name: expression.evaluate(form=values) for name, expression in statement.params.items()
        }
        merged = {**values, **computed}
        return {name: merged.get(name) for name in statement.bind_names}

    # Checks -----------------------------------------------------------------------------------

    def validate(self) -> list[str]:
        """Nothing to check without a connection (``gateway check --connect`` connects)."""
        return []

    def check_connection(self) -> list[str]:
        """Run every declared read once against the database, read-only, with empty values.

        Reports, with the YAML line: statements the database refuses, reads that try to write,
        and mapped columns the result does not have.
        """
        problems: list[str] = []
        for slot, statement in self.options.statements():
            if slot not in READS:
                continue
            # Values that match every column type; LIMIT needs a number.
            bound = {name: _CHECK_VALUES.get(name) for name in statement.bind_names}
            try:
                with self._read_only() as conn:
                    result = conn.execute(statement.text, bound)
                    columns = set(result.keys())
                    result.close()
            except sqlalchemy.exc.SQLAlchemyError as exc:
                problems.append(f"{statement.where('sql')}: {_first_line(exc)}")
                continue
            if statement.fields:
                missing = sorted(statement.columns - columns)
                if missing:
                    problems.append(
                        f"{statement.where('fields')}: the query returns no column "
                        f"{', '.join(missing)} (it returns {', '.join(sorted(columns))})"
                    )
            else:
                required = READS[slot][1]
                missing = sorted(required - columns)
                if missing:
                    problems.append(
                        f"{statement.where('sql')}: no column for the spec field(s) "
                        f"{', '.join(missing)}; name the columns so or map them under fields"
                    )
        return problems


class _Refused(Exception):  # noqa: N818 - control flow inside command()
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_COMMANDS = {
    "place": "placing orders",
    "modify": "modifying orders",
    "cancel": "cancelling orders",
    "close_position": "closing positions",
    "modify_position": "brackets on positions",
    "reverse_position": "reversing a position",
    "set_leverage": "setting the leverage",
}

_LISTED = {"symbols": ("market_data", "symbols"), "instruments": ("account_data", "instruments")}

_CHECK_VALUES: dict[str, Any] = {"max_count": 1, "since": 0, "before": 0, "start": 0, "end": 0}

_SLOTS = {
    "state": "state",
    "orders": "orders",
    "ordersHistory": "orders_history",
    "positions": "positions",
    "executions": "executions",
    "balances": "balances",
    "leverage": "leverage",
}


# Statements whose "no row changed" means the order was no longer in the state they expected.
# A CALL's row count is whatever the procedure's last statement did: procedures say no with an
# error row or by raising (below).
_GUARDED = frozenset({"update", "delete"})

# How a stored procedure refuses on purpose, as opposed to failing: PostgreSQL's RAISE EXCEPTION
# (SQLSTATE P0001, raise_exception), MySQL/MariaDB's SIGNAL SQLSTATE '45000' (error 1644).
_PROCEDURE_STATES = frozenset({"P0001", "45000"})
_PROCEDURE_ERRNO = 1644


def _raised_by_procedure(exc: sqlalchemy.exc.DBAPIError) -> str | None:
    """The message a procedure raised to refuse the command; None for other failures."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if len(args) >= 2 and args[0] == _PROCEDURE_ERRNO:  # MySQL drivers: (errno, message)
        message = str(args[1])
    elif state in _PROCEDURE_STATES:
        diag = getattr(orig, "diag", None)
        message = getattr(diag, "message_primary", None) or str(orig)
    else:
        return None
    text = " ".join(str(message).split())
    return text[:200] or "refused"


def _id_text(value: Any) -> str:
    """An id column as text: integers (also as floats or decimals) without a fraction."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "n", "f")
    return bool(value)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0][:300] if str(orig).strip() else type(orig).__name__
