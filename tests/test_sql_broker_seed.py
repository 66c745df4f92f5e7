"""The demo broker database of examples/sql-broker: its seed is consistent and deterministic.

On SQLite and on the local PostgreSQL and MariaDB servers (skipped on a laptop without them,
required under CI=true, see tests/servers.py). The servers' ``test`` database is shared with
other test modules that may run at the same time, so each server gets a scratch database of
its own (as in tests/test_migrations.py), dropped at the end.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import sqlalchemy as sa

from tests.servers import MARIADB_URL, POSTGRES_URL, require
from tests.sql_broker import SCRIPT, load_broker, scratch_database

broker = load_broker()
NOW_MS = 1_767_227_850_123
"""2026-01-01 00:37:30.123 UTC: a fixed clock, mid-minute, so the seed is reproducible."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database created and seeded at ``NOW_MS``, one per backend for the whole module.

    Tests that re-create it seed it again at ``NOW_MS`` before they end, so the next test
    finds the same rows.
    """
    with ExitStack() as stack:
        if request.param == "sqlite":
            database = f"sqlite:///{tmp_path_factory.mktemp('broker') / 'broker.db'}"
        else:
            server = require(POSTGRES_URL if request.param == "postgresql" else MARIADB_URL)
            database = stack.enter_context(scratch_database(server))
        started = time.perf_counter()
        broker.create(database)
        broker.seed(database, NOW_MS)
        print(f"{request.param}: create+seed {time.perf_counter() - started:.2f} s")
        yield database
        engine = sa.create_engine(database)
        broker.metadata.drop_all(engine)
        engine.dispose()


def rows(url: str, table: str) -> list[dict[str, Any]]:
    """Every row of ``table``, ordered by its primary key."""
    t = broker.metadata.tables[table]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.select(t).order_by(*t.primary_key.columns)
            return [dict(r) for r in connection.execute(query).mappings()]
    finally:
        engine.dispose()


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every broker table."""
    return {name: rows(url, name) for name in broker.metadata.tables}


def average_cost(fills: list[dict[str, Any]]) -> tuple[float, float, float]:
    """(net_qty, avg_px, realized P&L) of one account's fills in one symbol, by average cost."""
    net = avg = realized = 0.0
    for f in sorted(fills, key=lambda f: f["ts"]):
        signed = f["qty"] if f["side"] == "B" else -f["qty"]
        if net == 0 or (net > 0) == (signed > 0):
            avg = (net * avg + signed * f["px"]) / (net + signed)
        else:
            closed = min(abs(net), abs(signed))
            realized += closed * (f["px"] - avg) * (1 if net > 0 else -1)
            if abs(signed) > abs(net):
                avg = f["px"]
        net += signed
    return net, avg, realized


def test_logins_verify_with_bcrypt(url: str) -> None:
    clients = {c["login"]: c for c in rows(url, "clients")}
    passwords = {"alice": "alice-pass", "bob": "bob-pass", "carol": "carol-pass"}
    assert set(clients) == set(passwords)
    for login, password in passwords.items():
        stored = clients[login]["pw_hash"].encode()
        assert stored.startswith(b"$2b$")
        assert bcrypt.checkpw(password.encode(), stored)
        assert not bcrypt.checkpw(b"wrong-" + password.encode(), stored)
    assert {login: c["active"] for login, c in clients.items()} == {
        "alice": 1,
        "bob": 1,
        "carol": 0,
    }
    assert [c["client_id"] for c in clients.values()] == [1, 2, 3]


def test_accounts_groups_symbols_and_quotes(url: str) -> None:
    owners = {c["client_id"]: c["login"] for c in rows(url, "clients")}
    accounts = {
        a["acct_no"]: (owners[a["client_id"]], a["ccy"], a["status"])
        for a in rows(url, "trading_accounts")
    }
    assert accounts == {
        "AC-10001": ("alice", "USD", "A"),
        "AC-10002": ("alice", "EUR", "A"),
        "AC-20001": ("bob", "USD", "A"),
        "AC-30001": ("carol", "USD", "S"),
    }
    groups = {(owners[g["client_id"]], g["grp"]) for g in rows(url, "client_groups")}
    assert {login for login, _ in groups} == {"alice", "bob", "carol"}
    symbols = {s["sym"]: (s["kind"], s["tick"]) for s in rows(url, "symbols")}
    assert symbols == {
        "EURUSD": ("FX", 0.00001),
        "AAPL": ("EQ", 0.01),
        "ESZ6": ("IX", 0.25),
        "BTCUSD": ("FX", 0.01),
    }
    quotes = rows(url, "quotes")
    assert {q["sym"] for q in quotes} == set(symbols)
    for q in quotes:
        assert q["bid"] <= q["last"] <= q["ask"]
        assert q["bid"] < q["ask"]
        assert q["updated_at"] == NOW_MS
        for price in (q["bid"], q["ask"], q["last"]):
            tick = symbols[q["sym"]][1]
            assert price / tick == pytest.approx(round(price / tick))


