"""``gateway fix-venue``: a FIX 4.4 acceptor backed by the paper venue, for demos and tests.

It loads an ordinary gateway configuration (the demo's, say), starts its market data and its
paper venue, and serves one FIX session on top: NewOrderSingle, OrderCancelReplaceRequest and
OrderCancelRequest are worked by the paper venue against the replayed quotes, and its fills go
back as execution reports; MarketDataRequest subscribes to the quotes and trades. The session
layer is the gateway's own (in the acceptor role), its numbers kept in the configuration's
store. Resting orders live in memory: a restarted simulator has an empty book.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from connectors.fix._orders import ORDER_TYPES, SIDES
from connectors.fix._session import Session, SessionSettings
from connectors.fix._transport import Acceptor
from connectors.fix._wire import Message, Tag, parse_timestamp, timestamp
from gateway.plugins.records import (
    ExecutionReport,
    OrderChange,
    OrderRequest,
    Quote,
    Rejected,
    Tick,
    Trade,
)
from gateway.store.session_log import SessionLog

log = logging.getLogger("gateway.connectors.fix.venue")

_SIDE_OF = {v: k for k, v in SIDES.items()}
_TYPE_OF = {v: k for k, v in ORDER_TYPES.items()}
_TIF_OF = {"0": "DAY", "1": "GTC", "3": "IOC", "4": "FOK", "6": "GTT"}


@dataclass
class _Order:
    """An order the simulator works: its ids and what was filled so far."""

    request: OrderRequest
    cl_ord_id: str
    order_id: str
    account: str
    symbol: str
    pending: str | None = None  # the ClOrdID of a cancel request being worked
    cum_qty: float = 0.0
    avg_px: float = 0.0


class Venue:
    """The simulator's FIX application: orders to the paper venue, quotes to subscribers."""

    def __init__(self, paper: Any, market: Any, password: str | None) -> None:
        """``paper`` works the orders; ``market`` is the gateway's market-data runtime."""
        self.paper = paper
        self.market = market
        self.password = password
        self.session: Session | None = None
        self._orders: dict[str, _Order] = {}  # by the paper venue's client id
        self._lock = threading.RLock()
        self._ids = itertools.count(int(time.time()))
        self._subscribed: dict[str, str] = {}  # symbol -> MDReqID
        paper.subscribe(self)
        market.bus.subscribe(self._on_tick)

    # -- session application ------------------------------------------------------------

    def authenticate(self, logon: Message) -> str | None:
        """Check the Logon's password (when one is configured)."""
        if self.password is not None and logon.get(Tag.Password) != self.password:
            return "Logon refused: wrong username or password"
        return None

    def on_logon(self, session: Session) -> None:
        """Nothing to do: the counterparty subscribes itself."""

    def on_logout(self, session: Session, reason: str) -> None:
        """Subscriptions end with the session."""
        with self._lock:
            self._subscribed.clear()

    def resend(self, message: Message) -> bool:
        """Execution reports are repeated on request; market data is gap-filled."""
        return message.type in ("8", "9")

    def on_rejected(self, session: Session, sent: Message | None, text: str) -> None:
        """Logged only."""
        log.warning("the counterparty refused our message: %s", text)

    def on_message(self, session: Session, message: Message) -> None:
        """Orders and market-data requests."""
        handlers = {"D": self._new, "G": self._replace, "F": self._cancel, "V": self._subscribe}
        handler = handlers.get(message.type)
        if handler is None:
            session.reject(message, 11, f"MsgType {message.type} is not supported here")
            return
        handler(session, message)

    # -- orders ---------------------------------------------------------------------------

    def _new(self, session: Session, message: Message) -> None:
        cl = message.get(Tag.ClOrdID) or ""
        with self._lock:
            if any(o.cl_ord_id == cl for o in self._orders.values()):
                return  # a resend of an order already taken (PossDup)
        try:
            request = self._request(message, str(next(self._ids)))
        except (ValueError, KeyError) as exc:
            session.reject(message, 5, f"invalid order: {exc}")
            return
        order = _Order(
            request,
            cl,
            f"SIM-{request.client_order_id}",
            message.get(Tag.Account) or "",
            message.get(Tag.Symbol) or "",
        )
        with self._lock:
            self._orders[request.client_order_id] = order
        self._report(order, "0", "0")
        try:
            self.paper.place(request)
        except Rejected as exc:
            with self._lock:
                self._orders.pop(request.client_order_id, None)
            self._report(order, "8", "8", text=exc.message)

    def _request(self, message: Message, client_id: str) -> OrderRequest:
        expire = message.get(Tag.ExpireTime)
        tif = message.get(Tag.TimeInForce)
        return OrderRequest(
            client_order_id=client_id,
            account_id=message.get(Tag.Account) or "",
            instrument=message.get(Tag.Symbol) or "",
            side=_SIDE_OF[message.get(Tag.Side) or ""],  # type: ignore[arg-type]
            type=_TYPE_OF[message.get(Tag.OrdType) or ""],  # type: ignore[arg-type]
            qty=float(message.get(Tag.OrderQty) or "nan"),
            limit_price=_price(message.get(Tag.Price)),
            stop_price=_price(message.get(Tag.StopPx)),
            duration_type=_TIF_OF.get(tif or ""),
            duration_datetime=None if expire is None else int(_seconds(expire)),
        )

    def _find(self, cl_ord_id: str | None) -> _Order | None:
        with self._lock:
            for order in self._orders.values():
                if order.cl_ord_id == cl_ord_id:
                    return order
        return None

    def _replace(self, session: Session, message: Message) -> None:
        order = self._find(message.get(Tag.OrigClOrdID))
        if order is None:
            self._cancel_reject(message, "2", "Unknown order")
            return
        change = OrderChange(
            qty=_price(message.get(Tag.OrderQty)),
            limit_price=_price(message.get(Tag.Price)),
            stop_price=_price(message.get(Tag.StopPx)),
        )
        try:
            self.paper.modify(order.request.client_order_id, change)
        except Rejected as exc:
            self._cancel_reject(message, "2", exc.message)
            return
        orig, order.cl_ord_id = order.cl_ord_id, message.get(Tag.ClOrdID) or ""
        request = order.request
        order.request = OrderRequest(
            **{
                **vars(request),
                "qty": change.qty or request.qty,
                "limit_price": change.limit_price or request.limit_price,
                "stop_price": change.stop_price or request.stop_price,
            }
        )
        self._report(order, "5", "1" if order.cum_qty else "0", orig=orig)

    def _cancel(self, session: Session, message: Message) -> None:
        order = self._find(message.get(Tag.OrigClOrdID))
        if order is None:
            self._cancel_reject(message, "1", "Unknown order")
            return
        order.pending = message.get(Tag.ClOrdID)
        try:
            self.paper.cancel(order.request.client_order_id)
        except Rejected as exc:
            order.pending = None
            self._cancel_reject(message, "1", exc.message)

    def _cancel_reject(self, message: Message, response_to: str, text: str) -> None:
        self._send(
            "9",
            [
                (Tag.OrderID, "NONE"),
                (Tag.ClOrdID, message.get(Tag.ClOrdID) or ""),
                (Tag.OrigClOrdID, message.get(Tag.OrigClOrdID) or ""),
                (Tag.OrdStatus, "8"),
                (Tag.CxlRejResponseTo, response_to),
                (Tag.Text, text),
            ],
        )

    def report(self, report: ExecutionReport) -> None:
        """The paper venue's report (the ExecutionSink) as a FIX execution report."""
        with self._lock:
            order = self._orders.get(report.client_order_id)
        if order is None:
            return
        if report.last_qty and report.last_price is not None:
            filled = order.cum_qty + report.last_qty
            order.avg_px = (order.avg_px * order.cum_qty + report.last_price * report.last_qty) / (
                filled
            )
            order.cum_qty = filled
            done = report.status == "filled"
            self._report(
                order, "F", "2" if done else "1", last=(report.last_qty, report.last_price)
            )
            if done:
                self._forget(order)
        elif report.status == "cancelled":
            orig = None
            if order.pending:
                orig, order.cl_ord_id = order.cl_ord_id, order.pending
            self._report(order, "4", "4", orig=orig, text=report.text)
            self._forget(order)
        elif report.status == "rejected":
            self._report(order, "8", "8", text=report.text)
            self._forget(order)

    def _forget(self, order: _Order) -> None:
        with self._lock:
            self._orders.pop(order.request.client_order_id, None)

    def _report(
        self,
        order: _Order,
        exec_type: str,
        ord_status: str,
        *,
        text: str | None = None,
        orig: str | None = None,
        last: tuple[float, float] | None = None,
    ) -> None:
        body: list[tuple[int, str | int | float]] = [
            (Tag.OrderID, order.order_id),
            (Tag.ClOrdID, order.cl_ord_id),
        ]
        if orig:
            body.append((Tag.OrigClOrdID, orig))
        body += [
            (Tag.ExecID, f"X{next(self._ids)}"),
            (Tag.ExecType, exec_type),
            (Tag.OrdStatus, ord_status),
            (Tag.Account, order.account),
            (Tag.Symbol, order.symbol),
            (Tag.Side, SIDES[order.request.side]),
            (Tag.OrderQty, float(order.request.qty)),
        ]
        if last is not None:
            body += [(Tag.LastShares, float(last[0])), (Tag.LastPx, float(last[1]))]
        leaves = 0.0 if ord_status in ("2", "4", "8") else order.request.qty - order.cum_qty
        body += [
            (Tag.LeavesQty, float(leaves)),
            (Tag.CumQty, float(order.cum_qty)),
            (Tag.AvgPx, float(order.avg_px)),
            (Tag.TransactTime, timestamp()),
        ]
        if text:
            body.append((Tag.Text, text))
        self._send("8", body)

    def _send(self, msg_type: str, body: list[tuple[int, str | int | float]]) -> None:
        session = self.session
        if session is None or session.state != "active":
            log.info("not logged on: a %s message is dropped", msg_type)
            return
        session.send(msg_type, body)

    # -- market data --------------------------------------------------------------------------

    def _subscribe(self, session: Session, message: Message) -> None:
        req_id = message.get(Tag.MDReqID) or ""
        symbols = [g.get(Tag.Symbol, "") for g in message.groups(Tag.NoRelatedSym, Tag.Symbol)]
        for symbol in symbols:
            quote = self.market.quotes.get(symbol).quote
            if symbol not in self.market.symbols:
                self._send(
                    "Y",
                    [
                        (Tag.MDReqID, req_id),
                        (Tag.MDReqRejReason, "0"),
                        (Tag.Text, f"Unknown symbol {symbol}"),
                    ],
                )
                continue
            with self._lock:
                self._subscribed[symbol] = req_id
            body: list[tuple[int, str | int | float]] = [
                (Tag.MDReqID, req_id),
                (Tag.Symbol, symbol),
            ]
            entries = (
                []
                if quote is None
                else [("0", quote.bid, quote.bid_size), ("1", quote.ask, quote.ask_size)]
            )
            body.append((Tag.NoMDEntries, str(len(entries))))
            for kind, price, size in entries:
                body += [
                    (Tag.MDEntryType, kind),
                    (Tag.MDEntryPx, float(price)),
                    (Tag.MDEntrySize, float(size)),
                ]
            self._send("W", body)

    def _on_tick(self, tick: Tick) -> None:
        with self._lock:
            req_id = self._subscribed.get(tick.symbol)
        if req_id is None:
            return
        if isinstance(tick, Quote):
            entries = [("0", tick.bid, tick.bid_size), ("1", tick.ask, tick.ask_size)]
        elif isinstance(tick, Trade):
            entries = [("2", tick.price, tick.size)]
        else:
            return
        body: list[tuple[int, str | int | float]] = [
            (Tag.MDReqID, req_id),
            (Tag.NoMDEntries, str(len(entries))),
        ]
        for kind, price, size in entries:
            body += [
                (Tag.MDUpdateAction, "0"),
                (Tag.MDEntryType, kind),
                (Tag.Symbol, tick.symbol),
                (Tag.MDEntryPx, float(price)),
                (Tag.MDEntrySize, float(size)),
            ]
        self._send("X", body)


