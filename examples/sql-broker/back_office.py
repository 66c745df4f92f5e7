"""The example broker's back office: it fills working orders against the quotes table.

This plays the broker's own order management, which the gateway never sees: in mapped mode the
gateway writes new orders into the broker's tables and reads back whatever the broker's systems
made of them. ``set_quote`` moves a symbol's quote; ``match`` first moves trailing stops after
the market, then fills every working order the quote reaches (whole, or up to a liquidity
``max_qty``) at the ask (buys) or the bid (sells), guaranteed stops at their own price, with
the fills, the position (by average cost, as ``broker_db.positions_from_fills``), the balance
(realized P&L less commission) and the brackets (activated by their order's fill, one
cancelling the other) in one transaction. As a script it matches once::

    python examples/sql-broker/back_office.py [URL]

``end_of_day`` is the broker's end-of-day batch: it expires the day's working DAY orders.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import broker_db as db  # the sibling module, found through the line above


def set_quote(url: str, sym: str, bid: float, ask: float, now_ms: int | None = None) -> None:
    """Move the quote of ``sym``."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            db.quotes.update()
            .where(db.quotes.c.sym == sym)
            .values(bid=bid, ask=ask, last=ask, updated_at=now_ms)
        )
    engine.dispose()


def _price(order: Any, bid: float, ask: float) -> float | None:
    """The fill price the quote gives ``order``, or None while it does not reach it.

    A guaranteed stop fills at its own price however far the market gapped through it.
    """
    buy = order.side == "B"
    px = ask if buy else bid
    if order.otype == "M":
        return px
    if order.otype == "L":
        return px if (px <= order.lmt_px if buy else px >= order.lmt_px) else None
    triggered = px >= order.stp_px if buy else px <= order.stp_px
    if order.otype == "S":
        if triggered and order.guaranteed:
            return float(order.stp_px)
        return px if triggered else None
    within = px <= order.lmt_px if buy else px >= order.lmt_px  # stop-limit: both
    return px if triggered and within else None


MAX_ROUNDS = 20
"""Fills per match: a fill can activate brackets the same quotes reach at once."""


def match(url: str, now_ms: int | None = None, max_qty: float | None = None) -> int:
    """Fill every working order the current quotes reach; returns how many fills there were.

    Trailing stops first follow the market. A filled order's brackets become working orders
    of the position it opened; a filled bracket cancels its sibling (one cancels the other); a
    position closed to nothing cancels its brackets. Each fill re-reads the working orders,
    since it may have changed them. ``max_qty`` is the liquidity of this match: an order gets
    at most that much (a partial fill) and waits for the next match for the rest.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    engine = sa.create_engine(url)
    filled = 0
    try:
        with engine.begin() as conn:
            quotes = {q.sym: q for q in conn.execute(sa.select(db.quotes))}
            _trail(conn, quotes, now_ms)
            served: set[int] = set()
            for _ in range(MAX_ROUNDS):
                order, px = _next_fill(conn, quotes, served)
                if order is None or px is None:
                    break
                remaining = float(order.qty) - float(order.filled_qty or 0)
                qty = remaining if max_qty is None else min(remaining, max_qty)
                _fill(conn, order, px, qty, now_ms)
                served.add(order.ord_id)
                filled += 1
    finally:
        engine.dispose()
    return filled


def _trail(conn: sa.Connection, quotes: dict[str, Any], now_ms: int) -> None:
    """Move each trailing stop toward the market, never back: its distance in pips."""
    pips = {s.sym: (float(s.pip_size), float(s.tick)) for s in conn.execute(sa.select(db.symbols))}
    orders = db.orders.c
    trailing = conn.execute(
        sa.select(db.orders).where(
            orders.st.in_(("N", "P")), orders.otype == "S", orders.trail_pips.is_not(None)
        )
    ).all()
    for order in trailing:
        quote = quotes.get(order.sym)
        if quote is None or order.sym not in pips:
            continue
        pip, tick = pips[order.sym]
        distance = float(order.trail_pips) * pip
        if order.side == "S":  # protects a long: follows the bid up
            target = float(quote.bid) - distance
            better = target > float(order.stp_px)
        else:  # protects a short: follows the ask down
            target = float(quote.ask) + distance
            better = target < float(order.stp_px)
        if better:
            price = round(round(target / tick) * tick, 10)
            conn.execute(
                db.orders.update()
                .where(orders.ord_id == order.ord_id)
                .values(stp_px=price, updated_at=now_ms)
            )


EXPIRED = "Expired at the end of the trading day"


def end_of_day(url: str, now_ms: int | None = None) -> int:
    """The broker's end-of-day batch: cancel every working DAY order; returns how many.

    GTC orders, and brackets (GTC here), stay. The reason is kept in ``reject_reason``, which
    the gateway shows as the order's message.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            orders = db.orders.c
            expired = conn.execute(
                db.orders.update()
                .where(orders.tif == "DAY", orders.st.in_(("N", "P")))
                .values(st="C", reject_reason=EXPIRED, updated_at=now_ms)
            ).rowcount
    finally:
        engine.dispose()
    return int(expired)


