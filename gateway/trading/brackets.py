"""Brackets: take-profit and stop-loss orders attached to an order or a position.

The rules (spec §9.5): brackets of an unfilled order are ``inactive``; when the parent fills
they start ``working`` (one-sends-other), attached to the position when the account supports
position brackets, otherwise without a visible parent; the take-profit and stop-loss of one
parent are one-cancels-other, and a partial fill of one shrinks the other to what is left;
cancelling an unfilled parent cancels its brackets; closing a position cancels the brackets
that protect it.

Native brackets (``BracketVenue``): the legs went to the venue with their parent, and the
venue applies the rules of its own list (activation, one-cancels-other, cancelling with the
parent). The book then records what the rules mean for the account but asks the venue for
nothing the venue does itself: a leg it would cancel is left to the venue's report, since it
may be filling at that very moment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa

from gateway.config.accounts import Account
from gateway.store.tables import orders
from gateway.trading.ledger import Ledger, Tx
from gateway.trading.model import EPSILON, BracketSpec, Effects, Order, Position, opposite
from gateway.trading.positions import FillResult


def _fields(spec: BracketSpec) -> dict[str, object]:
    if spec.kind == "take_profit":
        return {"type": "limit", "limit_price": spec.price, "stop_price": None}
    return {
        "type": "stop",
        "stop_price": spec.price,
        "limit_price": None,
        "trailing_pips": spec.trailing_pips,
        "guaranteed": spec.guaranteed,
    }


def _end(tx: Tx, bracket: Order, effects: Effects) -> None:
    """Cancel a bracket: at once when the venue never saw it, else through the venue."""
    if bracket.at_venue:
        effects.cancel.append(bracket.id)
    else:
        tx.update_order(bracket, status="cancelled")


def _reconcile(
    tx: Tx,
    existing: Sequence[Order],
    wanted: Sequence[BracketSpec],
    effects: Effects,
    add: Callable[[BracketSpec], None],
) -> None:
    """Per kind (take-profit, stop-loss): cancel what is gone, move what stays, add what is new.

    A guaranteed stop and a plain one are different orders at a venue: one replaces the other.
    """
    for kind in ("take_profit", "stop_loss"):
        spec = next((s for s in wanted if s.kind == kind), None)
        have = [b for b in existing if b.bracket == kind]
        kept = [b for b in have if spec is not None and b.guaranteed == spec.guaranteed]
        kept_ids = {b.id for b in kept}
        for bracket in have:
            if bracket.id not in kept_ids:
                _end(tx, bracket, effects)
        if spec is None:
            continue
        for bracket in kept:
            fields = _fields(spec)
            if all(getattr(bracket, key) == value for key, value in fields.items()):
                continue  # unchanged: the venue need not hear of it
            tx.update_order(bracket, **fields)
            if bracket.at_venue:
                effects.modify_price.append(bracket.id)
        if not kept:
            add(spec)


class BracketBook:
    """The bracket rules, applied inside account transactions."""

    def create(
        self, tx: Tx, parent: Order, specs: Sequence[BracketSpec], native: bool = False
    ) -> list[Order]:
        """Inactive brackets of a new order (``native``: sent to the venue with it)."""
        return [
            tx.insert_order(
                instrument=parent.instrument,
                side=opposite(parent.side),
                qty=parent.qty,
                status="inactive",
                bracket=spec.kind,
                parent_id=parent.id,
                parent_type="order",
                native=native,
                **_fields(spec),
            )
            for spec in specs
        ]

    def follow_parent(self, tx: Tx, parent: Order) -> Effects:
        """Inactive brackets keep the parent's quantity when it is modified.

        Native ones are resized at the venue too, which holds them with the parent.
        """
        effects = Effects()
        for bracket in tx.brackets_of(parent.id):
            if bracket.status == "inactive" and abs(bracket.qty - parent.qty) > EPSILON:
                tx.update_order(bracket, qty=parent.qty)
                if bracket.native and bracket.at_venue:
                    effects.modify_qty.append(bracket.id)
        return effects

    def replace(self, tx: Tx, parent: Order, wanted: Sequence[BracketSpec]) -> Effects:
        """Make an order's brackets what a modifyOrder asks for (absent ones are cancelled)."""
        effects = self.follow_parent(tx, parent)

        def add(spec: BracketSpec) -> None:
            if parent.filled_qty <= EPSILON:
                self.create(tx, parent, [spec])
                return
            bracket = tx.insert_order(
                instrument=parent.instrument,
                side=opposite(parent.side),
                qty=parent.filled_qty,
                status="working",
                bracket=spec.kind,
                parent_id=parent.id,
                parent_type=None,
                position_id=parent.position_id,
                **_fields(spec),
            )
            effects.place.append(bracket.id)

        _reconcile(tx, tx.brackets_of(parent.id), wanted, effects, add)
        return effects

    def set_for_position(
        self, tx: Tx, position: Position, wanted: Sequence[BracketSpec]
    ) -> Effects:
        """Make a position's brackets what a modifyPosition asks for."""
        effects = Effects()

        def add(spec: BracketSpec) -> None:
            bracket = tx.insert_order(
                instrument=position.instrument,
                side=opposite(position.side),
                qty=position.qty,
                status="working",
                bracket=spec.kind,
                parent_type="position",
                position_id=position.id,
                **_fields(spec),
            )
            effects.place.append(bracket.id)

        _reconcile(tx, tx.position_brackets(position.id), wanted, effects, add)
        return effects

    def parent_ended(self, tx: Tx, order: Order) -> Effects:
        """An order was cancelled or rejected: its brackets go too.

        Unless it filled in part: then they keep protecting what was filled.
        """
        effects = Effects()
        if order.bracket is not None or order.filled_qty > EPSILON:
            return effects
        for bracket in tx.brackets_of(order.id):
            if bracket.native and bracket.status == "inactive":
                # The venue drops them with their parent; never active, they cannot fill.
                tx.update_order(bracket, status="cancelled")
            else:
                _end(tx, bracket, effects)
        return effects

    def after_fill(self, tx: Tx, account: Account, order: Order, result: FillResult) -> Effects:
        """What a fill of ``order`` (already booked) does to brackets."""
        effects = Effects()
        handled: set[int] = {order.id}
        if order.bracket is None:
            self._activate(tx, account, order, result, effects, handled)
        else:
            self._one_cancels_other(tx, order, effects, handled)
        for position in result.closed:
            for bracket in tx.position_brackets(position.id):
                if bracket.id not in handled:
                    handled.add(bracket.id)
                    _end(tx, bracket, effects)
        for position in result.reduced:
            for bracket in tx.position_brackets(position.id):
                if bracket.id not in handled and bracket.qty > position.qty + EPSILON:
                    tx.update_order(bracket, qty=position.qty)
                    effects.modify_qty.append(bracket.id)
        return effects

    def _activate(
        self,
        tx: Tx,
        account: Account,
        parent: Order,
        result: FillResult,
        effects: Effects,
        handled: set[int],
    ) -> None:
        brackets = tx.brackets_of(parent.id)
        holding = result.holding
        for bracket in brackets:
            handled.add(bracket.id)
            if holding is None:
                _end(tx, bracket, effects)  # the fill only closed positions: nothing to protect
                continue
            qty = min(parent.filled_qty, holding.qty)
            position_parent = account.flags.support_position_brackets
            changes: dict[str, object] = {
                "qty": qty,
                "status": "working",
                "position_id": holding.id,
                "parent_type": "position" if position_parent else None,
            }
            was_at_venue, old_qty = bracket.at_venue, bracket.qty
            tx.update_order(bracket, **changes)
            if bracket.native:
                continue  # the venue activates and sizes them itself
            if not was_at_venue:
                effects.place.append(bracket.id)
            elif abs(old_qty - qty) > EPSILON:
                effects.modify_qty.append(bracket.id)

    def _one_cancels_other(
        self, tx: Tx, bracket: Order, effects: Effects, handled: set[int]
    ) -> None:
        if bracket.parent_id is not None:
            group = tx.brackets_of(bracket.parent_id)
        elif bracket.position_id is not None:
            group = [b for b in tx.position_brackets(bracket.position_id) if b.parent_id is None]
        else:
            group = []
        for sibling in group:
            if sibling.id == bracket.id:
                continue
            handled.add(sibling.id)
            # Siblings of one native list: the venue cancels or resizes, and reports it.
            by_venue = bracket.native and sibling.native
            if bracket.is_final:
                if not by_venue:
                    _end(tx, sibling, effects)
            elif sibling.qty > bracket.remaining + EPSILON:
                tx.update_order(sibling, qty=bracket.remaining)
                if not by_venue:
                    effects.modify_qty.append(sibling.id)

    def trailing(self, ledger: Ledger) -> list[Order]:
        """Working trailing stops the venue holds, in every account."""
        with ledger.database.engine.connect() as conn:
            query = sa.select(orders).where(
                orders.c.status == "working",
                orders.c.trailing_pips.is_not(None),
                orders.c.at_venue.is_(True),
            )
            return [Order.from_row(r) for r in conn.execute(query)]
