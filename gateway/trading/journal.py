"""Small records around trading: order previews, transaction ids and latency, leverage."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping

import sqlalchemy as sa

from gateway.store.database import Database
from gateway.store.tables import leverage, previews, transactions

_VOLATILE = frozenset({"currentAsk", "currentBid", "id", "locale", "requestId", "confirmId"})


def fingerprint(account_id: str, form: Mapping[str, str]) -> str:
    """What identifies an order across preview and placement (not the quotes of the moment)."""
    items = sorted((k, v) for k, v in form.items() if k not in _VOLATILE)
    digest = hashlib.sha256(account_id.encode())
    for key, value in items:
        digest.update(b"\x00" + key.encode() + b"\x01" + value.encode())
    return digest.hexdigest()


class Journal:
    """Previews, transactions and leverage choices in the store."""

    def __init__(self, database: Database, clock: Callable[[], float]) -> None:
        self._db = database
        self._clock = clock

    def new_preview(self, account_id: str, print_: str, ttl: float) -> str:
        """Remember a preview; its confirmId."""
        confirm_id = secrets.token_hex(16)
        with self._db.engine.begin() as conn:
            conn.execute(
                sa.insert(previews).values(
                    confirm_id=confirm_id,
                    account_id=account_id,
                    fingerprint=print_,
                    expires_at=self._clock() + ttl,
                    used=False,
                )
            )
        return confirm_id

    def use_preview(self, account_id: str, confirm_id: str, print_: str) -> bool:
        """Consume a preview: true when it exists, matches, is fresh and was not used."""
        with self._db.engine.begin() as conn:
            result = conn.execute(
                sa.update(previews)
                .where(
                    previews.c.confirm_id == confirm_id[:64],
                    previews.c.account_id == account_id,
                    previews.c.fingerprint == print_,
                    previews.c.expires_at >= self._clock(),
                    previews.c.used.is_(False),
                )
                .values(used=True)
            )
            return result.rowcount == 1

    def new_transaction(self, account_id: str, kind: str) -> str:
        """A transaction id for a tracked request."""
        transaction_id = secrets.token_hex(8)
        with self._db.engine.begin() as conn:
            conn.execute(
                sa.insert(transactions).values(
                    id=transaction_id, account_id=account_id, type=kind, created_at=self._clock()
                )
            )
        return transaction_id

    def report_latency(self, account_id: str, transaction_id: str, **values: object) -> bool:
        """Store what TradingView measured; false for an unknown transaction."""
        with self._db.engine.begin() as conn:
            result = conn.execute(
                sa.update(transactions)
                .where(
                    transactions.c.id == transaction_id[:32],
                    transactions.c.account_id == account_id,
                )
                .values(reported_at=self._clock(), **values)
            )
            return result.rowcount == 1

    def set_leverage(self, account_id: str, instrument: str, side: str, value: float) -> None:
        """Remember the user's leverage for one side of an instrument."""
        key = (
            (leverage.c.account_id == account_id)
            & (leverage.c.instrument == instrument)
            & (leverage.c.side == side)
        )
        with self._db.engine.begin() as conn:
            updated = conn.execute(
                sa.update(leverage).where(key).values(leverage=value, updated_at=self._clock())
            )
            if updated.rowcount == 0:
                conn.execute(
                    sa.insert(leverage).values(
                        account_id=account_id,
                        instrument=instrument,
                        side=side,
                        leverage=value,
                        updated_at=self._clock(),
                    )
                )