def test_positions_and_balances_follow_the_fills(url: str) -> None:
    fills = rows(url, "fills")
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in fills:
        by_key[f["acct_no"], f["sym"]].append(f)
    positions = {(p["acct_no"], p["sym"]): p for p in rows(url, "positions")}
    expected = {key: average_cost(group) for key, group in by_key.items()}
    open_keys = {key for key, (net, _, _) in expected.items() if net != 0}
    assert set(positions) == open_keys == {("AC-10001", "EURUSD"), ("AC-20001", "AAPL")}
    for key in open_keys:
        net, avg, _ = expected[key]
        assert positions[key]["net_qty"] == net
        assert positions[key]["avg_px"] == pytest.approx(avg, abs=1e-8)
    assert positions["AC-10001", "EURUSD"]["net_qty"] == 60_000
    assert positions["AC-20001", "AAPL"]["net_qty"] == 50

    deposits = {"AC-10001": 100_000.0, "AC-10002": 25_000.0, "AC-20001": 50_000.0}
    deposits["AC-30001"] = 10_000.0
    for account in rows(url, "trading_accounts"):
        acct = account["acct_no"]
        realized = sum(r for (a, _), (_, _, r) in expected.items() if a == acct)
        commissions = sum(f["commission"] for f in fills if f["acct_no"] == acct)
        want = deposits[acct] + realized - commissions
        assert account["balance"] == pytest.approx(want, abs=0.005), acct


def test_each_order_s_filled_qty_is_the_sum_of_its_fills(url: str) -> None:
    orders = rows(url, "orders")
    fills = rows(url, "fills")
    assert [o["ord_id"] for o in orders] == [1, 2, 3, 4, 5, 6]
    for order in orders:
        own = [f for f in fills if f["ord_id"] == order["ord_id"]]
        assert all(
            (f["acct_no"], f["sym"], f["side"]) == (order["acct_no"], order["sym"], order["side"])
            for f in own
        )
        filled = sum(f["qty"] for f in own)
        assert order["filled_qty"] == filled
        if own:
            vwap = sum(f["qty"] * f["px"] for f in own) / filled
            assert order["avg_px"] == pytest.approx(vwap, abs=1e-8)
            assert order["updated_at"] == max(f["ts"] for f in own)
        else:
            assert order["avg_px"] is None
        assert (order["st"] == "F") == (bool(own) and filled == order["qty"])
        assert order["created_at"] <= order["updated_at"] <= NOW_MS
        assert (order["reject_reason"] is not None) == (order["st"] == "R")
        if order["otype"] in ("L", "T"):
            assert order["lmt_px"] is not None
        if order["otype"] in ("S", "T"):
            assert order["stp_px"] is not None
    summary = [(o["acct_no"], o["sym"], o["side"], o["otype"], o["st"]) for o in orders]
    assert summary == [
        ("AC-10001", "EURUSD", "B", "M", "F"),
        ("AC-10001", "EURUSD", "S", "L", "F"),
        ("AC-20001", "AAPL", "B", "M", "F"),
        ("AC-10001", "AAPL", "B", "T", "C"),
        ("AC-10001", "EURUSD", "B", "L", "N"),
        ("AC-10001", "BTCUSD", "B", "S", "R"),
    ]
    assert [f["ord_id"] for f in fills] == [1, 1, 2, 3]


