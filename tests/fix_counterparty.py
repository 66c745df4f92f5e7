"""A real QuickFIX 4.4 acceptor as the gateway's counterparty: a small broker back end.

It validates every message against QuickFIX's own FIX 4.4 data dictionary, works orders
against quotes the test sets (marketable orders fill at once, others rest until a quote
reaches them), answers replace and cancel requests, and serves market data (a snapshot, then
incremental refreshes on every quote). A NewOrderList is worked as a bracket: its first order
is the entry, the others wait until the entry has filled and then cancel each other (shrinking
each other on a partial fill), and cancelling the unfilled entry cancels them. Tests reach into
it to misbehave on purpose: skip sequence numbers, refuse orders, drop the link.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

import quickfix as fix  # type: ignore[import-untyped]
import quickfix44 as fix44  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
DICTIONARY = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"
SENDER = "VENUE"
TARGET = "GATEWAY"


@dataclass
class Resting:
    """An order the counterparty works."""

    cl_ord_id: str
    order_id: str
    account: str
    symbol: str
    side: str  # "1" buy, "2" sell
    ord_type: str
    qty: float
    price: float | None
    stop: float | None
    tif: str | None
    cum_qty: float = 0.0
    avg_px: float = 0.0
    triggered: bool = False
    custom: dict[int, str] = field(default_factory=dict)


def _get(message: Any, tag: int) -> str | None:
    return message.getField(tag) if message.isSetField(tag) else None


class Broker(fix.Application):  # type: ignore[misc]
    """The QuickFIX application: an order book per symbol against the test's quotes."""

    def __init__(self) -> None:
        super().__init__()
        self.session_id: Any = None
        self.quotes: dict[str, tuple[float, float]] = {}
        self.orders: dict[str, Resting] = {}
        self.received: list[tuple[str, dict[int, str]]] = []
        self.legs: dict[str, list[Resting]] = {}
        """Entry order id → its bracket legs (waiting while the entry is not filled)."""
        self.entry_of: dict[str, str] = {}
        """Leg order id → its entry's order id."""
        self.subscriptions: dict[str, str] = {}  # symbol -> MDReqID
        self.logons = 0
        self.logged_on = threading.Event()
        self.refuse_symbols: set[str] = set()
        self.refuse_replace = False
        self.hold_fills = False
        self.session_reject_next: str | None = None
        self.password: str | None = None
        self._ids = itertools.count(1)
        self.filled: list[Resting] = []
        self.lists: list[tuple[str, str | None]] = []
        """(ListID, ContingencyType) of every NewOrderList taken."""
        self._lock = threading.RLock()
        self.on_order: Callable[[Resting], None] | None = None
        self.keep: tuple[Any, ...] = ()

    # -- QuickFIX callbacks -------------------------------------------------------------

    def onCreate(self, session_id: Any) -> None:  # noqa: N802 - QuickFIX's names
        self.session_id = session_id

    def onLogon(self, session_id: Any) -> None:  # noqa: N802
        self.logons += 1
        self.logged_on.set()

    def onLogout(self, session_id: Any) -> None:  # noqa: N802
        self.logged_on.clear()
        with self._lock:
            self.subscriptions.clear()

    def toAdmin(self, message: Any, session_id: Any) -> None:  # noqa: N802
        pass

    def fromAdmin(self, message: Any, session_id: Any) -> None:  # noqa: N802
        msg_type = message.getHeader().getField(35)
        wrong = self.password is not None and _get(message, 554) != self.password
        if msg_type == "A" and wrong:
            raise fix.RejectLogon("bad password")

    def toApp(self, message: Any, session_id: Any) -> None:  # noqa: N802
        pass

    def fromApp(self, message: Any, session_id: Any) -> None:  # noqa: N802
        msg_type = message.getHeader().getField(35)
        fields = {int(t): v for t, v in _pairs(message.toString())}
        with self._lock:
            self.received.append((msg_type, fields))
            if self.session_reject_next == msg_type:
                self.session_reject_next = None
                raise fix.IncorrectTagValue(55)
            if msg_type == "D":
                self._new_order(message)
            elif msg_type == "G":
                self._replace(message)
            elif msg_type == "F":
                self._cancel(message)
            elif msg_type == "V":
                self._market_data_request(message)
            elif msg_type == "E":
                self._new_list(message)

    # -- orders ----------------------------------------------------------------------------

    def _resting(self, message: Any) -> Resting:
        return Resting(
            cl_ord_id=message.getField(11),
            order_id=f"V{next(self._ids)}",
            account=_get(message, 1) or "",
            symbol=message.getField(55),
            side=message.getField(54),
            ord_type=message.getField(40),
            qty=float(message.getField(38)),
            price=float(p) if (p := _get(message, 44)) else None,
            stop=float(s) if (s := _get(message, 99)) else None,
            tif=_get(message, 59),
        )

    def _known(self, cl_ord_id: str) -> bool:
        return self._find(cl_ord_id) is not None or any(
            o.cl_ord_id == cl_ord_id for o in self.filled
        )

    def _refused(self, order: Resting) -> bool:
        if order.symbol in self.refuse_symbols or order.symbol not in self.quotes:
            self._report(order, "8", "8", text=f"Unknown or halted symbol {order.symbol}")
            return True
        return False

    def _new_order(self, message: Any) -> None:
        if self._known(message.getField(11)):
            return  # a PossDup resend of an order already taken
        order = self._resting(message)
        if self._refused(order):
            return
        self.orders[order.order_id] = order
        self._report(order, "0", "0")
        if self.on_order is not None:
            self.on_order(order)
        self._work(order)

    def _new_list(self, message: Any) -> None:
        entries = []
        for number in range(1, int(message.getField(73)) + 1):
            group = fix44.NewOrderList.NoOrders()
            message.getGroup(number, group)
            entries.append(group)
        if not entries or self._known(entries[0].getField(11)):
            return  # empty, or a PossDup resend of a list already taken
        entry, *legs = [self._resting(group) for group in entries]
        if self._refused(entry):
            for leg in legs:
                self._report(leg, "8", "8", text="Its entry order was refused")
            return
        self.lists.append((message.getField(66), _get(message, 1385)))
        self.orders[entry.order_id] = entry
        self.legs[entry.order_id] = legs
        self._report(entry, "0", "0")
        for leg in legs:
            self.entry_of[leg.order_id] = entry.order_id
            self._report(leg, "A", "A")  # pending new: it waits for the entry
        self._work(entry)

    def _activate(self, entry: Resting) -> None:
        legs = self.legs.pop(entry.order_id, [])
        for leg in legs:
            self.orders[leg.order_id] = leg
            self._report(leg, "0", "0")
        for leg in legs:
            self._work(leg)  # a leg filled here cancels the other: that one is then skipped

    def _one_cancels_other(self, leg: Resting, done: bool) -> None:
        entry = self.entry_of.get(leg.order_id)
        for other in list(self.orders.values()):
            if other is leg or entry is None or self.entry_of.get(other.order_id) != entry:
                continue
            if done:
                del self.orders[other.order_id]
                self._report(other, "4", "4", text="One-cancels-other: the other leg filled")
            else:
                other.qty = other.cum_qty + (leg.qty - leg.cum_qty)
                self._report(other, "D", "1" if other.cum_qty else "0")  # restated

    def _find(self, cl_ord_id: str) -> Resting | None:
        waiting = [leg for legs in self.legs.values() for leg in legs]
        for order in [*self.orders.values(), *waiting]:
            if order.cl_ord_id == cl_ord_id:
                return order
        return None

    def _replace(self, message: Any) -> None:
        orig = message.getField(41)
        cl = message.getField(11)
        order = self._find(orig)
        if order is None or self.refuse_replace:
            self._cancel_reject(message, "2", "Too late to replace" if order else "Unknown order")
            return
        order.cl_ord_id = cl
        order.qty = float(message.getField(38))
        if p := _get(message, 44):
            order.price = float(p)
        if s := _get(message, 99):
            order.stop = float(s)
        self._report(order, "5", "1" if order.cum_qty else "0", orig=orig)
        self._work(order)

    def _cancel(self, message: Any) -> None:
        orig = message.getField(41)
        order = self._find(orig)
        if order is None:
            self._cancel_reject(message, "1", "Unknown order")
            return
        order.cl_ord_id = message.getField(11)
        if order.order_id in self.orders:
            del self.orders[order.order_id]
        else:  # a waiting leg
            entry = self.entry_of[order.order_id]
            self.legs[entry] = [leg for leg in self.legs[entry] if leg is not order]
        self._report(order, "4", "4", orig=orig)
        for leg in self.legs.pop(order.order_id, []):  # an unfilled entry takes its legs
            self._report(leg, "4", "4", text="Its entry order was cancelled")

    def _cancel_reject(self, message: Any, response_to: str, text: str) -> None:
        reply = fix.Message()
        reply.getHeader().setField(fix.MsgType("9"))
        reply.setField(fix.OrderID("NONE"))
        reply.setField(fix.ClOrdID(message.getField(11)))
        reply.setField(fix.OrigClOrdID(message.getField(41)))
        reply.setField(fix.OrdStatus("8"))
        reply.setField(fix.CxlRejResponseTo(response_to))
        reply.setField(fix.Text(text))
        fix.Session.sendToTarget(reply, self.session_id)

    def _marketable(self, order: Resting) -> float | None:
        bid, ask = self.quotes[order.symbol]
        buy = order.side == "1"
        touch = ask if buy else bid
        if order.ord_type in ("3", "4") and not order.triggered:
            assert order.stop is not None
            if (buy and ask >= order.stop) or (not buy and bid <= order.stop):
                order.triggered = True
            else:
                return None
        if order.ord_type in ("1", "3"):
            return touch
        assert order.price is not None
        if (buy and touch <= order.price) or (not buy and touch >= order.price):
            return touch
        return None

    def _work(self, order: Resting) -> None:
        if self.hold_fills or order.order_id not in self.orders:
            return
        price = self._marketable(order)
        if price is None:
            return
        self.fill(order, order.qty - order.cum_qty, price)

    def fill(self, order: Resting, qty: float, price: float) -> None:
        """Fill ``qty`` of a working order at ``price`` (the rest keeps working)."""
        with self._lock:
            order.avg_px = (order.avg_px * order.cum_qty + price * qty) / (order.cum_qty + qty)
            order.cum_qty += qty
            done = order.cum_qty >= order.qty - 1e-9
            if done:
                self.orders.pop(order.order_id, None)
                self.filled.append(order)
            self._report(order, "F", "2" if done else "1", last=(qty, price))
            if done and order.order_id in self.legs:
                self._activate(order)
            if order.order_id in self.entry_of:
                self._one_cancels_other(order, done)

    def _report(
        self,
        order: Resting,
        exec_type: str,
        ord_status: str,
        text: str | None = None,
        orig: str | None = None,
        last: tuple[float, float] | None = None,
    ) -> None:
        report = fix.Message()
        report.getHeader().setField(fix.MsgType("8"))
        report.setField(fix.OrderID(order.order_id))
        report.setField(fix.ClOrdID(order.cl_ord_id))
        if orig:
            report.setField(fix.OrigClOrdID(orig))
        report.setField(fix.ExecID(f"E{next(self._ids)}"))
        report.setField(fix.ExecType(exec_type))
        report.setField(fix.OrdStatus(ord_status))
        if order.account:
            report.setField(fix.Account(order.account))
        report.setField(fix.Symbol(order.symbol))
        report.setField(fix.Side(order.side))
        report.setField(fix.OrderQty(order.qty))
        report.setField(fix.LeavesQty(0 if ord_status in "248" else order.qty - order.cum_qty))
        report.setField(fix.CumQty(order.cum_qty))
        report.setField(fix.AvgPx(order.avg_px))
        if last is not None:
            report.setField(fix.LastQty(last[0]))
            report.setField(fix.LastPx(last[1]))
        if text:
            report.setField(fix.Text(text))
        report.setField(fix.TransactTime())
        fix.Session.sendToTarget(report, self.session_id)

    # -- market data ------------------------------------------------------------------------

    def _market_data_request(self, message: Any) -> None:
        group = fix.Group(146, 55)
        message.getGroup(1, group)
        symbol = group.getField(55)
        req_id = message.getField(262)
        if symbol not in self.quotes:
            reject = fix.Message()
            reject.getHeader().setField(fix.MsgType("Y"))
            reject.setField(fix.MDReqID(req_id))
            reject.setField(fix.MDReqRejReason("0"))
            reject.setField(fix.Text(f"Unknown symbol {symbol}"))
            fix.Session.sendToTarget(reject, self.session_id)
            return
        self.subscriptions[symbol] = req_id
        bid, ask = self.quotes[symbol]
        snapshot = fix.Message()
        snapshot.getHeader().setField(fix.MsgType("W"))
        snapshot.setField(fix.MDReqID(req_id))
        snapshot.setField(fix.Symbol(symbol))
        for entry_type, price in (("0", bid), ("1", ask)):
            entry = fix.Group(268, 269)
            entry.setField(fix.MDEntryType(entry_type))
            entry.setField(fix.MDEntryPx(price))
            entry.setField(fix.MDEntrySize(1_000_000))
            snapshot.addGroup(entry)
        fix.Session.sendToTarget(snapshot, self.session_id)

    def set_quote(self, symbol: str, bid: float, ask: float, trade: float | None = None) -> None:
        """Move the market: subscribers get a refresh, resting orders may fill."""
        with self._lock:
            self.quotes[symbol] = (bid, ask)
            req_id = self.subscriptions.get(symbol)
            if req_id is not None and self.logged_on.is_set():
                refresh = fix.Message()
                refresh.getHeader().setField(fix.MsgType("X"))
                refresh.setField(fix.MDReqID(req_id))
                entries: list[tuple[str, float, float]] = [("0", bid, 1e6), ("1", ask, 1e6)]
                if trade is not None:
                    entries.append(("2", trade, 1.0))
                for entry_type, price, size in entries:
                    entry = fix.Group(268, 279)
                    entry.setField(fix.MDUpdateAction("0"))
                    entry.setField(fix.MDEntryType(entry_type))
                    entry.setField(fix.Symbol(symbol))
                    entry.setField(fix.MDEntryPx(price))
                    entry.setField(fix.MDEntrySize(size))
                    refresh.addGroup(entry)
                fix.Session.sendToTarget(refresh, self.session_id)
            for order in list(self.orders.values()):
                if order.symbol == symbol:
                    self._work(order)

    # -- misbehaving ------------------------------------------------------------------------

    def session(self) -> Any:
        return fix.Session.lookupSession(self.session_id)

    def skip_numbers(self, count: int) -> None:
        """The next message goes out ``count`` numbers too high: a gap the gateway must see."""
        session = self.session()
        session.setNextSenderMsgSeqNum(session.getExpectedSenderNum() + count)

    def received_types(self) -> list[str]:
        with self._lock:
            return [kind for kind, _ in self.received]


