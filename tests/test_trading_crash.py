"""``kill -9`` of the whole gateway during a burst of placements loses nothing.

The issue's "done when": after a restart on the same store, every order that was answered ``ok``
exists exactly once with a consistent status, and positions equal the sum of their fills.

The demo (replayed feed, paper venue) is served by ``gateway serve`` (one gunicorn worker, as
with market data) in a session of its own, so that one ``killpg`` reaches the master and its
worker at the same instant: no process survives to finish a write. Eight clients place 1000
orders (market orders, which fill at once and move positions, and limit orders far from the
market, which rest), each with its own ``requestId``. After 300 ``ok`` answers the process group
is killed; requests in flight fail, as they must. The gateway is then started again on the same
SQLite file and the store is checked directly (request ids are not on the wire) and through HTTP.
"""

from __future__ import annotations

import http.client
import math
import queue
import random
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gateway.config import load_config
from gateway.market.sessions import SessionCalendar, parse_session
from gateway.store.tables import executions, orders, positions, trading_accounts
from tests.conftest import DEMO
from tests.live_gateway import Served, call, copy_demo, group_members, login, serving
from tests.waiting import eventually

ACCOUNT = "DEMO-USD"
BURST = 1000
CLIENTS = 8
KILL_AFTER_OK = 300
RECOVERY_SECONDS = 15.0
EPSILON = 1e-6
ORDERS_PATH = f"/accounts/{ACCOUNT}/orders"

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs /proc to find surviving processes"
)


def place(port: int, token: str, placement: Placement) -> str:
    """Place (or retry) one order that must be answered ``ok``; its orderId."""
    status, body = call(port, "POST", placement.path, placement.form, token)
    assert status == 200 and body["s"] == "ok", (placement, body)
    order_id: str = body["d"]["orderId"]
    return order_id


# -- the burst -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """One order request of the burst."""

    request_id: str
    form: dict[str, str]

    @property
    def path(self) -> str:
        """The placement URL, carrying the request id."""
        query = urllib.parse.urlencode({"locale": "en", "requestId": self.request_id})
        return f"{ORDERS_PATH}?{query}"


@dataclass
class Outcome:
    """What became of one placement during the burst."""

    placement: Placement
    sent: bool = False
    order_id: str | None = None
    refused: str | None = None
    """An answer that was not ``ok`` (none is expected)."""
    failed_at: float | None = None
    """When the request failed without an answer (monotonic clock)."""


def eurusd_open_for(config: Path, seconds: float) -> bool:
    """Whether the demo's EURUSD (24x5) is in session now and ``seconds`` from now.

    Outside its session the paper venue queues market orders instead of filling them, so on a
    weekend the burst's market orders go to BTCUSD (24x7) only.
    """
    symbol = next(s for s in load_config(config).symbols if s.symbol == "EURUSD")
    calendar = SessionCalendar(parse_session(symbol.session_regular), symbol.timezone)
    now = time.time()
    return calendar.is_open(now) and calendar.is_open(now + seconds)


def burst(count: int, market_instruments: tuple[str, ...]) -> list[Placement]:
    """Market orders of both sides (they fill at once) and limit orders far from the market
    (they rest), shuffled; quantities on each instrument's qtyStep."""
    rng = random.Random(20261124)
    made: list[Placement] = []
    for i in range(count):
        form: dict[str, str]
        if rng.random() < 0.5:
            instrument = rng.choice(market_instruments)
            qty = (
                str(1000 * rng.randint(1, 5))
                if instrument == "EURUSD"
                else f"{0.001 * rng.randint(1, 10):.3f}"
            )
            form = {"type": "market", "instrument": instrument, "qty": qty}
            form["side"] = rng.choice(("buy", "sell"))
        else:
            # About 7 % (EURUSD ~1.08) and 17 % (BTCUSD ~60,000) away from the replayed prices.
            instrument, side, price = rng.choice(
                (("EURUSD", "buy", "1.0"), ("EURUSD", "sell", "1.16"), ("BTCUSD", "buy", "50000"))
            )
            qty = "1000" if instrument == "EURUSD" else "0.001"
            form = {"type": "limit", "instrument": instrument, "qty": qty, "side": side}
            form["limitPrice"] = price
        made.append(Placement(f"crash-{i:04d}", form))
    return made


