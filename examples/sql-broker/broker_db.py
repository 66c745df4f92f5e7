"""A small, realistic broker database for the SQL-mapped gateway example.

The broker keeps its OWN names and codes, not TradingView's: the gateway YAML next to this file
maps them (sides ``B``/``S``, order types ``M``/``L``/``S``/``T``, statuses ``N``/``P``/``F``/
``C``/``R``, a signed ``net_qty``). The tables are declared with SQLAlchemy Core so that each
dialect gets its own types and autoincrement (``INTEGER PRIMARY KEY`` on SQLite, ``SERIAL`` on
PostgreSQL, ``AUTO_INCREMENT`` on MariaDB) while the SQL written against them stays portable.

As a module: ``metadata`` and the tables, ``create(url)`` (drop and create every table) and
``seed(url, now_ms)`` (deterministic demo data). As a script::

    python examples/sql-broker/broker_db.py [URL]

creates and seeds ``URL`` (default: ``broker.db`` next to this file) and prints what it made.

Money, prices and quantities are ``Numeric`` (exact ``NUMERIC``/``DECIMAL`` in the database) with
``asdecimal=False``: PostgreSQL's and MariaDB's drivers return ``Decimal`` for those columns,
SQLite has no decimal type at all, and SQLAlchemy converts all three to ``float`` so that rows
read the same on every dialect. Every seeded value is already rounded to its column's scale, so
the floats read back are exactly the ones written.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notify_triggers  # the sibling module, found through the line above

HERE = Path(__file__).resolve().parent
DEFAULT_URL = f"sqlite:///{HERE / 'broker.db'}"
"""Where the script creates the database without an argument (``*.db`` is git-ignored)."""

PRICE = sa.Numeric(18, 8, asdecimal=False)
"""Prices, quantities, tick sizes and rates: 10 integer digits, 8 decimals."""
MONEY = sa.Numeric(18, 2, asdecimal=False)
"""Cash amounts (balances, commissions) in the account currency."""

metadata = sa.MetaData()

clients = sa.Table(
    "clients",
    metadata,
    sa.Column("client_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("login", sa.String(64), nullable=False, unique=True),
    sa.Column("pw_hash", sa.String(100), nullable=False, comment="bcrypt ($2b$...)"),
    sa.Column("full_name", sa.String(128), nullable=False),
    sa.Column("active", sa.SmallInteger, nullable=False, comment="1 active, 0 disabled"),
    sa.Column("created_at", sa.DateTime, nullable=False, comment="UTC, naive"),
)

trading_accounts = sa.Table(
    "trading_accounts",
    metadata,
    sa.Column("acct_no", sa.String(16), primary_key=True, comment="e.g. AC-10001"),
    sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.client_id"), nullable=False),
    sa.Column("title", sa.String(64), nullable=False),
    sa.Column("ccy", sa.CHAR(3), nullable=False),
    sa.Column("balance", MONEY, nullable=False),
    sa.Column("status", sa.CHAR(1), nullable=False, comment="A active, S suspended"),
    sa.Column(
        "book",
        sa.CHAR(1),
        nullable=False,
        comment="M margin: positions by symbol; N netting: the same, shown net and individually",
    ),
)

client_groups = sa.Table(
    "client_groups",
    metadata,
    sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.client_id"), primary_key=True),
    sa.Column("grp", sa.String(32), primary_key=True, comment="data-permission group"),
)

symbols = sa.Table(
    "symbols",
    metadata,
    sa.Column("sym", sa.String(16), primary_key=True),
    sa.Column("descr", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(2), nullable=False, comment="FX, EQ (equity), IX (index future)"),
    sa.Column("tick", PRICE, nullable=False, comment="minimal price increment"),
    sa.Column("lot_step", PRICE, nullable=False, comment="quantity increment"),
    sa.Column("min_qty", PRICE, nullable=False),
    sa.Column("max_qty", PRICE, nullable=False),
    sa.Column("pip_value", PRICE, nullable=False, comment="USD per one-pip move of 1 unit"),
    sa.Column("margin_rate", PRICE, nullable=False, comment="initial margin / notional"),
    sa.Column("contract_size", PRICE, nullable=False, comment="USD per 1.00 of price, per unit"),
    sa.Column("pip_size", PRICE, nullable=False, comment="one pip: 0.0001 for EURUSD, else tick"),
)

quotes = sa.Table(
    "quotes",
    metadata,
    sa.Column("sym", sa.String(16), sa.ForeignKey("symbols.sym"), primary_key=True),
    sa.Column("bid", PRICE, nullable=False),
    sa.Column("ask", PRICE, nullable=False),
    sa.Column("last", PRICE, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False, comment="unix ms"),
)

bars_1m = sa.Table(
    "bars_1m",
    metadata,
    sa.Column("sym", sa.String(16), sa.ForeignKey("symbols.sym"), primary_key=True),
    sa.Column(
        "ts_min", sa.BigInteger, primary_key=True, autoincrement=False, comment="unix seconds"
    ),
    sa.Column("o", PRICE, nullable=False),
    sa.Column("h", PRICE, nullable=False),
    sa.Column("l", PRICE, nullable=False),
    sa.Column("c", PRICE, nullable=False),
    sa.Column("v", PRICE, nullable=False),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("ord_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("acct_no", sa.String(16), sa.ForeignKey("trading_accounts.acct_no"), nullable=False),
    sa.Column("sym", sa.String(16), sa.ForeignKey("symbols.sym"), nullable=False),
    sa.Column("side", sa.CHAR(1), nullable=False, comment="B buy, S sell"),
    sa.Column(
        "otype", sa.CHAR(1), nullable=False, comment="M market, L limit, S stop, T stop-limit"
    ),
    sa.Column("qty", PRICE, nullable=False),
    sa.Column("lmt_px", PRICE, nullable=True),
    sa.Column("stp_px", PRICE, nullable=True),
    sa.Column("tif", sa.String(3), nullable=False, comment="DAY or GTC"),
    sa.Column(
        "st", sa.CHAR(1), nullable=False, comment="N new/working, P partial, F filled, C, R, I"
    ),
    sa.Column("filled_qty", PRICE, nullable=False),
    sa.Column("avg_px", PRICE, nullable=True),
    sa.Column("reject_reason", sa.String(255), nullable=True),
    sa.Column("client_ref", sa.String(64), nullable=True, comment="idempotency key"),
    # Brackets (take-profit, stop-loss) hang off an order until it fills (kind O, status I
    # inactive), then off the position it opened (kind P, working).
    sa.Column("parent_id", sa.Integer, nullable=True, comment="order or position protected"),
    sa.Column("parent_kind", sa.CHAR(1), nullable=True, comment="O order, P position"),
    sa.Column("trail_pips", PRICE, nullable=True, comment="trailing stop: distance in pips"),
    sa.Column(
        "guaranteed",
        sa.Boolean,
        nullable=False,
        server_default=sa.false(),
        comment="guaranteed stop: fills at its price",
    ),
    sa.Column("created_at", sa.BigInteger, nullable=False, comment="unix ms"),
    sa.Column("updated_at", sa.BigInteger, nullable=False, comment="unix ms"),
    sa.UniqueConstraint("acct_no", "client_ref", name="uq_orders_acct_client_ref"),
)

fills = sa.Table(
    "fills",
    metadata,
    sa.Column("fill_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ord_id", sa.Integer, sa.ForeignKey("orders.ord_id"), nullable=False),
    sa.Column("acct_no", sa.String(16), sa.ForeignKey("trading_accounts.acct_no"), nullable=False),
    sa.Column("sym", sa.String(16), sa.ForeignKey("symbols.sym"), nullable=False),
    sa.Column("side", sa.CHAR(1), nullable=False, comment="B buy, S sell"),
    sa.Column("qty", PRICE, nullable=False),
    sa.Column("px", PRICE, nullable=False),
    sa.Column("commission", MONEY, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False, comment="unix ms"),
)

positions = sa.Table(
    "positions",
    metadata,
    sa.Column("pos_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("acct_no", sa.String(16), sa.ForeignKey("trading_accounts.acct_no"), nullable=False),
    sa.Column("sym", sa.String(16), sa.ForeignKey("symbols.sym"), nullable=False),
    sa.Column("net_qty", PRICE, nullable=False, comment="signed: + long, - short"),
    sa.Column("avg_px", PRICE, nullable=False),
    sa.Column("opened_at", sa.BigInteger, nullable=False, comment="unix ms: opened from flat"),
    sa.UniqueConstraint("acct_no", "sym", name="uq_positions_acct_sym"),
)

account_leverage = sa.Table(
    "account_leverage",
    metadata,
    sa.Column(
        "acct_no", sa.String(16), sa.ForeignKey("trading_accounts.acct_no"), primary_key=True
    ),
    sa.Column("sym", sa.String(16), sa.ForeignKey("symbols.sym"), primary_key=True),
    sa.Column("leverage", PRICE, nullable=False, comment="chosen by the client; default 1/margin"),
    sa.Column("updated_at", sa.BigInteger, nullable=False, comment="unix ms"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.BigInteger, nullable=False, comment="unix ms"),
    sa.Column("what", sa.String(255), nullable=False),
)

# ---------------------------------------------------------------------------------------------
# Seed data
# ---------------------------------------------------------------------------------------------

BCRYPT_ROUNDS = 10
"""bcrypt cost of the demo hashes: OWASP's minimum, so logins verify in ~50 ms (production: 12+)."""

