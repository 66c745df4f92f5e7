"""``fix``: a FIX 4.4 upstream as execution venue and market-data source.

The gateway is the initiator. Orders the core hands over go out as NewOrderSingle,
OrderCancelReplaceRequest and OrderCancelRequest, or, with ``brackets: native``, an order and
its brackets as one NewOrderList; execution reports come back as the core's reports
(cumulative quantities: a resent report never fills twice). Market data arrives as
snapshots and incremental refreshes and leaves as quotes, trades and depth on the tick bus.

Placing, modifying and cancelling wait up to ``ack_timeout`` for the upstream's answer, so
that a refusal reaches TradingView as the request's ``errmsg``. Requests made on the session's
own thread (the core reacting to a report: an activated bracket, an OCO cancel) do not wait:
their answer is read by that very thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy.exc import SQLAlchemyError

from connectors.fix._market import MarketBooks
from connectors.fix._options import FixOptions
from connectors.fix._orders import OrderMapper, Working
from connectors.fix._session import Application, NotLoggedOn, Session, SessionSettings
from connectors.fix._transport import Initiator
from connectors.fix._wire import Message, Tag
from gateway.plugins.records import (
    Bar,
    ExecutionReport,
    OrderChange,
    OrderRequest,
    Rejected,
    dump_record,
    load_order,
)
from gateway.plugins.roles import ConnectorContext, ExecutionSink, Role, TickSink
from gateway.store import relay_server
from gateway.store.database import Database
from gateway.store.leases import Lease
from gateway.store.relay import Relay
from gateway.store.session_log import SessionLog

__all__ = ["FixConnector"]

log = logging.getLogger("gateway.connectors.fix")


@dataclass
class _Waiter:
    """One request waiting for the upstream's answer."""

    done: threading.Event = field(default_factory=threading.Event)
    refusal: str | None = None
    venue_id: str | None = None