def _pairs(text: str) -> Iterator[tuple[str, str]]:
    for part in text.split("\x01"):
        if "=" in part:
            tag, _, value = part.partition("=")
            yield tag, value


def _start(port: int, store: Path, settings: dict[str, str]) -> tuple[Broker, Any]:
    broker = Broker()
    defaults = fix.Dictionary()
    values = {
        "ConnectionType": "acceptor",
        "SocketAcceptPort": str(port),
        "SocketAcceptHost": "127.0.0.1",
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        "FileStorePath": str(store),
        "UseDataDictionary": "Y",
        "DataDictionary": str(DICTIONARY),
        "ValidateUserDefinedFields": "N",
        "AllowUnknownMsgFields": "Y",
        "ResetOnLogon": "N",
        "ResetOnLogout": "N",
        "ResetOnDisconnect": "N",
        "PersistMessages": "Y",
    } | settings
    for key, value in values.items():
        defaults.setString(key, value)
    session_settings = fix.SessionSettings()
    session_settings.set(defaults)
    session_settings.set(fix.SessionID("FIX.4.4", SENDER, TARGET), fix.Dictionary())
    store_factory = fix.FileStoreFactory(session_settings)
    logs = fix.ScreenLogFactory(False, False, False)
    acceptor = fix.SocketAcceptor(broker, store_factory, session_settings, logs)
    acceptor.start()
    # QuickFIX keeps pointers to these: they must live as long as the acceptor.
    broker.keep = (defaults, session_settings, store_factory, logs)
    return broker, acceptor