DEMO_PASSWORDS = {"alice": "alice-pass", "bob": "bob-pass", "carol": "carol-pass"}
"""The demo logins and their passwords (published in the README)."""

DEPOSITS = {
    "AC-10001": 100_000.00,
    "AC-10002": 25_000.00,
    "AC-20001": 50_000.00,
    "AC-30001": 10_000.00,
}
"""Starting cash per account: balance = deposit + realized P&L - commissions."""

COMMISSION_PER_UNIT = {"EURUSD": 0.00003, "AAPL": 0.005}
"""Commission per unit of quantity: $3 per 100k EUR, half a cent a share (MIN_COMMISSION)."""
MIN_COMMISSION = 1.00

BAR_DAYS = 3
"""Days of 1-minute bars seeded for EURUSD and AAPL (2 x 3 x 1440 = 8640 rows)."""

RANDOM_SEED = 20_261_218
"""Seed of the random walk: the bars (and every price derived from them) never change."""


@dataclass(frozen=True)
class SymbolSpec:
    """A symbol's static row and how its random walk moves (prices counted in ticks)."""

    sym: str
    descr: str
    kind: str
    tick: float
    decimals: int
    lot_step: float
    min_qty: float
    max_qty: float
    pip_value: float
    margin_rate: float
    start_ticks: int
    sigma_ticks: float
    spread_ticks: int
    volume: tuple[int, int]
    contract_size: float = 1.0
    pip: float | None = None  # a pip, where it is not the tick

    def px(self, ticks: int) -> float:
        """The price of ``ticks`` ticks, rounded to the tick's decimals (an exact column value)."""
        return round(ticks * self.tick, self.decimals)


