"""Orders as FIX messages and execution reports back into the core's terms.

ClOrdID scheme: ``<prefix><order id>`` for a new order (and for each order of a bracket
list, whose ListID is the parent's ClOrdID), ``<prefix><order id>.<n>`` for its
n-th replace or cancel request. The gateway's order ids are unique in its store, and ``n`` is
kept in the session's store values, so ids never repeat across restarts, and every id leads
back to its order.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.fix._options import FixOptions
from connectors.fix._wire import Message, Tag, parse_timestamp, timestamp
from gateway.plugins.records import ExecutionReport, OrderChange, OrderRequest, ReportStatus

SIDES = {"buy": "1", "sell": "2"}
ORDER_TYPES = {"market": "1", "limit": "2", "stop": "3", "stoplimit": "4"}

_STATUS: Mapping[str, ReportStatus] = {
    "0": "working",  # New
    "A": "working",  # Pending New
    "E": "working",  # Pending Replace
    "6": "working",  # Pending Cancel
    "5": "working",  # Replaced (FIX 4.2 wording)
    "9": "working",  # Suspended
    "D": "working",  # Accepted for bidding
    "1": "partially_filled",
    "2": "filled",
    "3": "cancelled",  # Done for day
    "4": "cancelled",
    "C": "cancelled",  # Expired
    "8": "rejected",
}
"""OrdStatus (39) → the core's report status."""

_FINAL_WORDS = {"3": "Done for the day", "C": "Expired", "4": "Cancelled"}


@dataclass
class Working:
    """What the connector keeps of an order it sent: the request and its current ClOrdID."""

    request: OrderRequest
    cl_ord_id: str
    requests: int = 0
    """How many replace and cancel requests were sent (the ``n`` of the next ClOrdID)."""