class FixConnector(Application):
    """Orders to, reports and market data from one FIX 4.4 session."""

    kind: ClassVar[str] = "fix"
    roles: ClassVar[frozenset[Role]] = frozenset({Role.EXECUTION, Role.MARKET_DATA})
    Options: ClassVar[type] = FixOptions
    single_process: ClassVar[bool] = True
    """One session per comp-id pair: one process of the deployment may hold it."""

    def __init__(self, options: FixOptions, context: ConnectorContext) -> None:
        """Remember the options; nothing connects before :meth:`start`."""
        self.options = options
        self.name = context.name
        self._store: Database | None = context.store
        self.settings = SessionSettings(
            sender_comp_id=options.sender_comp_id,
            target_comp_id=options.target_comp_id,
            heartbeat=int(options.heartbeat.seconds),
            username=options.username,
            password=options.password.reveal() if options.password else None,
            reset_on_logon=options.reset_on_logon,
        )
        self.mapper = OrderMapper(options)
        self.books = MarketBooks(options)
        self._exec_sinks: list[ExecutionSink] = []
        self._tick_sinks: list[TickSink] = []
        self._lock = threading.Lock()  # the working orders and the waiters
        self._working: dict[str, Working] = {}
        self._waiters: dict[str, _Waiter] = {}
        self.session: Session | None = None
        self.initiator: Initiator | None = None
        self.lease: Lease | None = None
        self._keeper: threading.Thread | None = None
        self.relay: Relay | None = None
        self._relayer: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Take the session's lease and dial the upstream (threads of their own).

        Only the process holding the lease dials; the others keep trying to take it over, so
        that the session moves to another process within ``lease`` when its owner dies.
        """
        if self._store is None:
            raise RuntimeError(f"the fix connector {self.name!r} needs the gateway's store")
        store = SessionLog(self._store, self.settings.session_id)
        self.session = Session(self.settings, store, self)
        name, ttl = f"fix:{self.settings.session_id}", self.options.lease.seconds
        self.lease = Lease(self._store, name, ttl)
        schedule = self.options.schedule.schedule() if self.options.schedule else None
        self.initiator = Initiator(
            self.session,
            self.options.host,
            self.options.port,
            backoff=(self.options.reconnect_min.seconds, self.options.reconnect_max.seconds),
            schedule=schedule,
            may_run=lambda: self.lease is not None and self.lease.held,
        )
        self._renew()  # at once: the first logon need not wait a renewal period
        self._keeper = threading.Thread(target=self._keep_lease, name="fix-lease", daemon=True)
        self._keeper.start()
        self.relay = Relay(self._store, name)
        self._relayer = threading.Thread(target=self._serve_relay, name="fix-relay", daemon=True)
        self._relayer.start()
        self.initiator.start()

    def _renew(self) -> None:
        lease = self.lease
        if lease is None:
            return
        was = lease.held
        try:
            lease.acquire()
        except SQLAlchemyError as exc:  # the store is away: the lease runs out on its own
            log.warning("%s: cannot renew the session's lease: %s", self.name, exc)
        if lease.held != was:
            log.info(
                "%s: this process %s the FIX session (%s)",
                self.name,
                "now runs" if lease.held else "no longer runs",
                lease.holder,
            )

    def _keep_lease(self) -> None:
        lease = self.lease
        while lease is not None and not self._stopping.wait(lease.ttl / 6):
            self._renew()

    def stop(self) -> None:
        """Log out, stop dialling and give the lease up (another process may take over)."""
        self._stopping.set()
        if self.initiator is not None:
            self.initiator.stop()
        for thread in (self._keeper, self._relayer):
            if thread is not None:
                thread.join(timeout=10)
        if self.lease is not None:
            try:
                self.lease.release()
            except SQLAlchemyError as exc:
                log.warning("%s: cannot release the session's lease: %s", self.name, exc)

    @property
    def logged_on(self) -> bool:
        """Whether orders can be sent now."""
        return self.session is not None and self.session.state == "active"

    def health(self) -> tuple[bool, str]:
        """For ``/readyz``: the session is logged on, or another process runs it."""
        if self.lease is None:
            return False, "not started"
        if not self.lease.held:
            return True, "standby: another gateway process runs the FIX session"
        if self.logged_on:
            return True, "logged on"
        why = self.initiator.last_reason if self.initiator is not None else ""
        return False, f"not logged on ({why})" if why else "not logged on"

    def validate(self) -> list[str]:
        """Problems ``gateway check`` reports (none: everything is checked at load)."""
        return []

    # -- the execution role -----------------------------------------------------------------

    def subscribe(self, sink: ExecutionSink | TickSink) -> None:
        """Execution sinks get order reports, tick sinks market data."""
        # One method name for both roles (the protocols share it): told apart by what the
        # sink can take.
        if hasattr(sink, "report"):
            self._exec_sinks.append(sink)  # type: ignore[arg-type]
        else:
            self._tick_sinks.append(sink)

    def _live(self) -> Session:
        session = self.session
        if session is None or session.state != "active":
            why = self.initiator.last_reason if self.initiator else "not started"
            if self.lease is not None and not self.lease.held:
                why = "another gateway process runs the FIX session"
            raise Rejected(
                "The broker's order system is not connected right now"
                + (f" ({why})" if why else "")
                + ". Please try again in a moment."
            )
        return session

    def place(self, order: OrderRequest) -> str:
        """Send a NewOrderSingle; wait for its acknowledgement or refusal."""
        if self._relaying():
            return self._relay("place", {"order": dump_record(order)})
        session = self._ready((order,))
        cl_ord_id = self._track((order,))
        waiter = self._expect(cl_ord_id)
        self._send(session, "D", self.mapper.new_order(order, cl_ord_id), cl_ord_id)
        self._await(session, cl_ord_id, waiter)
        return waiter.venue_id or cl_ord_id

    def works_brackets(self) -> bool:
        """Whether brackets go to the upstream with their order (``brackets: native``)."""
        return self.options.brackets == "native"

    def place_bracket(self, parent: OrderRequest, legs: Sequence[OrderRequest]) -> str:
        """Send an order and its brackets as one NewOrderList; wait for the parent's answer."""
        if self._relaying():
            payload = {"parent": dump_record(parent), "legs": [dump_record(leg) for leg in legs]}
            return self._relay("place_bracket", payload)
        orders = (parent, *legs)
        session = self._ready(orders)
        cl_ord_id = self._track(orders)
        waiter = self._expect(cl_ord_id)
        self._send(session, "E", self.mapper.new_list(parent, legs), cl_ord_id)
        self._await(session, cl_ord_id, waiter)
        return waiter.venue_id or cl_ord_id

    def _ready(self, orders: Sequence[OrderRequest]) -> Session:
        if any(order.guaranteed for order in orders):
            raise Rejected("Guaranteed stops are not offered by the broker's order system.")
        return self._live()

    def _track(self, orders: Sequence[OrderRequest]) -> str:
        """Keep new orders as working (their reports may come at once); the first's ClOrdID."""
        for order in orders:
            working = Working(order, self.mapper.new_id(order.client_order_id))
            with self._lock:
                self._working[order.client_order_id] = working
            self._save(working)
        return self.mapper.new_id(orders[0].client_order_id)

    def modify(self, client_order_id: str, change: OrderChange) -> None:
        """Send an OrderCancelReplaceRequest; wait for Replaced or a cancel reject."""
        if self._relaying():
            self._relay("modify", {"id": client_order_id, "change": dump_record(change)})
            return
        session = self._live()
        working = self._find(client_order_id)
        cl_ord_id = self.mapper.next_id(working)
        body, replaced = self.mapper.replace(working, change, cl_ord_id)
        self._save(working)
        waiter = self._expect(cl_ord_id)
        self._send(session, "G", body, cl_ord_id)
        self._await(session, cl_ord_id, waiter)
        with self._lock:
            working.request = replaced

    def cancel(self, client_order_id: str) -> None:
        """Send an OrderCancelRequest; wait for Cancelled or a cancel reject."""
        if self._relaying():
            self._relay("cancel", {"id": client_order_id})
            return
        session = self._live()
        working = self._find(client_order_id)
        cl_ord_id = self.mapper.next_id(working)
        self._save(working)
        waiter = self._expect(cl_ord_id)
        self._send(session, "F", self.mapper.cancel(working, cl_ord_id), cl_ord_id)
        self._await(session, cl_ord_id, waiter)

    def recover(self, orders: Sequence[OrderRequest]) -> None:
        """The orders the core holds as working here: their reports may still come."""
        with self._lock:
            for order in orders:
                if order.client_order_id not in self._working:
                    self._working[order.client_order_id] = self._restore(order)

    def _restore(self, order: OrderRequest) -> Working:
        working = Working(order, self.mapper.new_id(order.client_order_id))
        if self.session is not None:
            saved = self.session.store.recall(_key(order.client_order_id))
            if saved:
                data = json.loads(saved)
                working.cl_ord_id, working.requests = str(data["cl"]), int(data["n"])
        return working

    def _find(self, client_order_id: str) -> Working:
        with self._lock:
            working = self._working.get(client_order_id)
        if working is None:
            # Placed through another process that held the session before this one: the
            # store keeps the order as it was sent.
            saved = self.session.store.recall(_key(client_order_id)) if self.session else None
            data = json.loads(saved) if saved else {}
            if "order" in data:
                working = Working(load_order(data["order"]), str(data["cl"]), int(data["n"]))
                with self._lock:
                    working = self._working.setdefault(client_order_id, working)
        if working is None:
            raise Rejected(f"Order {client_order_id} is not working at the broker.")
        return working

    def _save(self, working: Working) -> None:
        if self.session is not None:
            value = json.dumps(
                {
                    "cl": working.cl_ord_id,
                    "n": working.requests,
                    "order": dump_record(working.request),
                }
            )
            self.session.store.remember(_key(working.request.client_order_id), value)

    # -- relaying: a process without the session hands its requests to the one with it ------

    def _relaying(self) -> bool:
        return self.relay is not None and self.lease is not None and not self.lease.held

    def _relay(self, kind: str, payload: dict[str, Any]) -> str:
        """Hand a request to the session's holder through the store; its answer."""
        assert self.relay is not None
        return relay_server.ask(
            self.relay,
            kind,
            payload,
            take_within=RELAY_TAKE,
            answer_within=self.options.ack_timeout.seconds,
            unavailable="The broker's order system is not connected right now (no gateway "
            "process runs the FIX session). Please try again in a moment.",
        )

    def _serve_relay(self) -> None:
        """The holder's side: carry out what other processes ask, a few at a time."""
        relay, lease = self.relay, self.lease
        assert relay is not None and lease is not None
        relay_server.serve(
            relay,
            self,
            self._stopping,
            name=self.name,
            failure="The broker's order system could not take the request.",
            may_take=lambda: lease.held,
        )

    def _expect(self, cl_ord_id: str) -> _Waiter:
        waiter = _Waiter()
        with self._lock:
            self._waiters[cl_ord_id] = waiter
        return waiter

    def _send(
        self,
        session: Session,
        msg_type: str,
        body: list[tuple[int, str | int | float]],
        cl_ord_id: str,
    ) -> None:
        try:
            session.send(msg_type, body)
        except NotLoggedOn:
            with self._lock:
                self._waiters.pop(cl_ord_id, None)
            raise Rejected(
                "The broker's order system is not connected right now. "
                "Please try again in a moment."
            ) from None

    def _await(self, session: Session, cl_ord_id: str, waiter: _Waiter) -> None:
        if threading.current_thread() is not session.thread:
            waiter.done.wait(self.options.ack_timeout.seconds)
        with self._lock:
            self._waiters.pop(cl_ord_id, None)
        if waiter.refusal is not None:
            raise Rejected(waiter.refusal)

    def _answer(
        self, cl_ord_id: str | None, refusal: str | None = None, venue_id: str | None = None
    ) -> None:
        if cl_ord_id is None:
            return
        with self._lock:
            waiter = self._waiters.get(cl_ord_id)
        if waiter is not None:
            waiter.refusal, waiter.venue_id = refusal, venue_id
            waiter.done.set()

    # -- the market-data role ---------------------------------------------------------------

    def backfill(self, symbol: str, start: int, end: int) -> Iterable[Bar]:
        """FIX carries no history: bars come from the ticks recorded since."""
        return ()

    # -- the session's application --------------------------------------------------------------

    def on_logon(self, session: Session) -> None:
        """Subscribe to market data."""
        for request in self.books.requests():
            session.send("V", request)

    def on_logout(self, session: Session, reason: str) -> None:
        """Waiting requests learn the link is gone."""
        with self._lock:
            waiters = list(self._waiters.items())
        for cl_ord_id, _ in waiters:
            self._answer(
                cl_ord_id,
                refusal=None,  # the request is journaled: it is resent after the reconnect
            )
        self.books.clear()

    def resend(self, message: Message) -> bool:
        """Orders are resent (the upstream deduplicates by ClOrdID); subscriptions are not."""
        return message.type in _ORDER_MESSAGES

    def authenticate(self, logon: Message) -> str | None:
        """Only the acceptor authenticates."""
        return None

    def on_message(self, session: Session, message: Message) -> None:
        """Execution reports, cancel rejects and market data."""
        kind = message.type
        if kind == "8":
            self._execution_report(message)
        elif kind == "9":
            self._cancel_reject(message)
        elif kind in ("W", "X"):
            for tick in self.books.apply(message):
                for sink in self._tick_sinks:
                    sink.publish(tick)
        elif kind == "Y":
            log.warning(
                "%s: market data request %s refused: %s",
                self.name,
                message.get(Tag.MDReqID),
                message.get(Tag.Text) or message.get(Tag.MDReqRejReason),
            )

    def on_rejected(self, session: Session, sent: Message | None, text: str) -> None:
        """A message of ours refused at session or business level."""
        if sent is None or sent.type not in _ORDER_MESSAGES:
            return
        cl_ord_id = sent.get(Tag.ClOrdID)  # of a list: its first order, the parent
        reason = f"Refused by the broker's order system: {text}"
        self._answer(cl_ord_id, refusal=reason)
        order_id = self.mapper.order_of(cl_ord_id)
        # A refused list is refused whole: the parent's rejection ends its brackets too.
        if sent.type in ("D", "E") and order_id is not None:
            self._report(
                ExecutionReport(
                    client_order_id=order_id, status="rejected", time=time.time(), text=reason
                )
            )

    def _execution_report(self, message: Message) -> None:
        cl_ord_id = message.get(Tag.ClOrdID)
        order_id = self.mapper.order_of(cl_ord_id) or self.mapper.order_of(
            message.get(Tag.OrigClOrdID)
        )
        if order_id is None:
            log.warning(
                "%s: execution report for an order we did not send: %s", self.name, cl_ord_id
            )
            return
        exec_type = message.get(Tag.ExecType)
        if exec_type == "8":
            self._answer(
                cl_ord_id, refusal=message.get(Tag.Text) or "Rejected by the broker's order system"
            )
        elif exec_type not in ("E", "6"):  # pending replace / cancel: the answer is still to come
            self._answer(cl_ord_id, venue_id=message.get(Tag.OrderID))
        if exec_type == "5" and cl_ord_id:
            with self._lock:
                working = self._working.get(order_id)
                if working is not None:
                    working.cl_ord_id = cl_ord_id
            if working is not None:
                self._save(working)
        report = self.mapper.report(message, order_id)
        if report is None:
            return
        if report.status in ("filled", "cancelled", "rejected"):
            with self._lock:
                self._working.pop(order_id, None)
            if self.session is not None:
                self.session.store.forget(_key(order_id))
        self._report(report)

    def _cancel_reject(self, message: Message) -> None:
        text = message.get(Tag.Text) or "the broker's order system refused"
        self._answer(message.get(Tag.ClOrdID), refusal=text)

    def _report(self, report: ExecutionReport) -> None:
        for sink in self._exec_sinks:
            sink.report(report)


_ORDER_MESSAGES = ("D", "E", "G", "F")
"""Messages about orders: resent on request (the upstream deduplicates by ClOrdID)."""


RELAY_TAKE = 2.0
"""Seconds a relayed request waits to be taken before it is withdrawn (no holder is alive)."""


def _key(order_id: str) -> str:
    return f"order:{order_id}"