# sym, descr, kind, tick, decimals, lot_step, min_qty, max_qty, pip_value, margin_rate,
# start_ticks, sigma_ticks (per minute), spread_ticks, volume range (per minute)
SYMBOLS = (
    SymbolSpec(
        "EURUSD", "Euro / US Dollar", "FX", 0.00001, 5, 1_000, 1_000, 10_000_000, 0.0001,
        0.0333, 108_500, 12.0, 8, (40, 400), pip=0.0001,
    ),
    SymbolSpec(
        "AAPL", "Apple Inc.", "EQ", 0.01, 2, 1, 1, 100_000, 0.01, 0.2, 23_000, 8.0, 2, (500, 20_000)
    ),
    SymbolSpec(
        "ESZ6", "E-mini S&P 500 Dec 2026", "IX", 0.25, 2, 1, 1, 500, 12.5, 0.05, 27_401, 0.0, 1,
        (0, 0), contract_size=50.0,
    ),
    SymbolSpec(
        "BTCUSD", "Bitcoin / US Dollar", "FX", 0.01, 2, 0.001, 0.001, 100, 0.01, 0.5, 6_425_000,
        0.0, 900, (0, 0),
    ),
)  # fmt: skip
SPECS = {spec.sym: spec for spec in SYMBOLS}
BAR_SYMBOLS = ("EURUSD", "AAPL")