COMMANDS: dict[str, Callable[..., Any]] = {
    "quote": lambda b, symbol, bid, ask, trade=None: b.set_quote(symbol, bid, ask, trade),
    "set": lambda b, name, value: setattr(b, name, value),
    "refuse_symbol": lambda b, symbol: b.refuse_symbols.add(symbol),
    "received": lambda b: list(b.received),
    "orders": lambda b: {k: vars(v).copy() for k, v in b.orders.items()},
    "lists": lambda b: list(b.lists),
    "waiting_legs": lambda b: {k: [vars(leg).copy() for leg in v] for k, v in b.legs.items()},
    "quotes": lambda b: dict(b.quotes),
    "logons": lambda b: b.logons,
    "logged_on": lambda b: b.logged_on.is_set(),
    "skip_numbers": lambda b, count: b.skip_numbers(count),
    "fill": lambda b, order_id, qty, price: b.fill(b.orders[order_id], qty, price),
    "disconnect": lambda b: b.session().disconnect(),
    "next_out": lambda b: b.session().getExpectedSenderNum(),
}
"""What the test process may ask of the counterparty process."""


def main() -> None:
    """The counterparty process: ``python -m tests.fix_counterparty PORT STORE [KEY=VALUE…]``."""
    port, store, *pairs = sys.argv[1:]
    settings = dict(pair.split("=", 1) for pair in pairs)
    broker, _acceptor = _start(int(port), Path(store), settings)
    with Listener(("127.0.0.1", 0), authkey=AUTHKEY) as listener:
        print(f"ready {listener.address[1]}", flush=True)
        with listener.accept() as conn:
            while True:
                try:
                    name, args = conn.recv()
                except EOFError:
                    break
                if name == "stop":
                    break
                try:
                    conn.send(("ok", COMMANDS[name](broker, *args)))
                except Exception as exc:  # reported to the test, which fails with it
                    conn.send(("error", repr(exc)))
    # QuickFIX's stop can crash the interpreter while its threads call back into Python; the
    # process ends here anyway, so it leaves without that step.
    os._exit(0)