class OrderMapper:
    """Builds order messages and reads execution reports for one upstream's conventions."""

    def __init__(self, options: FixOptions) -> None:
        """Keep the options (symbols, accounts, tags)."""
        self.options = options

    # -- ids --------------------------------------------------------------------------------

    def new_id(self, order_id: str) -> str:
        """The ClOrdID of a new order."""
        return f"{self.options.cl_ord_id_prefix}{order_id}"

    def next_id(self, working: Working) -> str:
        """The ClOrdID of the next replace or cancel request of an order."""
        working.requests += 1
        return (
            f"{self.options.cl_ord_id_prefix}{working.request.client_order_id}.{working.requests}"
        )

    def order_of(self, cl_ord_id: str | None) -> str | None:
        """The gateway's order id behind one of our ClOrdIDs; None for ids we never issued."""
        prefix = self.options.cl_ord_id_prefix
        if not cl_ord_id or not cl_ord_id.startswith(prefix):
            return None
        order_id = cl_ord_id[len(prefix) :].split(".", 1)[0]
        return order_id if order_id.isdigit() else None

    # -- outgoing ---------------------------------------------------------------------------

    def _instrument(self, request: OrderRequest) -> list[tuple[int, str | int | float]]:
        return [
            (self.options.account_tag, self.options.upstream_account(request.account_id)),
            (Tag.Symbol, self.options.upstream_symbol(request.instrument)),
            (Tag.Side, SIDES[request.side]),
        ]

    def _prices(self, request: OrderRequest) -> list[tuple[int, str | int | float]]:
        fields: list[tuple[int, str | int | float]] = [
            (Tag.OrderQty, float(request.qty)),
            (Tag.OrdType, ORDER_TYPES[request.type]),
        ]
        if request.type in ("limit", "stoplimit") and request.limit_price is not None:
            fields.append((Tag.Price, float(request.limit_price)))
        if request.type in ("stop", "stoplimit") and request.stop_price is not None:
            fields.append((Tag.StopPx, float(request.stop_price)))
        tif = self.options.time_in_force.get(request.duration_type or "")
        if tif is not None:
            fields.append((Tag.TimeInForce, tif))
            if tif == "6" and request.duration_datetime:
                fields.append((Tag.ExpireTime, timestamp(float(request.duration_datetime))))
        return fields

    def new_order(
        self, request: OrderRequest, cl_ord_id: str
    ) -> list[tuple[int, str | int | float]]:
        """The body of a NewOrderSingle (D)."""
        body: list[tuple[int, str | int | float]] = [(Tag.ClOrdID, cl_ord_id)]
        body += [(t.tag, t.value) for t in self.options.order_tags]
        body += self._instrument(request)
        body.append((Tag.TransactTime, timestamp(time.time())))
        body += self._prices(request)
        body += self._custom(request.custom_fields)
        return body

    def new_list(
        self, parent: OrderRequest, legs: Sequence[OrderRequest]
    ) -> list[tuple[int, str | int | float]]:
        """The body of a NewOrderList (E): an order and its brackets (native brackets).

        The list's id is the parent's ClOrdID; the parent is its first order (ListSeqNo 1)
        and each leg follows with its own ClOrdID, so that every report names one of the
        gateway's orders. How the orders hang together is told by ``bracket_list_tags``.
        """
        orders = (parent, *legs)
        body: list[tuple[int, str | int | float]] = [
            (Tag.ListID, self.new_id(parent.client_order_id)),
            (Tag.BidType, "3"),  # no bidding process
            *[(t.tag, t.value) for t in self.options.bracket_list_tags],
            (Tag.TotNoOrders, len(orders)),
            (Tag.NoOrders, len(orders)),
        ]
        now = timestamp(time.time())
        for number, order in enumerate(orders, 1):
            body += [(Tag.ClOrdID, self.new_id(order.client_order_id)), (Tag.ListSeqNo, number)]
            body += [(t.tag, t.value) for t in self.options.order_tags]
            body += self._instrument(order)
            body.append((Tag.TransactTime, now))
            body += self._prices(order)
            body += self._custom(order.custom_fields)
        return body

    def _custom(self, values: Mapping[str, str]) -> list[tuple[int, str | int | float]]:
        return [
            (tag, values[field_id])
            for field_id, tag in sorted(self.options.custom_fields.items())
            if values.get(field_id) not in (None, "")
        ]

    def replace(
        self, working: Working, change: OrderChange, cl_ord_id: str
    ) -> tuple[list[tuple[int, str | int | float]], OrderRequest]:
        """The body of an OrderCancelReplaceRequest (G) and the order as it will be."""
        old = working.request
        new = OrderRequest(
            client_order_id=old.client_order_id,
            account_id=old.account_id,
            instrument=old.instrument,
            side=old.side,
            type=old.type,
            qty=old.qty if change.qty is None else change.qty,
            limit_price=old.limit_price if change.limit_price is None else change.limit_price,
            stop_price=old.stop_price if change.stop_price is None else change.stop_price,
            duration_type=change.duration_type or old.duration_type,
            duration_datetime=change.duration_datetime or old.duration_datetime,
            custom_fields={**old.custom_fields, **change.custom_fields},
            guaranteed=old.guaranteed,
            filled_qty=old.filled_qty,
        )
        body: list[tuple[int, str | int | float]] = [
            (Tag.OrigClOrdID, working.cl_ord_id),
            (Tag.ClOrdID, cl_ord_id),
        ]
        body += [(t.tag, t.value) for t in self.options.order_tags]
        body += self._instrument(new)
        body.append((Tag.TransactTime, timestamp(time.time())))
        body += self._prices(new)
        body += self._custom(new.custom_fields)
        return body, new

    def cancel(self, working: Working, cl_ord_id: str) -> list[tuple[int, str | int | float]]:
        """The body of an OrderCancelRequest (F)."""
        request = working.request
        return [
            (Tag.OrigClOrdID, working.cl_ord_id),
            (Tag.ClOrdID, cl_ord_id),
            *self._instrument(request),
            (Tag.TransactTime, timestamp(time.time())),
            (Tag.OrderQty, float(request.qty)),
        ]

    # -- incoming ---------------------------------------------------------------------------

    def report(self, message: Message, order_id: str) -> ExecutionReport | None:
        """The core's report of an ExecutionReport (8); None when it says nothing new."""
        ord_status = message.get(Tag.OrdStatus, "") or ""
        exec_type = message.get(Tag.ExecType, "") or ""
        status = _STATUS.get(ord_status)
        if exec_type == "8":
            status = "rejected"
        if status is None:
            return None
        text = message.get(Tag.Text) or (
            _FINAL_WORDS.get(ord_status) if status == "cancelled" else None
        )
        if status == "rejected" and not text:
            text = "Rejected by the broker's order system"
        at = parse_timestamp(message.get(Tag.TransactTime)) or parse_timestamp(
            message.get(Tag.SendingTime)
        )
        fill = exec_type == "F"
        return ExecutionReport(
            client_order_id=order_id,
            status=status,
            time=at or time.time(),
            filled_qty=to_float(message.get(Tag.CumQty)) or 0.0,
            avg_price=to_float(message.get(Tag.AvgPx)),
            last_qty=to_float(message.get(Tag.LastShares)) if fill else None,
            last_price=to_float(message.get(Tag.LastPx)) if fill else None,
            text=text,
            venue_order_id=message.get(Tag.OrderID),
            commission=to_float(message.get(Tag.Commission)) if fill else None,
        )


def to_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None