@dataclass(frozen=True)
class Bar:
    """One seeded 1-minute bar, prices in ticks."""

    ts_min: int
    o: int
    h: int
    low: int
    c: int
    v: int


def hash_password(login: str, password: str) -> str:
    """A bcrypt hash of ``password`` with a salt derived from ``login``.

    A real system salts with ``bcrypt.gensalt()`` (random); the demo derives the salt so that two
    seeds write identical rows. ``bcrypt.checkpw`` verifies either kind the same way.
    """
    return _hash_password(login, password)


@functools.cache
def _hash_password(login: str, password: str) -> str:
    digest = hashlib.sha256(b"sql-broker demo salt:" + login.encode()).digest()[:16]
    # bcrypt's salt is 16 bytes in its own base64 alphabet (./A-Za-z0-9), 22 characters.
    standard = base64.b64encode(digest).decode().rstrip("=")
    salt_chars = standard.translate(
        str.maketrans(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        )
    )
    salt = f"$2b${BCRYPT_ROUNDS:02d}${salt_chars}".encode()
    return bcrypt.hashpw(password.encode(), salt).decode()


def random_walk(spec: SymbolSpec, first_ts: int, count: int, rng: random.Random) -> list[Bar]:
    """``count`` consecutive 1-minute bars of ``spec`` from ``first_ts`` (unix seconds).

    Each bar opens at the previous close; the close moves by a Gaussian number of ticks, and the
    high and low stretch past the open and close by a few ticks more.
    """
    bars: list[Bar] = []
    price = spec.start_ticks
    for i in range(count):
        o = price
        c = max(1, o + round(rng.gauss(0.0, spec.sigma_ticks)))
        wick = max(1, round(spec.sigma_ticks / 3))
        h = max(o, c) + rng.randint(0, wick)
        low = max(1, min(o, c) - rng.randint(0, wick))
        bars.append(Bar(first_ts + 60 * i, o, h, low, c, rng.randint(*spec.volume)))
        price = c
    return bars


@dataclass
class Book:
    """The seeded orders and fills before they are written."""

    orders: list[dict[str, Any]]
    fills: list[dict[str, Any]]

    def order(self, **row: Any) -> int:
        """Append an order row; its ``ord_id`` is its 1-based position (ids of a fresh table)."""
        self.orders.append(row)
        return len(self.orders)

    def fill(self, ord_id: int, qty: float, px: float, ts: int) -> None:
        """Append a fill of order ``ord_id`` and bring the order's filled_qty/avg_px up to date."""
        order = self.orders[ord_id - 1]
        per_unit = COMMISSION_PER_UNIT[order["sym"]]
        commission = round(max(MIN_COMMISSION, qty * per_unit), 2)
        self.fills.append(
            {
                "ord_id": ord_id,
                "acct_no": order["acct_no"],
                "sym": order["sym"],
                "side": order["side"],
                "qty": qty,
                "px": px,
                "commission": commission,
                "ts": ts,
            }
        )
        own = [f for f in self.fills if f["ord_id"] == ord_id]
        filled = sum(f["qty"] for f in own)
        order["filled_qty"] = filled
        order["avg_px"] = round(sum(f["qty"] * f["px"] for f in own) / filled, 8)
        order["st"] = "F" if filled >= order["qty"] else "P"
        order["updated_at"] = ts


