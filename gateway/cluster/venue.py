"""The venue of a cluster: orders are worked in one process, the feeds' owner.

A venue that keeps working orders in memory (the paper venue) must not run in every process:
each would work, and fill, the same resting order, and a cancel reaching another process would
find nothing to cancel. In a cluster the core wraps it: the feeds' owner runs a fresh instance,
hands it the working orders from the store and carries out what the other processes relay to it
through the store (``gateway.store.relay``); on losing the lease it stops and forgets. Its
reports are booked by its own trading core, whose changes the bus carries to the others.

Connectors that elect their own process (``single_process``, such as fix) are not wrapped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from gateway.plugins.records import (
    OrderChange,
    OrderRequest,
    dump_record,
)
from gateway.plugins.roles import BracketVenue, ExecutionSink, HealthReporting
from gateway.store import relay_server
from gateway.store.relay import Relay

log = logging.getLogger("gateway.cluster")

TAKE_WITHIN = 2.0
"""Seconds a relayed request waits to be taken before it is withdrawn (no owner alive)."""
ANSWER_WITHIN = 10.0
"""Seconds a taken request waits for the venue's answer."""


class OwnedVenue:
    """An execution connector run by the feeds' owner only; the others relay to it."""

    def __init__(self, name: str, make: Callable[[], Any], relay: Relay, prototype: Any) -> None:
        """Wrap the venue ``make`` makes a fresh instance of.

        ``prototype``, an instance never started, says what the venue can do (brackets).
        """
        self.name = name
        self._make = make
        self.relay = relay
        self._sinks: list[ExecutionSink] = []
        self._inner: Any = None
        self.owning = False
        self._brackets = isinstance(prototype, BracketVenue) and prototype.works_brackets()
        self._stopping = threading.Event()
        self._server: threading.Thread | None = None
        self._recovered: frozenset[str] = frozenset()

    # -- what the trading core calls ---------------------------------------------------------

    def subscribe(self, sink: ExecutionSink) -> None:
        """Reports of the instance this process may run go to ``sink``."""
        self._sinks.append(sink)

    def works_brackets(self) -> bool:
        """Whether the wrapped venue works brackets itself."""
        return self._brackets

    def place(self, order: OrderRequest) -> str:
        """Place at the venue, here or through the owner."""
        inner = self._here()
        if inner is not None:
            return self._place_here(inner, order, lambda: str(inner.place(order)))
        return self._relay("place", {"order": dump_record(order)})

    def place_bracket(self, parent: OrderRequest, legs: Sequence[OrderRequest]) -> str:
        """Place an order with its brackets, here or through the owner."""
        inner = self._here()
        if inner is not None:
            return self._place_here(inner, parent, lambda: str(inner.place_bracket(parent, legs)))
        payload = {"parent": dump_record(parent), "legs": [dump_record(leg) for leg in legs]}
        return self._relay("place_bracket", payload)

    def modify(self, client_order_id: str, change: OrderChange) -> None:
        """Change a working order, here or through the owner."""
        inner = self._here()
        if inner is not None:
            inner.modify(client_order_id, change)
        else:
            self._relay("modify", {"id": client_order_id, "change": dump_record(change)})

    def cancel(self, client_order_id: str) -> None:
        """Cancel a working order, here or through the owner."""
        inner = self._here()
        if inner is not None:
            inner.cancel(client_order_id)
        else:
            self._relay("cancel", {"id": client_order_id})

    def recover(self, orders: Sequence[OrderRequest]) -> None:
        """The owner's instance works ``orders`` again; elsewhere there is nothing to do."""
        inner = self._here()
        if inner is not None:
            inner.recover(orders)

    # -- the connector's life: ownership decides, not start() --------------------------------

    def start(self) -> None:
        """Nothing: the instance starts when this process takes the feeds' lease (:meth:`gain`)."""

    def stop(self) -> None:
        """Stop the instance, if this process runs it."""
        self.lose()

    def health(self) -> tuple[bool, str]:
        """For ``/readyz``: the running instance's health, or standby."""
        inner = self._inner
        if not self.owning or inner is None:
            return True, "standby: another gateway process works the orders"
        if isinstance(inner, HealthReporting):
            return inner.health()
        return True, "working orders"

    def gain(self, working: Sequence[OrderRequest]) -> None:
        """Run the venue in this process now: a fresh instance, working ``working``."""
        inner = self._make()
        for sink in self._sinks:
            inner.subscribe(sink)
        inner.start()
        inner.recover(working)
        self._recovered = frozenset(order.client_order_id for order in working)
        self._inner = inner
        self.owning = True
        self._stopping = stopping = threading.Event()
        self._server = threading.Thread(
            target=self._serve, args=(stopping,), name=f"venue-relay:{self.name}", daemon=True
        )
        self._server.start()
        log.info("%s: this process works the orders now (%d recovered)", self.name, len(working))

    def lose(self) -> None:
        """Another process may run the venue: stop and forget this instance."""
        self.owning = False
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None and server is not threading.current_thread():
            server.join(timeout=10)
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.stop()

    # -- relaying ----------------------------------------------------------------------------

    def _here(self) -> Any:
        return self._inner if self.owning else None

    def _place_here(self, inner: Any, order: OrderRequest, place: Callable[[], str]) -> str:
        # An order stored just before this process took the venue over was among the working
        # orders it recovered; its placement, arriving now (relayed, or from this process's
        # own core), is already done. (Its venue id is not known here; the core does not use
        # what place() returns.)
        if order.client_order_id in self._recovered:
            return order.client_order_id
        return place()

    def _relay(self, kind: str, payload: dict[str, Any]) -> str:
        return relay_server.ask(
            self.relay,
            kind,
            payload,
            take_within=TAKE_WITHIN,
            answer_within=ANSWER_WITHIN,
            unavailable="The trading venue is not available right now (no gateway process runs "
            "it). Please try again in a moment.",
        )

    def _serve(self, stopping: threading.Event) -> None:
        # Carried out on this object: an order recovered at the takeover is not placed twice,
        # and a request still running when the venue moves on is relayed to the new owner.
        relay_server.serve(
            self.relay,
            self,
            stopping,
            name=self.name,
            failure="The trading venue could not take the request.",
        )