class Burst:
    """Clients placing orders concurrently until the gateway dies under them."""

    def __init__(self, port: int, token: str, placements: list[Placement]) -> None:
        self.port = port
        self.token = token
        self.outcomes = {p.request_id: Outcome(p) for p in placements}
        self._todo: queue.SimpleQueue[Placement] = queue.SimpleQueue()
        for placement in placements:
            self._todo.put(placement)
        self._answered = threading.Condition()
        self.ok = 0
        self.stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, name=f"client-{i}") for i in range(CLIENTS)
        ]

    def start(self) -> None:
        """Start the clients."""
        for thread in self._threads:
            thread.start()

    def wait_for_ok(self, count: int, timeout: float = 60.0) -> int:
        """Wait until ``count`` placements were answered ``ok``; the number answered so far."""
        with self._answered:
            self._answered.wait_for(lambda: self.ok >= count or self._done(), timeout)
            return self.ok

    def join(self) -> None:
        """Stop handing out placements and wait for the clients."""
        self.stopped.set()
        for thread in self._threads:
            thread.join(timeout=30)
            assert not thread.is_alive(), f"{thread.name} hangs"

    def _done(self) -> bool:
        return not any(t.is_alive() for t in self._threads)

    def _client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            while not self.stopped.is_set():
                try:
                    placement = self._todo.get_nowait()
                except queue.Empty:
                    return
                outcome = self.outcomes[placement.request_id]
                outcome.sent = True
                try:
                    status, body = call(conn, "POST", placement.path, placement.form, self.token)
                except (OSError, http.client.HTTPException, ValueError):
                    # The gateway was killed: this request may or may not have been stored.
                    outcome.failed_at = time.monotonic()
                    return
                if status == 200 and body.get("s") == "ok":
                    outcome.order_id = body["d"]["orderId"]
                    with self._answered:
                        self.ok += 1
                        self._answered.notify_all()
                else:
                    outcome.refused = f"{status} {body}"
        finally:
            conn.close()
            with self._answered:
                self._answered.notify_all()


# -- the store -------------------------------------------------------------------------------


def store_rows(engine: sa.Engine) -> tuple[list[Any], list[Any], list[Any], Any]:
    """Orders, positions and executions of the account, and its account row."""
    with engine.connect() as conn:
        found_orders = list(conn.execute(sa.select(orders).where(orders.c.account_id == ACCOUNT)))
        found_positions = list(
            conn.execute(sa.select(positions).where(positions.c.account_id == ACCOUNT))
        )
        found_executions = list(
            conn.execute(sa.select(executions).where(executions.c.account_id == ACCOUNT))
        )
        account = conn.execute(
            sa.select(trading_accounts).where(trading_accounts.c.id == ACCOUNT)
        ).one()
    return found_orders, found_positions, found_executions, account


def by_request(engine: sa.Engine) -> dict[str, list[int]]:
    """Order ids by request id."""
    out: dict[str, list[int]] = {}
    for row in store_rows(engine)[0]:
        out.setdefault(row.request_id, []).append(int(row.id))
    return out


def statuses(engine: sa.Engine) -> Counter[str]:
    """How many orders of each type are in each status (``market/filled``: 140)."""
    return Counter(f"{row.type}/{row.status}" for row in store_rows(engine)[0])