def _price(text: str | None) -> float | None:
    return None if text is None else float(text)


def _seconds(text: str) -> float:
    value = parse_timestamp(text)
    if value is None:
        raise ValueError(f"ExpireTime {text!r} is not a UTCTimestamp")
    return value


def register(commands: Any) -> None:
    """Add ``fix-venue`` to the ``gateway`` command line."""
    venue = commands.add_parser(
        "fix-venue", help="run a FIX 4.4 venue simulator (paper venue behind a FIX acceptor)"
    )
    venue.add_argument("config", help="a gateway YAML with market data and a paper venue")
    venue.add_argument("--listen", default="127.0.0.1:9878", help="HOST:PORT to accept on")
    venue.add_argument("--sender-comp-id", default="VENUE", help="the simulator's comp id")
    venue.add_argument("--target-comp-id", default="GATEWAY", help="the gateway's comp id")
    venue.add_argument(
        "--password-env",
        default="FIX_PASSWORD",
        help="environment variable holding the Logon password (unset: the demo's 'demo')",
    )
    venue.add_argument("--venue", default=None, help="the paper connector (default: trading.venue)")
    venue.set_defaults(func=run)


class VenueServer:
    """A configuration's market data and paper venue behind a FIX acceptor."""

    def __init__(
        self,
        config: Any,
        listen: tuple[str, int],
        comp_ids: tuple[str, str] = ("VENUE", "GATEWAY"),
        password: str | None = None,
        venue: str | None = None,
    ) -> None:
        """Build (nothing runs before :meth:`start`); ValueError if ``config`` cannot serve."""
        from gateway.app import build
        from gateway.market.setup import feeds_of

        gateway = build(config)
        self.services = gateway.services
        paper = self.services.connectors.get(venue or config.trading.venue or "")
        if paper is None or getattr(paper, "kind", None) != "paper" or not self.services.market:
            raise ValueError("needs market data and a paper connector (--venue NAME)")
        self.market = self.services.market
        self.feeds = feeds_of(config, self.services.connectors)
        self._running = list({id(c): c for c in [*self.feeds, paper]}.values())
        settings = SessionSettings(sender_comp_id=comp_ids[0], target_comp_id=comp_ids[1])
        self.app = Venue(paper, self.market, password)
        store = SessionLog(self.services.database, settings.session_id)
        self.session = Session(settings, store, self.app)
        self.app.session = self.session
        self.acceptor = Acceptor(self.session, *listen)
        self.port = self.acceptor.port

    def start(self) -> None:
        """Start the market data, the paper venue and the acceptor."""
        self.market.attach(self.feeds)
        for connector in self._running:
            connector.start()
        self.market.start(self.feeds)
        self.acceptor.start()

    def stop(self) -> None:
        """Log out and stop everything."""
        self.acceptor.stop()
        self.market.stop()
        for connector in self._running:
            connector.stop()
        self.services.database.dispose()


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM."""
    from gateway.config.loader import ConfigError, load_config
    from gateway.logs import configure_logging

    configure_logging()
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc)
        return 1
    host, _, port = args.listen.rpartition(":")
    try:
        server = VenueServer(
            config,
            (host or "127.0.0.1", int(port)),
            (args.sender_comp_id, args.target_comp_id),
            os.environ.get(args.password_env, "demo"),
            args.venue,
        )
    except (ValueError, OSError) as exc:
        print(f"{args.config}: {exc}")
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(f"fix-venue: accepting {args.target_comp_id} on {host}:{server.port}", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


__all__ = ["Venue", "VenueServer", "register", "run"]