def _next_fill(
    conn: sa.Connection, quotes: dict[str, Any], served: set[int]
) -> tuple[Any, float | None]:
    working = conn.execute(
        sa.select(db.orders).where(db.orders.c.st.in_(("N", "P"))).order_by("ord_id")
    ).all()
    for order in working:
        if order.ord_id in served:
            continue
        quote = quotes.get(order.sym)
        px = _price(order, quote.bid, quote.ask) if quote is not None else None
        if px is not None:
            return order, px
    return None, None


def _brackets(
    conn: sa.Connection, now_ms: int, order: Any, pos_id: int, net: float, prior: float
) -> None:
    """What a fill means for brackets: activate the order's, end its sibling, follow the size."""
    orders = db.orders.c
    live = orders.st.in_(("N", "P", "I"))
    complete = float(order.filled_qty or 0) >= float(order.qty)  # as updated by this fill
    if order.parent_id is not None and complete:  # a bracket filled: the other one goes
        conn.execute(
            db.orders.update()
            .where(
                orders.parent_id == order.parent_id,
                orders.parent_kind == order.parent_kind,
                orders.ord_id != order.ord_id,
                live,
            )
            .values(st="C", updated_at=now_ms)
        )
    # The order's own brackets now protect the position it opened, for what it filled.
    conn.execute(
        db.orders.update()
        .where(orders.parent_id == order.ord_id, orders.parent_kind == "O", orders.st == "I")
        .values(st="N", parent_id=pos_id, parent_kind="P", qty=order.qty, updated_at=now_ms)
    )
    protecting = (orders.parent_id == pos_id, orders.parent_kind == "P", live)
    if net == 0 or net * prior < 0:  # closed or reversed: nothing left they could protect
        conn.execute(db.orders.update().where(*protecting).values(st="C", updated_at=now_ms))
    else:  # a bracket never protects more than the position holds (a part-filled one:
        # what is left of it, which its own fill already shrank)
        conn.execute(
            db.orders.update()
            .where(*protecting, orders.ord_id != order.ord_id, orders.qty > abs(net))
            .values(qty=abs(net), updated_at=now_ms)
        )


def _fill(conn: sa.Connection, order: Any, px: float, qty: float, now_ms: int) -> None:
    before_qty = float(order.filled_qty or 0)
    done = before_qty + qty
    avg = (before_qty * float(order.avg_px or 0) + qty * px) / done
    commission = round(max(db.MIN_COMMISSION, qty * db.COMMISSION_PER_UNIT.get(order.sym, 0)), 2)
    key = (order.acct_no, order.sym)
    prior, _, before = _position(conn, key)
    conn.execute(
        db.fills.insert().values(
            ord_id=order.ord_id,
            acct_no=order.acct_no,
            sym=order.sym,
            side=order.side,
            qty=qty,
            px=px,
            commission=commission,
            ts=now_ms,
        )
    )
    final = done >= float(order.qty)
    conn.execute(
        db.orders.update()
        .where(db.orders.c.ord_id == order.ord_id)
        .values(st="F" if final else "P", filled_qty=done, avg_px=round(avg, 8), updated_at=now_ms)
    )
    net, avg, after = _position(conn, key)
    # A position opens again when it was flat or the fill turned it over.
    opened = {"opened_at": now_ms} if prior == 0 or net * prior < 0 else {}
    updated = conn.execute(
        db.positions.update()
        .where(db.positions.c.acct_no == order.acct_no, db.positions.c.sym == order.sym)
        .values(net_qty=net, avg_px=avg, **opened)
    ).rowcount
    if not updated:
        conn.execute(
            db.positions.insert().values(
                acct_no=order.acct_no, sym=order.sym, net_qty=net, avg_px=avg, opened_at=now_ms
            )
        )
    pos_id = conn.execute(
        sa.select(db.positions.c.pos_id).where(
            db.positions.c.acct_no == order.acct_no, db.positions.c.sym == order.sym
        )
    ).scalar_one()
    order = conn.execute(sa.select(db.orders).where(db.orders.c.ord_id == order.ord_id)).one()
    _brackets(conn, now_ms, order, pos_id, net, prior)
    conn.execute(
        db.trading_accounts.update()
        .where(db.trading_accounts.c.acct_no == order.acct_no)
        .values(balance=db.trading_accounts.c.balance + round(after - before - commission, 2))
    )


def _fills(conn: sa.Connection, key: tuple[str, str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(db.fills).where(db.fills.c.acct_no == key[0], db.fills.c.sym == key[1])
    ).mappings()
    return [dict(r) for r in rows]


def _position(conn: sa.Connection, key: tuple[str, str]) -> tuple[float, float, float]:
    net, avg, realized = db.positions_from_fills(_fills(conn, key)).get(key, (0.0, 0.0, 0.0))
    return round(net, 8), round(avg, 8), realized


def main(argv: Sequence[str] | None = None) -> int:
    """Match once against ``URL`` (default: the example's SQLite file)."""
    args = list(sys.argv[1:] if argv is None else argv)
    url = args[0] if args else db.DEFAULT_URL
    print(f"{url}: {match(url)} orders filled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
