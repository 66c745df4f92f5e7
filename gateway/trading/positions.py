"""How a fill changes positions, in the three position models TradingView knows.

* ``net`` (default): one position per instrument; opposite fills reduce it, and a fill larger
  than the position closes it and opens a new one on the other side.
* ``hedge`` (``supportMultiposition``): every order opens its own position; an order linked to
  a position (a position bracket, a close) reduces that one.
* ``netting`` (``supportPositionNetting``): like ``hedge`` each order opens its own individual
  position, but opposite fills reduce the oldest individual positions first (first in, first
  out), so individual positions never face each other and the net position is their sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gateway.trading.ledger import Tx
from gateway.trading.model import EPSILON, Order, Position, direction, tidy

Mode = Literal["net", "hedge", "netting"]


@dataclass
class FillResult:
    """What one fill did to positions."""

    realized: float = 0.0
    """Realized P&L in the instrument's quote currency."""
    is_close: bool = False
    position_id: int | None = None
    """The position the fill opened, changed or closed (the execution's positionId)."""
    holding: Position | None = None
    """The open position on the order's side after the fill (what its brackets protect)."""
    closed: list[Position] = field(default_factory=list)
    reduced: list[Position] = field(default_factory=list)


def _reduce(
    tx: Tx, position: Position, qty: float, price: float, multiplier: float, out: FillResult
) -> float:
    """Take up to ``qty`` off ``position``; the quantity left over."""
    closing = min(qty, position.qty)
    pnl = (price - position.avg_price) * closing * direction(position.side) * multiplier
    out.realized += pnl
    out.is_close = True
    out.position_id = out.position_id or position.id
    left = tidy(position.qty - closing)
    if left <= EPSILON:
        tx.update_position(
            position, qty=0.0, closed_at=tx.now, realized_pl=position.realized_pl + pnl
        )
        out.closed.append(position)
    else:
        tx.update_position(position, qty=left, realized_pl=position.realized_pl + pnl)
        out.reduced.append(position)
    return tidy(qty - closing)


def _increase(tx: Tx, position: Position, qty: float, price: float, out: FillResult) -> None:
    total = tidy(position.qty + qty)
    avg = (position.avg_price * position.qty + price * qty) / total
    tx.update_position(position, qty=total, avg_price=avg)
    out.position_id = out.position_id or position.id
    out.holding = position


def apply_fill(
    tx: Tx, mode: Mode, order: Order, qty: float, price: float, multiplier: float
) -> FillResult:
    """Book a fill of ``order`` against the account's positions."""
    out = FillResult()
    left = qty
    linked = tx.position(order.position_id) if order.position_id is not None else None
    if linked is not None and linked.closed_at is None:
        if linked.side != order.side:
            left = _reduce(tx, linked, left, price, multiplier, out)
        else:
            _increase(tx, linked, left, price, out)
            left = 0.0
    if left > EPSILON and mode != "hedge":
        for position in tx.open_positions(order.instrument):
            if left <= EPSILON:
                break
            if position.side != order.side:
                left = _reduce(tx, position, left, price, multiplier, out)
            elif mode == "net":
                _increase(tx, position, left, price, out)
                left = 0.0
    if left > EPSILON:
        opened = tx.insert_position(order.instrument, order.side, left, price)
        out.position_id = out.position_id or opened.id
        out.holding = opened
    if out.holding is not None and order.bracket is None:
        # Later fills of the same order add to the position its first fill opened.
        tx.update_order(order, position_id=out.holding.id)
    return out