Position = tuple[float, float, float]
"""(net_qty, avg_px, realized P&L) of one account in one symbol."""


def positions_from_fills(fill_rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Position]:
    """Positions and realized P&L per (account, symbol) by the average-cost method.

    Returns ``{(acct_no, sym): (net_qty, avg_px, realized_pnl)}``: buys add to ``net_qty``,
    sells subtract; adding to a position moves ``avg_px`` to the volume-weighted average, reducing
    it realizes ``qty x (px - avg_px)`` (signed by the side) and leaves ``avg_px`` unchanged, and
    crossing zero opens the remainder at the fill's price.
    """
    book: dict[tuple[str, str], Position] = {}
    for f in sorted(fill_rows, key=lambda r: r["ts"]):
        key = (f["acct_no"], f["sym"])
        net, avg, realized = book.get(key, (0.0, 0.0, 0.0))
        signed = f["qty"] if f["side"] == "B" else -f["qty"]
        if net == 0 or (net > 0) == (signed > 0):
            avg = (net * avg + signed * f["px"]) / (net + signed)
            net += signed
        else:
            closing = min(abs(signed), abs(net))
            realized += closing * (f["px"] - avg) * (1 if net > 0 else -1)
            net += signed
            if net == 0:
                avg = 0.0
            elif (net > 0) == (signed > 0):  # crossed zero: the rest opens at the fill price
                avg = f["px"]
        book[key] = (net, avg, realized)
    return book


