"""Account arithmetic: unrealized P&L, margin, equity and the metrics of ``/state``.

Everything is computed from the store's positions and balance and from the latest quotes, by
the same functions for ``/positions``, ``/state`` and the margin check of a new order, so the
numbers agree wherever TradingView shows them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.config.accounts import Account
from gateway.config.instruments import Instrument
from gateway.store.tables import leverage as leverage_table
from gateway.trading.model import Order, Position
from gateway.trading.money import Prices, close_price


@dataclass(frozen=True)
class LeverageBounds:
    """What the user may choose for an instrument, and the value used until they do."""

    min: float
    max: float
    step: float
    default: float


def leverage_bounds(instrument: Instrument) -> LeverageBounds:
    """The configured range, else 1 up to ``1 / marginRate`` (1 without a margin rate)."""
    configured = instrument.leverage
    if configured is not None:
        default = configured.default if configured.default is not None else configured.max
        return LeverageBounds(configured.min, configured.max, configured.step, default)
    top = math.floor(1 / instrument.margin_rate + 1e-9) if instrument.margin_rate else 1
    top = max(top, 1)
    return LeverageBounds(1.0, float(top), 1.0, float(top))


def chosen_leverage(conn: Connection, account_id: str) -> dict[tuple[str, str], float]:
    """Leverage the user set, by (instrument, side)."""
    rows = conn.execute(
        sa.select(
            leverage_table.c.instrument, leverage_table.c.side, leverage_table.c.leverage
        ).where(leverage_table.c.account_id == account_id)
    )
    return {(r[0], r[1]): float(r[2]) for r in rows}


@dataclass(frozen=True)
class Snapshot:
    """An account's figures at one moment, in the account currency."""

    balance: float
    realized_pl: float
    unrealized_pl: float
    margin_used: float
    open_orders: int
    open_positions: int

    @property
    def equity(self) -> float:
        """Balance plus open P&L."""
        return self.balance + self.unrealized_pl

    @property
    def margin_available(self) -> float:
        """Equity not tied up as margin."""
        return self.equity - self.margin_used

    @property
    def margin_level(self) -> float | None:
        """Equity as a percentage of used margin (None without margin in use)."""
        return self.equity / self.margin_used * 100 if self.margin_used > 0 else None

    def metric(self, name: str) -> float | int | None:
        """A metric by its ``ACCOUNT_METRICS`` id."""
        values: dict[str, float | int | None] = {
            "balance": self.balance,
            "equity": self.equity,
            "unrealizedPl": self.unrealized_pl,
            "realizedPl": self.realized_pl,
            "marginUsed": self.margin_used,
            "marginAvailable": self.margin_available,
            "marginLevel": self.margin_level,
            "openOrders": self.open_orders,
            "openPositions": self.open_positions,
        }
        return values.get(name)


class Accounting:
    """The arithmetic, bound to the configured instruments and the live prices."""

    def __init__(self, prices: Prices, instruments: Mapping[str, Instrument]) -> None:
        self.prices = prices
        self.bounds = {name: leverage_bounds(i) for name, i in instruments.items()}

    def unrealized(self, position: Position, account: Account) -> float | None:
        """Open P&L of a position in the account currency (None without a price)."""
        sides = self.prices.sides(position.instrument)
        if sides is None:
            return None
        exit_price = close_price(position.side, *sides)
        move = (exit_price - position.avg_price) * (1 if position.side == "buy" else -1)
        priced = self.prices.priced(position.instrument)
        amount = move * position.qty * priced.multiplier
        return self.prices.to_account(position.instrument, amount, account.currency)

    def leverage(
        self, chosen: Mapping[tuple[str, str], float], instrument: str, side: str
    ) -> float:
        """The leverage in force for one side of an instrument."""
        return chosen.get((instrument, side), self.bounds[instrument].default)

    def margin(
        self,
        instrument: str,
        side: str,
        qty: float,
        price: float,
        account: Account,
        chosen: Mapping[tuple[str, str], float],
    ) -> float:
        """Margin of ``qty`` at ``price``, in the account currency."""
        notional = qty * price * self.prices.priced(instrument).multiplier
        required = notional / self.leverage(chosen, instrument, side)
        return self.prices.to_account(instrument, required, account.currency)

    def snapshot(
        self,
        conn: Connection,
        account: Account,
        balance: tuple[float, float],
        positions: Iterable[Position],
        orders: Iterable[Order],
    ) -> Snapshot:
        """The figures of an account from its store rows and the latest quotes."""
        chosen = chosen_leverage(conn, account.id)
        unrealized = margin = 0.0
        count = 0
        for position in positions:
            count += 1
            pl = self.unrealized(position, account)
            unrealized += pl or 0.0
            sides = self.prices.sides(position.instrument)
            mark = close_price(position.side, *sides) if sides else position.avg_price
            margin += self.margin(
                position.instrument, position.side, position.qty, mark, account, chosen
            )
        working = sum(1 for o in orders if not o.is_final)
        return Snapshot(balance[0], balance[1], unrealized, margin, working, count)