AUTHKEY = b"fix-counterparty"


class Counterparty:
    """The test's handle on a QuickFIX acceptor running in a process of its own."""

    def __init__(self, port: int, store: Path, **settings: str) -> None:
        self.port = port
        self.store = store
        self.settings = settings
        self._process: subprocess.Popen[str] | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self.start()

    def start(self) -> None:
        """Start (or restart) the acceptor; its file store keeps the session's numbers."""
        args = [sys.executable, "-m", "tests.fix_counterparty", str(self.port), str(self.store)]
        args += [f"{k}={v}" for k, v in self.settings.items()]
        self._process = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        assert line.startswith("ready "), f"the counterparty did not start: {line!r}"
        self._conn = Client(("127.0.0.1", int(line.split()[1])), authkey=AUTHKEY)

    def call(self, name: str, *args: Any) -> Any:
        """Run one of :data:`COMMANDS` in the counterparty process."""
        assert self._conn is not None
        with self._lock:
            self._conn.send((name, args))
            status, value = self._conn.recv()
        assert status == "ok", value
        return value

    def quote(self, symbol: str, bid: float, ask: float, trade: float | None = None) -> None:
        self.call("quote", symbol, bid, ask, trade)

    def received(self, kind: str | None = None) -> list[dict[int, str]]:
        """Application messages received so far (of one type)."""
        return [f for k, f in self.call("received") if kind is None or k == kind]

    def received_types(self) -> list[str]:
        return [k for k, _ in self.call("received")]

    def wait_logon(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.call("logged_on"):
            assert time.monotonic() < deadline, "the gateway did not log on"
            time.sleep(0.02)

    def stop(self) -> None:
        """End the process (its sessions drop as if the machine went away)."""
        if self._conn is not None:
            with suppress(OSError):
                self._conn.send(("stop", ()))
            self._conn.close()
            self._conn = None
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None


@contextmanager
def counterparty(tmp_path: Path, port: int, **settings: str) -> Iterator[Counterparty]:
    """A QuickFIX acceptor on ``port`` (file store in ``tmp_path``: it survives restarts)."""
    running = Counterparty(port, tmp_path / "qf-store", **settings)
    try:
        yield running
    finally:
        running.stop()


if __name__ == "__main__":
    main()
