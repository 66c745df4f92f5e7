"""Sequenced sessions (FIX): sequence numbers, sent messages, remembered values.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:50:32.484334
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Migrate the store one revision forward."""
    op.create_table(
        "gw_session_messages",
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sent_at", sa.Double(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "seq"),
    )
    op.create_table(
        "gw_session_state",
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("next_out", sa.BigInteger(), nullable=False),
        sa.Column("next_in", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "gw_session_values",
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "key"),
    )


def downgrade() -> None:
    """Undo upgrade()."""
    op.drop_table("gw_session_values")
    op.drop_table("gw_session_state")
    op.drop_table("gw_session_messages")