def opened_at(fill_rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """When each (account, symbol) position last opened: from flat, or by crossing zero."""
    net: dict[tuple[str, str], float] = {}
    opened: dict[tuple[str, str], int] = {}
    for f in sorted(fill_rows, key=lambda r: r["ts"]):
        key = (f["acct_no"], f["sym"])
        before = net.get(key, 0.0)
        after = before + (f["qty"] if f["side"] == "B" else -f["qty"])
        if before == 0 or before * after < 0:
            opened[key] = f["ts"]
        net[key] = after
    return opened


def build_rows(now_ms: int) -> dict[str, list[dict[str, Any]]]:
    """Every seeded row per table name, in insertion order (autoincrement ids count from 1)."""
    rng = random.Random(RANDOM_SEED)  # noqa: S311 - synthetic prices, not secrets
    last_ts = now_ms // 60_000 * 60 - 60  # the last complete minute
    count = BAR_DAYS * 1440
    first_ts = last_ts - 60 * (count - 1)
    walks = {sym: random_walk(SPECS[sym], first_ts, count, rng) for sym in BAR_SYMBOLS}
    eur, aapl = SPECS["EURUSD"], SPECS["AAPL"]

    def at(i: int, seconds: float = 0.0) -> int:
        """Unix ms of ``seconds`` into minute ``i`` of the bars."""
        return (first_ts + 60 * i) * 1000 + round(seconds * 1000)

    rows: dict[str, list[dict[str, Any]]] = {}
    now_s = now_ms // 1000
    created = datetime.fromtimestamp(now_s, UTC).replace(tzinfo=None)
    rows["clients"] = [
        {
            "login": login,
            "pw_hash": hash_password(login, DEMO_PASSWORDS[login]),
            "full_name": name,
            "active": active,
            "created_at": created - timedelta(days=days),
        }
        for login, name, active, days in (
            ("alice", "Alice Archer", 1, 412),
            ("bob", "Bob Baker", 1, 97),
            ("carol", "Carol Cole", 0, 230),
        )
    ]
    alice, bob, carol = 1, 2, 3
    rows["client_groups"] = [
        {"client_id": client, "grp": grp}
        for client, grp in (
            (alice, "RETAIL"),
            (alice, "FX"),
            (alice, "EQ"),
            (bob, "RETAIL"),
            (bob, "EQ"),
            (carol, "RETAIL"),
        )
    ]
    rows["symbols"] = [
        {
            "sym": s.sym,
            "descr": s.descr,
            "kind": s.kind,
            "tick": s.tick,
            "lot_step": s.lot_step,
            "min_qty": s.min_qty,
            "max_qty": s.max_qty,
            "pip_value": s.pip_value,
            "margin_rate": s.margin_rate,
            "contract_size": s.contract_size,
            "pip_size": s.pip if s.pip is not None else s.tick,
        }
        for s in SYMBOLS
    ]
    rows["bars_1m"] = [
        {
            "sym": sym,
            "ts_min": b.ts_min,
            "o": SPECS[sym].px(b.o),
            "h": SPECS[sym].px(b.h),
            "l": SPECS[sym].px(b.low),
            "c": SPECS[sym].px(b.c),
            "v": float(b.v),
        }
        for sym, walk in walks.items()
        for b in walk
    ]
    last_ticks = {sym: walk[-1].c for sym, walk in walks.items()}
    last_ticks["ESZ6"] = SPECS["ESZ6"].start_ticks
    last_ticks["BTCUSD"] = SPECS["BTCUSD"].start_ticks
    rows["quotes"] = [
        {
            "sym": s.sym,
            "bid": s.px(last_ticks[s.sym] - s.spread_ticks // 2),
            "ask": s.px(last_ticks[s.sym] + (s.spread_ticks + 1) // 2),
            "last": s.px(last_ticks[s.sym]),
            "updated_at": now_ms,
        }
        for s in SYMBOLS
    ]

    book = Book([], [])
    eur_bars, aapl_bars = walks["EURUSD"], walks["AAPL"]

    def order(
        acct: str, sym: str, side: str, otype: str, qty: float, created_at: int, **rest: Any
    ) -> int:
        row = {
            "acct_no": acct,
            "sym": sym,
            "side": side,
            "otype": otype,
            "qty": qty,
            "lmt_px": None,
            "stp_px": None,
            "tif": "DAY",
            "st": "N",
            "filled_qty": 0.0,
            "avg_px": None,
            "reject_reason": None,
            "client_ref": None,
            "guaranteed": False,
            "created_at": created_at,
            "updated_at": created_at,
        }
        row.update(rest)
        return book.order(**row)

    # 1. alice buys 100k EURUSD at market on day 1; it fills in two pieces over two minutes.
    i = 600
    first = order("AC-10001", "EURUSD", "B", "M", 100_000.0, at(i, 12.0), client_ref="web-0001")
    book.fill(first, 60_000.0, eur.px(eur_bars[i].c), at(i, 12.2))
    book.fill(first, 40_000.0, eur.px(eur_bars[i + 1].c), at(i + 1, 3.5))

    # 2. a day later she sells 40k with a limit at the highest high of the next hour; it fills
    # at its limit in the first minute that reaches it.
    i = 2040
    high = max(b.h for b in eur_bars[i : i + 60])
    hit = next(k for k in range(i, i + 60) if eur_bars[k].h == high)
    limit_px = eur.px(high)
    second = order(
        "AC-10001",
        "EURUSD",
        "S",
        "L",
        40_000.0,
        at(i, 41.0),
        lmt_px=limit_px,
        tif="GTC",
        client_ref="web-0002",
    )
    book.fill(second, 40_000.0, limit_px, at(hit, 30.0))

    # 3. bob buys 50 AAPL at market.
    i = 2500
    third = order("AC-20001", "AAPL", "B", "M", 50.0, at(i, 5.0), client_ref="b-1")
    book.fill(third, 50.0, aapl.px(aapl_bars[i].c), at(i, 5.3))

    # 4. alice's buy stop-limit on AAPL above every high of the next 90 minutes, then cancelled.
    i = 3500
    stop_px = aapl.px(max(b.h for b in aapl_bars[i : i + 90]) + 25)
    order(
        "AC-10001",
        "AAPL",
        "B",
        "T",
        10.0,
        at(i, 20.0),
        stp_px=stop_px,
        lmt_px=round(stop_px + 0.50, 2),
        st="C",
        updated_at=at(i + 90, 1.0),
    )

    # 5. alice's working (GTC) buy limit on EURUSD below every low since it was placed.
    i = count - 120
    order(
        "AC-10001",
        "EURUSD",
        "B",
        "L",
        50_000.0,
        at(i, 7.0),
        lmt_px=eur.px(min(b.low for b in eur_bars[i:]) - 20),
        tif="GTC",
        client_ref="web-0003",
    )

    # 6. alice's buy stop on 5 BTCUSD: rejected at once, its margin exceeds the account's cash.
    i = count - 60
    btc = SPECS["BTCUSD"]
    btc_stop = btc.px(btc.start_ticks + 100_000)
    margin = 5 * btc_stop * btc.margin_rate
    order(
        "AC-10001",
        "BTCUSD",
        "B",
        "S",
        5.0,
        at(i, 50.0),
        stp_px=btc_stop,
        st="R",
        reject_reason=f"Insufficient margin: {margin:,.2f} USD required",
        updated_at=at(i, 50.0) + 4,
    )

    rows["orders"] = book.orders
    rows["fills"] = book.fills
    book_positions = positions_from_fills(book.fills)
    opened = opened_at(book.fills)
    rows["positions"] = [
        {
            "acct_no": acct,
            "sym": sym,
            "net_qty": net,
            "avg_px": round(avg, 8),
            "opened_at": opened[acct, sym],
        }
        for (acct, sym), (net, avg, _) in book_positions.items()
        if net != 0
    ]
    balances = dict(DEPOSITS)
    for (acct, _), (_, _, realized) in book_positions.items():
        balances[acct] += realized
    for f in book.fills:
        balances[f["acct_no"]] -= f["commission"]
    rows["trading_accounts"] = [
        {
            "acct_no": acct,
            "client_id": client,
            "title": title,
            "ccy": ccy,
            "balance": round(balances[acct], 2),
            "status": status,
            "book": book_kind,
        }
        for acct, client, title, ccy, status, book_kind in (
            ("AC-10001", alice, "Alice (USD)", "USD", "A", "M"),
            ("AC-10002", alice, "Alice (EUR)", "EUR", "A", "N"),
            ("AC-20001", bob, "Bob (USD)", "USD", "A", "M"),
            ("AC-30001", carol, "Carol (USD)", "USD", "S", "M"),
        )
    ]
    rows["account_leverage"] = []  # every client starts at the default leverage
    rows["audit_log"] = [{"at": now_ms, "what": "seeded the demo broker database"}]
    return rows


SEED_ORDER = (
    "clients",
    "client_groups",
    "trading_accounts",
    "symbols",
    "quotes",
    "bars_1m",
    "orders",
    "fills",
    "positions",
    "account_leverage",
    "audit_log",
)
"""Tables in foreign-key order (every key's target before it)."""
NUMBERED = frozenset({"clients", "orders", "fills", "positions", "audit_log"})
"""Tables whose autoincrement ids the seed relies on (the rows refer to them as 1, 2, ...)."""


def create(url: str) -> None:
    """Drop every table of ``metadata`` at ``url`` (if present) and create them empty.

    On PostgreSQL, also the triggers that notify ``notify_triggers.CHANNEL`` of every change.
    """
    engine = sa.create_engine(url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                notify_triggers.install(connection)
    finally:
        engine.dispose()


def seed(url: str, now_ms: int | None = None) -> dict[str, int]:
    """Fill the freshly created tables at ``url`` with the demo data; return rows per table.

    ``now_ms`` (unix ms, default: the current time) places the data in time: the 3 days of bars
    end at the last complete minute before it, the order history lies within them. Everything
    else is fixed, so two seeds with the same ``now_ms`` write identical rows. The tables must
    be empty and new (``create``): the seeded ids count from 1.
    """
    if now_ms is None:
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
    rows = build_rows(now_ms)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for name in SEED_ORDER:
                table = metadata.tables[name]
                if name not in NUMBERED:
                    if rows[name]:
                        connection.execute(table.insert(), rows[name])
                    continue
                # One by one, checking that each id is the one the row was numbered with.
                for number, row in enumerate(rows[name], start=1):
                    (got,) = connection.execute(table.insert(), row).inserted_primary_key or (0,)
                    if got != number:
                        raise RuntimeError(f"{name} is not new: id {got} for row {number}")
    finally:
        engine.dispose()
    return {name: len(rows[name]) for name in SEED_ORDER}


def describe(url: str) -> list[str]:
    """Human-readable lines about the seeded database at ``url`` (printed by the script)."""
    engine = sa.create_engine(url)
    lines = [f"Broker database at {engine.url.render_as_string(hide_password=True)}"]
    try:
        with engine.connect() as connection:
            for name in SEED_ORDER:
                count = connection.execute(
                    sa.select(sa.func.count()).select_from(metadata.tables[name])
                ).scalar_one()
                lines.append(f"  {name:<17} {count:>6} rows")
            lines.append("Logins (bcrypt in clients.pw_hash):")
            for login, active in connection.execute(
                sa.select(clients.c.login, clients.c.active).order_by(clients.c.client_id)
            ):
                state = "" if active else "  (inactive)"
                lines.append(f"  {login} / {DEMO_PASSWORDS[login]}{state}")
            lines.append("Accounts:")
            for acct in connection.execute(
                sa.select(trading_accounts, clients.c.login)
                .join(clients)
                .order_by(trading_accounts.c.acct_no)
            ).mappings():
                lines.append(
                    f"  {acct['acct_no']} {acct['login']:<6} {acct['ccy']} "
                    f"{acct['balance']:>12,.2f} status {acct['status']}"
                )
            lines.append("Orders:")
            lines.extend(_order_lines(connection.execute(sa.select(orders).order_by("ord_id"))))
            lines.append("Positions:")
            for pos in connection.execute(sa.select(positions).order_by("pos_id")).mappings():
                lines.append(
                    f"  {pos['acct_no']} {pos['sym']:<7} {pos['net_qty']:+,g} @ {pos['avg_px']:g}"
                )
    finally:
        engine.dispose()
    return lines


def _order_lines(result: sa.CursorResult[Any]) -> list[str]:
    """One line per order row of ``result``."""
    lines = []
    for o in result.mappings():
        words = [f"#{o['ord_id']}", o["acct_no"], o["side"], o["otype"], f"{o['qty']:g}", o["sym"]]
        if o["lmt_px"] is not None:
            words.append(f"lmt {o['lmt_px']:g}")
        if o["stp_px"] is not None:
            words.append(f"stp {o['stp_px']:g}")
        words += [o["tif"], f"st={o['st']}"]
        if o["filled_qty"]:
            words.append(f"filled {o['filled_qty']:g} @ {o['avg_px']:g}")
        if o["client_ref"]:
            words.append(f"ref={o['client_ref']}")
        if o["reject_reason"]:
            words.append(f"({o['reject_reason']})")
        lines.append("  " + " ".join(words))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Create and seed the database at ``argv[0]`` (default ``DEFAULT_URL``), print a summary."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(__doc__)
        return 0 if args and args[0] in ("-h", "--help") else 2
    url = args[0] if args else DEFAULT_URL
    create(url)
    seed(url)
    print("\n".join(describe(url)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