def test_bars_are_sane_and_the_fills_trade_inside_them(url: str) -> None:
    bars: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bar in rows(url, "bars_1m"):
        bars[bar["sym"]].append(bar)
    assert set(bars) == {"EURUSD", "AAPL"}
    last_minute = NOW_MS // 60_000 * 60 - 60
    for sym, series in bars.items():
        assert len(series) == 3 * 1440, sym
        assert series[-1]["ts_min"] == last_minute
        assert [b["ts_min"] for b in series] == list(
            range(series[0]["ts_min"], last_minute + 1, 60)
        )
        for previous, bar in itertools.pairwise(series):
            assert bar["o"] == previous["c"]
        for bar in series:
            assert bar["l"] <= min(bar["o"], bar["c"]) <= max(bar["o"], bar["c"]) <= bar["h"]
            assert bar["l"] > 0 and bar["v"] > 0
    by_minute = {(b["sym"], b["ts_min"]): b for series in bars.values() for b in series}
    for f in rows(url, "fills"):
        bar = by_minute[f["sym"], f["ts"] // 60_000 * 60]
        assert bar["l"] <= f["px"] <= bar["h"]
    quotes = {q["sym"]: q for q in rows(url, "quotes")}
    for sym, series in bars.items():
        assert quotes[sym]["last"] == series[-1]["c"]


def test_the_seed_is_deterministic(url: str) -> None:
    first = dump(url)
    broker.create(url)
    broker.seed(url, NOW_MS)
    assert dump(url) == first
    assert broker.build_rows(NOW_MS) == broker.build_rows(NOW_MS)


def test_create_starts_over(url: str) -> None:
    broker.create(url)
    assert all(not table_rows for table_rows in dump(url).values())
    broker.seed(url, NOW_MS)
    with pytest.raises(sa.exc.IntegrityError):  # a second seed collides with the first
        broker.seed(url, NOW_MS)
    broker.create(url)
    counts = broker.seed(url, NOW_MS)
    assert counts == {name: len(table_rows) for name, table_rows in dump(url).items()}
    assert counts["bars_1m"] == 8640 and counts["orders"] == 6


def test_the_audit_log_holds_one_seed_entry(url: str) -> None:
    assert rows(url, "audit_log") == [
        {"id": 1, "at": NOW_MS, "what": "seeded the demo broker database"}
    ]


def test_the_script_creates_and_seeds_from_any_directory(tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'demo.db'}"
    before = int(time.time() * 1000)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), target],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    elapsed = time.perf_counter() - started
    assert "bars_1m" in done.stdout and "alice / alice-pass" in done.stdout
    assert "AC-10001" in done.stdout and "#6 AC-10001 B S 5 BTCUSD" in done.stdout
    bars = rows(target, "bars_1m")
    assert before // 60_000 * 60 - 120 <= bars[-1]["ts_min"] <= time.time()
    assert elapsed < 10, f"the script took {elapsed:.1f} s"
    assert f"sqlite:///{SCRIPT.parent / 'broker.db'}" == broker.DEFAULT_URL


def test_plain_sql_reads_every_column_unquoted(url: str) -> None:
    """Hand-written SQL (as the gateway YAML declares it) names the columns without quoting."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            book = connection.execute(
                sa.text(
                    "SELECT o.ord_id, o.side, o.otype, o.st, o.tif, o.filled_qty, q.bid, q.ask,"
                    " q.last, s.kind, s.tick, s.pip_value, a.ccy, a.status"
                    " FROM orders o JOIN quotes q ON q.sym = o.sym JOIN symbols s ON s.sym = o.sym"
                    " JOIN trading_accounts a ON a.acct_no = o.acct_no"
                    " WHERE o.acct_no = :acct AND o.st IN ('N', 'P') ORDER BY o.ord_id"
                ),
                {"acct": "AC-10001"},
            ).all()
            assert [(r.ord_id, r.side, r.otype, r.st, r.tif, r.ccy) for r in book] == [
                (5, "B", "L", "N", "GTC", "USD")
            ]
            assert float(book[0].filled_qty) == 0 and float(book[0].tick) == 0.00001
            bars = connection.execute(
                sa.text(
                    "SELECT ts_min, o, h, l, c, v FROM bars_1m WHERE sym = :sym"
                    " AND ts_min >= :since ORDER BY ts_min"
                ),
                {"sym": "AAPL", "since": NOW_MS // 60_000 * 60 - 3600},
            ).all()
            assert len(bars) == 60
            logins = connection.execute(
                sa.text(
                    "SELECT c.login, g.grp FROM clients c JOIN client_groups g"
                    " ON g.client_id = c.client_id WHERE c.active = 1 ORDER BY c.login, g.grp"
                )
            ).all()
            assert {login for login, _ in logins} == {"alice", "bob"}
            audit = connection.execute(sa.text("SELECT id, at, what FROM audit_log")).all()
            assert len(audit) == 1
    finally:
        engine.dispose()


def test_the_readme_shows_the_seeded_numbers() -> None:
    readme = (SCRIPT.parent / "README.md").read_text(encoding="utf-8")
    seeded = broker.build_rows(NOW_MS)
    numbers = [f"{p['avg_px']:g}" for p in seeded["positions"]]
    numbers += [f"{a['balance']:,.2f}" for a in seeded["trading_accounts"] if a["balance"] % 1000]
    numbers += [f"{f['px']:.5f}" for f in seeded["fills"] if f["sym"] == "EURUSD"]
    numbers += [f"{o[col]:g}" for o in seeded["orders"] for col in ("lmt_px",) if o[col]]
    numbers += [f"{o['stp_px']:g}" for o in seeded["orders"] if o["sym"] == "AAPL" and o["stp_px"]]
    assert numbers
    assert [n for n in numbers if n not in readme] == []
