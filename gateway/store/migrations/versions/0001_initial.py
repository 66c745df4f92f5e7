"""The store's tables: tokens, login failures, bars, and the trading tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Stores created before migrations existed (by ``metadata.create_all``) hold some of these tables
already, with no version table. This revision creates only the tables that are missing, so
upgrading such a store keeps its tables and rows and stamps it; every later revision is an
ordinary one.

The definitions are copied, not imported, from ``gateway/store/tables.py``: a revision must
keep creating what it created when it was written, whatever tables.py says later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("gateway.store.migrate")

# Integer keys that autoincrement everywhere: SQLite only autoincrements INTEGER PRIMARY KEY.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TABLES = (
    "gw_tokens",
    "gw_login_failures",
    "gw_bars",
    "gw_accounts",
    "gw_orders",
    "gw_positions",
    "gw_executions",
    "gw_leverage",
    "gw_previews",
    "gw_transactions",
)


def _create_table(existing: set[str], name: str, *items: SchemaItem) -> None:
    # The table's indexes are among ``items``: Alembic creates them with the table.
    if name in existing:
        log.info("%s exists (created before migrations): kept as it is", name)
        return
    op.create_table(name, *items)


def upgrade() -> None:
    """Create the store's tables that do not exist yet."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    _create_table(
        existing,
        "gw_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("login", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("issued_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.Column("revoked_at", sa.Double, nullable=True),
        sa.Index("ix_gw_tokens_expires_at", "expires_at"),
    )
    _create_table(
        existing,
        "gw_login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Index("ix_gw_login_failures_key_at", "key", "at"),
    )
    _create_table(
        existing,
        "gw_bars",
        sa.Column("symbol", sa.String(64), primary_key=True),
        sa.Column("time", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("open", sa.Double, nullable=False),
        sa.Column("high", sa.Double, nullable=False),
        sa.Column("low", sa.Double, nullable=False),
        sa.Column("close", sa.Double, nullable=False),
        sa.Column("volume", sa.Double, nullable=False),
    )
    _create_table(
        existing,
        "gw_accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("balance", sa.Double, nullable=False),
        sa.Column("realized_pl", sa.Double, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    _create_table(
        existing,
        "gw_orders",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("qty", sa.Double, nullable=False),
        sa.Column("filled_qty", sa.Double, nullable=False),
        sa.Column("avg_price", sa.Double, nullable=True),
        sa.Column("limit_price", sa.Double, nullable=True),
        sa.Column("stop_price", sa.Double, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("bracket", sa.String(12), nullable=True),
        sa.Column("trailing_pips", sa.Double, nullable=True),
        sa.Column("guaranteed", sa.Boolean, nullable=False),
        sa.Column("parent_id", sa.BigInteger, nullable=True),
        sa.Column("parent_type", sa.String(8), nullable=True),
        sa.Column("position_id", sa.BigInteger, nullable=True),
        sa.Column("duration_type", sa.String(32), nullable=True),
        sa.Column("duration_datetime", sa.BigInteger, nullable=True),
        sa.Column("custom_fields", sa.Text, nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("message_type", sa.String(12), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("at_venue", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("final_at", sa.Double, nullable=True),
        sa.UniqueConstraint("account_id", "request_id", name="uq_gw_orders_request"),
        sa.Index("ix_gw_orders_account_status", "account_id", "status"),
        sa.Index("ix_gw_orders_account_final", "account_id", "final_at"),
        sa.Index("ix_gw_orders_parent", "parent_id"),
    )
    _create_table(
        existing,
        "gw_positions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("qty", sa.Double, nullable=False),
        sa.Column("avg_price", sa.Double, nullable=False),
        sa.Column("realized_pl", sa.Double, nullable=False),
        sa.Column("opened_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("closed_at", sa.Double, nullable=True),
        sa.Index("ix_gw_positions_account_closed", "account_id", "closed_at"),
    )
    _create_table(
        existing,
        "gw_executions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.BigInteger, nullable=False),
        sa.Column("position_id", sa.BigInteger, nullable=True),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("qty", sa.Double, nullable=False),
        sa.Column("price", sa.Double, nullable=False),
        sa.Column("time", sa.Double, nullable=False),
        sa.Column("is_close", sa.Boolean, nullable=False),
        sa.Column("commission", sa.Double, nullable=True),
        sa.Column("realized_pl", sa.Double, nullable=False),
        sa.Index("ix_gw_executions_account_instrument", "account_id", "instrument", "time"),
        sa.Index("ix_gw_executions_order", "order_id"),
    )
    _create_table(
        existing,
        "gw_leverage",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("instrument", sa.String(64), primary_key=True),
        sa.Column("side", sa.String(4), primary_key=True),
        sa.Column("leverage", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    _create_table(
        existing,
        "gw_previews",
        sa.Column("confirm_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
    )
    _create_table(
        existing,
        "gw_transactions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("reported_type", sa.String(40), nullable=True),
        sa.Column("instrument", sa.String(64), nullable=True),
        sa.Column("side", sa.String(4), nullable=True),
        sa.Column("qty", sa.Double, nullable=True),
        sa.Column("ask", sa.Double, nullable=True),
        sa.Column("bid", sa.Double, nullable=True),
        sa.Column("quote_time_ms", sa.BigInteger, nullable=True),
        sa.Column("round_trip_start_ms", sa.BigInteger, nullable=True),
        sa.Column("round_trip_ms", sa.Double, nullable=True),
        sa.Column("reported_at", sa.Double, nullable=True),
    )


def downgrade() -> None:
    """Drop every table of the store, rows included."""
    for name in reversed(TABLES):
        op.drop_table(name)
