"""The order lifecycle of managed mode, independent of HTTP and of any venue.

Every command and every venue report is one transaction on the account (see ``ledger``):
orders are durably stored before the caller hears ``ok``, and concurrent changes of the same
order are serialized. What a change asks of the venue (place activated brackets, cancel an OCO
sibling, resize a bracket) is collected as :class:`Effects` and sent after the commit, never
while the account is locked: a venue may report synchronously from inside ``place``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence

from gateway.config.accounts import Account
from gateway.errors import ApiError
from gateway.plugins.records import ExecutionReport, OrderChange, OrderRequest, Rejected
from gateway.plugins.roles import BracketVenue, Execution
from gateway.trading.accounting import Accounting, chosen_leverage
from gateway.trading.brackets import BracketBook
from gateway.trading.events import Changes
from gateway.trading.ledger import Ledger, Tx, dump_fields, load_fields
from gateway.trading.model import (
    EPSILON,
    BracketSpec,
    Effects,
    Order,
    OrderEdit,
    OrderSpec,
    Position,
    opposite,
    tidy,
)
from gateway.trading.money import Prices
from gateway.trading.positions import Mode, apply_fill

log = logging.getLogger("gateway.trading")


def mode_of(account: Account) -> Mode:
    """The position model an account's flags ask for."""
    if account.flags.support_position_netting:
        return "netting"
    if account.flags.support_multiposition:
        return "hedge"
    return "net"