def settled(engine: sa.Engine) -> bool:
    """Recovery is over: no order is still placing and no market order is still open."""
    return not any(
        row.status == "placing" or (row.type == "market" and row.status != "filled")
        for row in store_rows(engine)[0]
    )


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; whether it held."""
    return eventually(condition, timeout, interval=0.1)


def signed(side: str, qty: float) -> float:
    """+qty for buy, -qty for sell."""
    return qty if side == "buy" else -qty


def check_store(engine: sa.Engine, outcomes: dict[str, Outcome], initial: float) -> None:
    """Every invariant of the issue, on the rows themselves."""
    found_orders, found_positions, found_executions, account = store_rows(engine)
    ids = Counter(int(row.id) for row in found_orders)
    assert all(n == 1 for n in ids.values())
    requests = Counter(row.request_id for row in found_orders)
    assert [r for r, n in requests.items() if n > 1] == [], "two orders share a requestId"
    assert set(requests) <= set(outcomes), "an order nobody asked for"
    rows = {int(row.id): row for row in found_orders}
    for outcome in outcomes.values():
        if outcome.order_id is None:
            continue
        row = rows.get(int(outcome.order_id))
        assert row is not None, f"order {outcome.order_id} answered ok was lost: {outcome}"
        assert row.request_id == outcome.placement.request_id, (outcome, row)
        form = outcome.placement.form
        assert (row.instrument, row.side, row.type) == (
            form["instrument"],
            form["side"],
            form["type"],
        )
        assert math.isclose(row.qty, float(form["qty"]), abs_tol=EPSILON)

    fills: dict[int, float] = {}
    for ex in found_executions:
        order = rows.get(int(ex.order_id))
        assert order is not None, f"execution {ex.id} of an unknown order"
        assert (ex.instrument, ex.side) == (order.instrument, order.side), ex
        assert ex.qty > 0, ex
        fills[order.id] = fills.get(order.id, 0.0) + ex.qty
    for row in found_orders:
        filled = math.isclose(row.filled_qty, row.qty, abs_tol=EPSILON)
        assert (row.status == "filled") == filled, f"status vs filledQty: {row}"
        assert math.isclose(row.filled_qty, fills.get(row.id, 0.0), abs_tol=EPSILON), (
            f"filledQty of order {row.id} is not the sum of its executions"
        )
        if row.type == "market":
            assert row.status == "filled", f"market order not filled after recovery: {row}"
        else:
            assert row.status == "working", f"resting limit order not working: {row}"

    net: dict[str, float] = {}
    for ex in found_executions:
        net[ex.instrument] = net.get(ex.instrument, 0.0) + signed(ex.side, ex.qty)
    held: dict[str, float] = {}
    for pos in found_positions:
        assert pos.qty >= 0, f"negative position quantity: {pos}"
        if pos.closed_at is None:
            assert pos.qty > EPSILON, f"an open position of nothing: {pos}"
            held[pos.instrument] = held.get(pos.instrument, 0.0) + signed(pos.side, pos.qty)
        else:
            assert pos.qty == 0, f"a closed position still holding: {pos}"
    for instrument in set(net) | set(held):
        assert math.isclose(held.get(instrument, 0.0), net.get(instrument, 0.0), abs_tol=EPSILON), (
            f"{instrument}: positions {held.get(instrument)} != fills {net.get(instrument)}"
        )

    realized = sum(ex.realized_pl for ex in found_executions)
    commission = sum(ex.commission or 0.0 for ex in found_executions)
    assert math.isclose(account.realized_pl, realized, abs_tol=1e-6)
    assert math.isclose(account.balance, initial + realized - commission, abs_tol=1e-6)


def check_http(port: int, token: str, outcomes: dict[str, Outcome], engine: sa.Engine) -> None:
    """What TradingView sees agrees: each ok orderId once, the stored statuses, fills and net
    positions."""
    status, body = call(port, "GET", ORDERS_PATH, token=token)
    assert status == 200 and body["s"] == "ok", body
    listed = Counter(o["id"] for o in body["d"])
    wire = {o["id"]: o for o in body["d"]}
    for outcome in outcomes.values():
        if outcome.order_id is not None:
            assert listed[outcome.order_id] == 1, f"order {outcome.order_id} listed {listed}"
    query = sa.select(orders.c.id, orders.c.status).where(orders.c.account_id == ACCOUNT)
    with engine.connect() as conn:
        kept = {str(r.id): r.status for r in conn.execute(query)}
    assert {i: o["status"] for i, o in wire.items()} == kept

    net: dict[str, float] = {}
    for instrument in {o["instrument"] for o in body["d"]}:
        status, found = call(
            port,
            "GET",
            f"/accounts/{ACCOUNT}/executions?instrument={instrument}&maxCount=1000",
            token=token,
        )
        assert status == 200 and found["s"] == "ok", found
        assert len(found["d"]) < 1000, "more executions than one answer holds"
        per_order: dict[str, float] = {}
        for ex in found["d"]:
            per_order[ex["orderId"]] = per_order.get(ex["orderId"], 0.0) + ex["qty"]
            net[instrument] = net.get(instrument, 0.0) + signed(ex["side"], ex["qty"])
        for order in wire.values():
            if order["instrument"] == instrument:
                assert math.isclose(
                    order["filledQty"], per_order.get(order["id"], 0.0), abs_tol=EPSILON
                ), order

    status, found = call(port, "GET", f"/accounts/{ACCOUNT}/positions", token=token)
    assert status == 200 and found["s"] == "ok", found
    held: dict[str, float] = {}
    for pos in found["d"]:
        assert pos["qty"] > 0, pos
        held[pos["instrument"]] = held.get(pos["instrument"], 0.0) + signed(pos["side"], pos["qty"])
    for instrument in set(net) | set(held):
        assert math.isclose(held.get(instrument, 0.0), net.get(instrument, 0.0), abs_tol=EPSILON)


# -- the test ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_during_a_burst_of_placements_loses_nothing(tmp_path: Path) -> None:
    config = copy_demo(DEMO.parent, tmp_path)
    engine = sa.create_engine(f"sqlite:///{config.parent / 'live.db'}")
    initial = next(a.initial_balance for a in load_config(config).accounts if a.id == ACCOUNT)
    markets = ("BTCUSD", "EURUSD") if eurusd_open_for(config, 300) else ("BTCUSD",)
    placements = burst(BURST, markets)

    first = Served(config)
    try:
        first.wait_ready()
        members = group_members(first.pgid)
        assert len(members) >= 2, f"expected a master and a worker in the group: {members}"
        token = login(first.port)
        clients = Burst(first.port, token, placements)
        clients.start()
        ok_at_kill = clients.wait_for_ok(KILL_AFTER_OK)
        killed_at = time.monotonic()
        first.kill()
        clients.join()
    finally:
        first.stop()

    outcomes = clients.outcomes
    answered = [o for o in outcomes.values() if o.order_id is not None]
    unanswered = [o for o in outcomes.values() if o.sent and o.order_id is None]
    assert [o for o in outcomes.values() if o.refused] == []
    assert ok_at_kill >= KILL_AFTER_OK and not all(o.sent for o in outcomes.values()), (
        "the burst ended before the kill: nothing was interrupted"
    )
    assert all(o.failed_at is not None and o.failed_at >= killed_at for o in unanswered), (
        "a request failed before the kill"
    )

    # Before any restart: every answer ok is already in the store (committed before "ok").
    stored = by_request(engine)
    for outcome in answered:
        assert stored.get(outcome.placement.request_id) == [int(outcome.order_id or 0)], outcome
    before_restart = statuses(engine)
    in_flight_stored = {o.placement.request_id for o in unanswered} & set(stored)

    with serving(config) as second:
        assert wait_until(lambda: settled(engine), RECOVERY_SECONDS), (
            f"recovery did not settle: {statuses(engine)} (before restart: {before_restart})"
        )
        after_recovery = statuses(engine)
        token = login(second.port)

        # Retries carry the first request's id: the same order comes back, none is added.
        markets_ok = [o for o in answered if o.placement.form["type"] == "market"][:5]
        limits_ok = [o for o in answered if o.placement.form["type"] == "limit"][:5]
        for outcome in [*markets_ok, *limits_ok]:
            assert place(second.port, token, outcome.placement) == outcome.order_id
        for outcome in unanswered:
            request_id = outcome.placement.request_id
            order_id = place(second.port, token, outcome.placement)
            if request_id in in_flight_stored:
                assert [int(order_id)] == stored[request_id], outcome
            assert place(second.port, token, outcome.placement) == order_id
            outcome.order_id = order_id  # from now on it is an order answered ok
        assert wait_until(lambda: settled(engine), RECOVERY_SECONDS), statuses(engine)
        placed = sum(1 for o in outcomes.values() if o.order_id is not None)
        assert len(store_rows(engine)[0]) == placed

        check_store(engine, outcomes, initial)
        check_http(second.port, token, outcomes, engine)
    engine.dispose()

    print(
        f"\n{len(answered)} answered ok ({ok_at_kill} when killed), {len(unanswered)} in flight "
        f"({len(in_flight_stored)} of them stored), "
        f"{sum(not o.sent for o in outcomes.values())} never sent; "
        f"before restart {dict(sorted(before_restart.items()))}; "
        f"after recovery {dict(sorted(after_recovery.items()))}; "
        f"market instruments {markets}"
    )
