"""The example broker's back office: it fills working orders against the quotes table.

This plays the broker's own order management, which the gateway never sees: in mapped mode the
gateway writes new orders into the broker's tables and reads back whatever the broker's systems
made of them. ``set_quote`` moves a symbol's quote; ``match`` fills every working order the
quote reaches, whole, at the ask (buys) or the bid (sells), with the fills, the position (by
average cost, as ``broker_db.positions_from_fills``) and the balance (realized P&L less
commission) in one transaction. As a script it matches once::

    python examples/sql-broker/back_office.py [URL]
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
    """The fill price the quote gives ``order``, or None while it does not reach it."""
    buy = order.side == "B"
    px = ask if buy else bid
    if order.otype == "M":
        return px
    if order.otype == "L":
        return px if (px <= order.lmt_px if buy else px >= order.lmt_px) else None
    triggered = px >= order.stp_px if buy else px <= order.stp_px
    if order.otype == "S":
        return px if triggered else None
    within = px <= order.lmt_px if buy else px >= order.lmt_px  # stop-limit: both
    return px if triggered and within else None


def match(url: str, now_ms: int | None = None) -> int:
    """Fill every working order the current quotes reach; returns how many were filled."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    engine = sa.create_engine(url)
    filled = 0
    try:
        with engine.begin() as conn:
            quotes = {q.sym: q for q in conn.execute(sa.select(db.quotes))}
            working = conn.execute(
                sa.select(db.orders).where(db.orders.c.st.in_(("N", "P"))).order_by("ord_id")
            ).all()
            for order in working:
                quote = quotes.get(order.sym)
                px = _price(order, quote.bid, quote.ask) if quote is not None else None
                if px is None:
                    continue
                _fill(conn, order, px, now_ms)
                filled += 1
    finally:
        engine.dispose()
    return filled


def _fill(conn: sa.Connection, order: Any, px: float, now_ms: int) -> None:
    qty = order.qty - (order.filled_qty or 0)
    commission = round(max(db.MIN_COMMISSION, qty * db.COMMISSION_PER_UNIT.get(order.sym, 0)), 2)
    key = (order.acct_no, order.sym)
    before = _realized(conn, key)
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
    conn.execute(
        db.orders.update()
        .where(db.orders.c.ord_id == order.ord_id)
        .values(st="F", filled_qty=order.qty, avg_px=px, updated_at=now_ms)
    )
    net, avg, after = _position(conn, key)
    updated = conn.execute(
        db.positions.update()
        .where(db.positions.c.acct_no == order.acct_no, db.positions.c.sym == order.sym)
        .values(net_qty=net, avg_px=avg)
    ).rowcount
    if not updated:
        conn.execute(
            db.positions.insert().values(
                acct_no=order.acct_no, sym=order.sym, net_qty=net, avg_px=avg
            )
        )
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


def _realized(conn: sa.Connection, key: tuple[str, str]) -> float:
    return _position(conn, key)[2]


def main(argv: Sequence[str] | None = None) -> int:
    """Match once against ``URL`` (default: the example's SQLite file)."""
    args = list(sys.argv[1:] if argv is None else argv)
    url = args[0] if args else db.DEFAULT_URL
    print(f"{url}: {match(url)} orders filled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