class TradingEngine:
    """Commands from the API, reports from the venue, one store."""

    def __init__(
        self,
        accounts: Mapping[str, Account],
        ledger: Ledger,
        prices: Prices,
        accounting: Accounting,
        venue: Execution,
        changes: Changes,
    ) -> None:
        self.accounts = dict(accounts)
        self.ledger = ledger
        self.prices = prices
        self.accounting = accounting
        self.venue = venue
        self.changes = changes
        self.brackets = BracketBook()
        self.native_brackets = isinstance(venue, BracketVenue) and venue.works_brackets()
        """Brackets placed with their order go to the venue with it (``BracketVenue``)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._attached = False
        self.maintains: Callable[[], bool] = lambda: True
        """Whether this process moves trailing stops now. In a cluster one process does (the
        feeds' owner): each would otherwise send the same move to the venue."""

    # -- lifecycle -----------------------------------------------------------------------

    def attach(self) -> None:
        """Listen to the venue: before it starts, so that no report of its first moments is lost.

        A venue that reconnects to an upstream may receive reports (a fill that happened while
        the gateway was down) as soon as it is started, before :meth:`start` runs.
        """
        if not self._attached:
            self.ledger.ensure_accounts()
            self.venue.subscribe(self)
            self._attached = True

    def start(self, trail_interval: float = 0.5) -> None:
        """Hand the venue back what it should be working, start trailing (attached first)."""
        self.attach()
        working = self.ledger.working_everywhere()
        self.venue.recover([self._request(o) for o in working])  # a cluster's owner only
        self._mark_at_venue([o for o in working if not o.at_venue])
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._maintain, args=(trail_interval,), name="trading-maintenance", daemon=True
        )
        self._thread.start()

    def working_requests(self) -> list[OrderRequest]:
        """Every order the venue should be working, as it was handed to it."""
        return [self._request(o) for o in self.ledger.working_everywhere()]

    def stop(self) -> None:
        """Stop the maintenance thread and wake the streams."""
        self._stop.set()
        self.changes.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _mark_at_venue(self, orders: list[Order]) -> None:
        for order in orders:
            with self.ledger.account(order.account_id) as tx:
                fresh = tx.order(order.id)
                if fresh is not None and not fresh.is_final:
                    tx.update_order(fresh, at_venue=True, status="working")
            self.changes.touch(order.account_id)

    def _maintain(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if not self.maintains():
                continue
            try:
                self.trail()
            except Exception:
                log.exception("moving trailing stops failed")

    # -- commands --------------------------------------------------------------------------

    def place(self, account: Account, spec: OrderSpec, request_id: str | None = None) -> Order:
        """Store a new order with its brackets, then hand it to the venue.

        A retried request (same ``requestId``) returns the first order and changes nothing.
        """
        with self.ledger.account(account.id) as tx:
            if request_id is not None:
                earlier = tx.order_by_request(request_id)
                if earlier is not None:
                    if earlier.status == "rejected":
                        raise ApiError("rejected", reason=earlier.message or "refused")
                    return earlier
            self._check_funds(tx, account, spec)
            parent = tx.insert_order(
                instrument=spec.instrument,
                side=spec.side,
                type=spec.type,
                qty=spec.qty,
                limit_price=spec.limit_price,
                stop_price=spec.stop_price,
                duration_type=spec.duration_type,
                duration_datetime=spec.duration_datetime,
                custom_fields=dump_fields(spec.custom_fields),
                request_id=request_id,
                status="placing",
            )
            native = self.native_brackets and bool(spec.brackets)
            legs = self.brackets.create(tx, parent, spec.brackets, native=native)
        self.changes.touch(account.id)
        self._submit(parent, legs if native else ())
        with self.ledger.read(account.id) as tx:
            found = tx.order(parent.id)
        assert found is not None
        if found.status == "rejected":
            raise ApiError("rejected", reason=found.message or "refused by the venue")
        return found

    def modify(self, account: Account, order_id: int, edit: OrderEdit) -> None:
        """Change price, quantity, duration or brackets of an open order.

        The new values are stored before the venue hears of them (a venue may fill the
        modified order at once, and the fill must find them); a refusal restores the old ones.
        """
        with self.ledger.account(account.id) as tx:
            order = self._open_order(tx, order_id)
            if edit.qty < order.filled_qty + EPSILON:
                raise ApiError(
                    "invalid_field", field="qty", reason="must be more than the filled quantity"
                )
            old = Order(**vars(order))
            changes: dict[str, object] = {
                "qty": edit.qty,
                "duration_type": edit.duration_type or order.duration_type,
                "duration_datetime": edit.duration_datetime or order.duration_datetime,
            }
            if order.type in ("limit", "stoplimit") and edit.limit_price is not None:
                changes["limit_price"] = edit.limit_price
            if order.type in ("stop", "stoplimit") and edit.stop_price is not None:
                changes["stop_price"] = edit.stop_price
            if edit.custom_fields:
                merged = load_fields(order.custom_fields) | dict(edit.custom_fields)
                changes["custom_fields"] = dump_fields(sorted(merged.items()))
            tx.update_order(order, **changes)
            legs = Effects()
            if order.bracket is None:
                legs = self.brackets.follow_parent(tx, order)
        self.changes.touch(account.id)
        moved = (order.qty, order.limit_price, order.stop_price) != (
            old.qty,
            old.limit_price,
            old.stop_price,
        )
        if order.at_venue and moved:
            try:
                self.venue.modify(
                    str(order.id),
                    OrderChange(
                        qty=order.qty if order.qty != old.qty else None,
                        limit_price=order.limit_price
                        if order.limit_price != old.limit_price
                        else None,
                        stop_price=order.stop_price if order.stop_price != old.stop_price else None,
                    ),
                )
            except Rejected as exc:
                with self.ledger.account(account.id) as tx:
                    fresh = tx.order(order.id)
                    if fresh is not None and not fresh.is_final:
                        tx.update_order(
                            fresh,
                            qty=old.qty,
                            limit_price=old.limit_price,
                            stop_price=old.stop_price,
                            duration_type=old.duration_type,
                            duration_datetime=old.duration_datetime,
                            custom_fields=old.custom_fields,
                        )
                        self.brackets.follow_parent(tx, fresh)
                self.changes.touch(account.id)
                raise ApiError("rejected", reason=exc.message) from None
        self._apply(legs)
        if edit.brackets is None or order.bracket is not None:
            return
        with self.ledger.account(account.id) as tx:
            fresh = tx.order(order.id)
            if fresh is None:
                return
            effects = self.brackets.replace(tx, fresh, edit.brackets)
        self.changes.touch(account.id)
        self._apply(effects)

    def cancel(self, account: Account, order_id: int) -> None:
        """Cancel an open order; its brackets go with it unless it already filled in part."""
        with self.ledger.account(account.id) as tx:
            order = self._open_order(tx, order_id)
            at_venue = order.at_venue
            if not at_venue:
                tx.update_order(order, status="cancelled")
                self.brackets.parent_ended(tx, order)
        self.changes.touch(account.id)
        if at_venue:
            try:
                self.venue.cancel(str(order_id))
            except Rejected as exc:
                raise ApiError("rejected", reason=exc.message) from None

    def modify_position(
        self,
        account: Account,
        position_id: int,
        brackets: tuple[BracketSpec, ...] | None,
        side: str | None,
    ) -> None:
        """Set a position's brackets, or reverse it (``side`` opposite to the position)."""
        effects = Effects()
        with self.ledger.account(account.id) as tx:
            position = self._open_position(tx, position_id)
            if side is not None and side != position.side:
                reverse = True
            else:
                reverse = False
                if brackets is not None:
                    effects.merge(self.brackets.set_for_position(tx, position, brackets))
        self.changes.touch(account.id)
        self._apply(effects)
        if reverse:
            self._market(account, position, 2 * position.qty, link=True)

    def close_position(self, account: Account, position_id: int, amount: float | None) -> None:
        """Close a position (or ``amount`` of it) with a market order linked to it."""
        with self.ledger.read(account.id) as tx:
            position = self._open_position(tx, position_id)
        qty = position.qty if amount is None else amount
        if qty <= 0 or qty > position.qty + EPSILON:
            raise ApiError("close_amount", qty=_num(position.qty))
        self._market(account, position, min(qty, position.qty), link=True)

    def close_instrument(self, account: Account, instrument: str) -> None:
        """Close every position of an instrument (a net position)."""
        with self.ledger.read(account.id) as tx:
            held = tx.open_positions(instrument)
        if not held:
            raise ApiError("unknown_position", position=instrument)
        for position in held:
            self._market(account, position, position.qty, link=True)

    def _market(self, account: Account, position: Position, qty: float, link: bool) -> None:
        with self.ledger.account(account.id) as tx:
            order = tx.insert_order(
                instrument=position.instrument,
                side=opposite(position.side),
                type="market",
                qty=qty,
                position_id=position.id if link else None,
                status="placing",
            )
        self.changes.touch(account.id)
        self._submit(order)
        with self.ledger.read(account.id) as tx:
            found = tx.order(order.id)
        if found is not None and found.status == "rejected":
            raise ApiError("rejected", reason=found.message or "refused by the venue")

    # -- venue reports (the ExecutionSink) -------------------------------------------------

    def report(self, report: ExecutionReport) -> None:
        """Apply what the venue says happened; duplicates and late reports change nothing."""
        try:
            order_id = int(report.client_order_id)
        except ValueError:
            log.warning("report for an order id the gateway never issued: %r", report)
            return
        account_id = self.ledger.order_account(order_id)
        if account_id is None or account_id not in self.accounts:
            log.warning("report for unknown order %s", order_id)
            return
        account = self.accounts[account_id]
        effects = Effects()
        with self.ledger.account(account_id) as tx:
            order = tx.order(order_id)
            if order is None or order.is_final:
                return
            if report.filled_qty > order.filled_qty + EPSILON:
                effects.merge(self._fill(tx, account, order, report))
            elif report.status == "working" and order.status == "placing":
                tx.update_order(order, status="working", at_venue=True)
            if report.status in ("cancelled", "rejected") and not order.is_final:
                tx.update_order(
                    order,
                    status=report.status,
                    message=report.text,
                    message_type="information" if report.status == "cancelled" else "error",
                )
                effects.merge(self.brackets.parent_ended(tx, order))
        self.changes.touch(account_id)
        self._apply(effects)

    def _fill(self, tx: Tx, account: Account, order: Order, report: ExecutionReport) -> Effects:
        qty = tidy(report.filled_qty - order.filled_qty)
        price = self._fill_price(order, report, qty)
        priced = self.prices.priced(order.instrument)
        result = apply_fill(tx, mode_of(account), order, qty, price, priced.multiplier)
        realized = self.prices.to_account(order.instrument, result.realized, account.currency)
        commission = (
            self.prices.to_account(order.instrument, report.commission, account.currency)
            if report.commission
            else None
        )
        tx.insert_execution(
            order_id=order.id,
            position_id=result.position_id,
            instrument=order.instrument,
            side=order.side,
            qty=qty,
            price=price,
            time=report.time or tx.now,
            is_close=result.is_close,
            commission=commission,
            realized_pl=realized,
        )
        tx.add_to_balance(realized - (commission or 0.0), realized)
        filled = tidy(order.filled_qty + qty)
        avg = ((order.avg_price or 0.0) * order.filled_qty + price * qty) / filled
        status = "filled" if filled >= order.qty - EPSILON else order.status
        if status == "placing":
            status = "working"
        tx.update_order(order, filled_qty=filled, avg_price=avg, status=status, at_venue=True)
        return self.brackets.after_fill(tx, account, order, result)

    @staticmethod
    def _fill_price(order: Order, report: ExecutionReport, qty: float) -> float:
        if report.last_price is not None and (
            report.last_qty is None or abs(report.last_qty - qty) <= EPSILON
        ):
            return report.last_price
        if report.avg_price is not None:
            # Reports were missed: the part not yet booked filled at the average that makes
            # the venue's cumulative average come out right.
            booked = (order.avg_price or 0.0) * order.filled_qty
            return (report.avg_price * report.filled_qty - booked) / qty
        if report.last_price is not None:
            return report.last_price
        raise ValueError(f"fill of order {order.id} without a price")

    # -- talking to the venue ----------------------------------------------------------------

    def _request(self, order: Order) -> OrderRequest:
        return OrderRequest(
            client_order_id=str(order.id),
            account_id=order.account_id,
            instrument=order.instrument,
            side="buy" if order.side == "buy" else "sell",
            type=order.type,  # type: ignore[arg-type]
            qty=order.qty,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            duration_type=order.duration_type,
            duration_datetime=order.duration_datetime,
            custom_fields=load_fields(order.custom_fields),
            guaranteed=order.guaranteed,
            filled_qty=order.filled_qty,
        )

    def _submit(self, order: Order, legs: Sequence[Order] = ()) -> None:
        """Hand a stored order to the venue; a refusal makes it rejected.

        ``legs``: its native brackets, handed over with it; they stay inactive here until the
        parent fills, but the venue holds them.
        """
        try:
            if legs:
                assert isinstance(self.venue, BracketVenue)
                self.venue.place_bracket(self._request(order), [self._request(b) for b in legs])
            else:
                self.venue.place(self._request(order))
        except Rejected as exc:
            effects = Effects()
            with self.ledger.account(order.account_id) as tx:
                fresh = tx.order(order.id)
                if fresh is not None and not fresh.is_final:
                    tx.update_order(
                        fresh, status="rejected", message=exc.message, message_type="error"
                    )
                    effects = self.brackets.parent_ended(tx, fresh)
            self.changes.touch(order.account_id)
            self._apply(effects)
            return
        with self.ledger.account(order.account_id) as tx:
            fresh = tx.order(order.id)
            if fresh is not None and not fresh.at_venue:
                tx.update_order(
                    fresh,
                    at_venue=True,
                    status="working" if fresh.status == "placing" else fresh.status,
                )
            for leg in legs:
                # Marked unless a report already settled it (the parent filled at once).
                current = tx.order(leg.id)
                if current is not None and not current.is_final and not current.at_venue:
                    tx.update_order(current, at_venue=True)
        self.changes.touch(order.account_id)

    def _apply(self, effects: Effects) -> None:
        for order_id in effects.place:
            order = self._load(order_id)
            if order is not None and not order.is_final and not order.at_venue:
                self._submit(order)
        for order_id in effects.cancel:
            try:
                self.venue.cancel(str(order_id))
            except Rejected as exc:
                log.info("venue did not cancel order %s: %s", order_id, exc.message)
        for order_id in effects.modify_qty + effects.modify_price:
            order = self._load(order_id)
            if order is None or order.is_final or not order.at_venue:
                continue
            change = OrderChange(
                qty=order.qty,
                limit_price=order.limit_price if order.type in ("limit", "stoplimit") else None,
                stop_price=order.stop_price if order.type in ("stop", "stoplimit") else None,
            )
            try:
                self.venue.modify(str(order_id), change)
            except Rejected as exc:
                log.info("venue did not modify order %s: %s", order_id, exc.message)

    def _load(self, order_id: int) -> Order | None:
        account_id = self.ledger.order_account(order_id)
        if account_id is None:
            return None
        with self.ledger.read(account_id) as tx:
            return tx.order(order_id)

    # -- trailing stops ------------------------------------------------------------------------

    def trail(self) -> None:
        """Move working trailing stops behind the market (never back)."""
        for order in self.brackets.trailing(self.ledger):
            sides = self.prices.sides(order.instrument)
            if sides is None or order.trailing_pips is None:
                continue
            distance = (
                order.trailing_pips * self.prices.priced(order.instrument).instrument.pip_size
            )
            tick = self._tick(order.instrument)
            bid, ask = sides
            if order.side == "sell":
                target = _to_tick(bid - distance, tick)
                better = order.stop_price is None or target > order.stop_price + tick / 2
            else:
                target = _to_tick(ask + distance, tick)
                better = order.stop_price is None or target < order.stop_price - tick / 2
            if not better:
                continue
            with self.ledger.account(order.account_id) as tx:
                fresh = tx.order(order.id)
                if fresh is None or fresh.is_final:
                    continue
                tx.update_order(fresh, stop_price=target)
            self.changes.touch(order.account_id)
            self._apply(Effects(modify_price=[order.id]))

    # -- checks ----------------------------------------------------------------------------------

    def _tick(self, instrument: str) -> float:
        return self.prices.priced(instrument).instrument.min_tick

    def _open_order(self, tx: Tx, order_id: int) -> Order:
        order = tx.order(order_id)
        if order is None:
            raise ApiError("unknown_order", order=order_id)
        if order.is_final:
            raise ApiError("order_final", order=order_id, state=order.status)
        return order

    def _open_position(self, tx: Tx, position_id: int) -> Position:
        position = tx.position(position_id)
        if position is None or position.closed_at is not None:
            raise ApiError("unknown_position", position=position_id)
        return position

    def _check_funds(self, tx: Tx, account: Account, spec: OrderSpec) -> None:
        """Refuse an order whose new exposure needs more margin than is available."""
        sides = self.prices.sides(spec.instrument)
        price = spec.limit_price or spec.stop_price
        if price is None:
            if sides is None:
                raise ApiError("no_price", instrument=spec.instrument)
            price = sides[1] if spec.side == "buy" else sides[0]
        base = self.prices.priced(spec.instrument).instrument.base_currency
        if account.flags.support_balances and base:
            self._check_holdings(tx, account, spec, price, base)
        held = sum(
            p.qty if p.side != spec.side else 0.0 for p in tx.open_positions(spec.instrument)
        )
        if mode_of(account) == "hedge":
            held = 0.0  # a hedging order opens its own position
        opening = max(spec.qty - held, 0.0)
        if opening <= EPSILON:
            return
        positions = tx.open_positions()
        balance = self.ledger.balance(tx.conn, account.id)
        snap = self.accounting.snapshot(tx.conn, account, balance, positions, ())
        required = self.accounting.margin(
            spec.instrument,
            spec.side,
            opening,
            price,
            account,
            chosen_leverage(tx.conn, account.id),
        )
        if required > snap.margin_available + 1e-6:
            raise ApiError(
                "insufficient_margin",
                required=_money(required),
                available=_money(max(snap.margin_available, 0.0)),
                currency=account.currency or "",
            )

    def _check_holdings(
        self, tx: Tx, account: Account, spec: OrderSpec, price: float, base: str
    ) -> None:
        """A crypto-spot account (``supportBalances``) trades what it holds.

        A sell needs the coins (less those working sells already promise); a buy needs the
        cash, the balance less the cost of the coins held and what working buys promise. The
        same figures as ``/balances``.
        """
        working = [o for o in tx.open_orders(spec.instrument) if o.bracket is None]
        positions = tx.open_positions(spec.instrument)
        if spec.side == "sell":
            held = sum(p.qty for p in positions if p.side == "buy")
            promised = sum(o.remaining for o in working if o.side == "sell")
            available = held - promised
            if spec.qty > available + EPSILON:
                raise ApiError(
                    "insufficient_funds",
                    currency=base,
                    required=_num(spec.qty),
                    available=_num(max(available, 0.0)),
                )
            return
        balance, _ = self.ledger.balance(tx.conn, account.id)
        cost = sum(
            self.prices.to_account(p.instrument, p.qty * p.avg_price, account.currency)
            for p in tx.open_positions()
            if p.side == "buy" and self.prices.priced(p.instrument).instrument.base_currency
        )
        promised = sum(
            self.prices.to_account(
                o.instrument,
                o.remaining * (o.limit_price or o.stop_price or price),
                account.currency,
            )
            for o in tx.open_orders()
            if o.bracket is None
            and o.side == "buy"
            and self.prices.priced(o.instrument).instrument.base_currency
        )
        cash = balance - cost - promised
        needed = self.prices.to_account(spec.instrument, spec.qty * price, account.currency)
        if needed > cash + 1e-6:
            raise ApiError(
                "insufficient_funds",
                currency=account.currency or "",
                required=_money(needed),
                available=_money(max(cash, 0.0)),
            )


def _to_tick(price: float, tick: float) -> float:
    return round(round(price / tick) * tick, 10)


def _num(value: float) -> str:
    return f"{value:g}"


def _money(value: float) -> str:
    return f"{value:,.2f}"
