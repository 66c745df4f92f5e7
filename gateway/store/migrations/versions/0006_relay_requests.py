"""Relay requests: processes without a lease hand requests to the process that holds it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Migrate the store one revision forward."""
    op.create_table(
        "gw_relay_requests",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("answered_at", sa.Double(), nullable=True),
    )
    op.create_index("ix_gw_relay_requests_channel_state", "gw_relay_requests", ["channel", "state"])


def downgrade() -> None:
    """Undo upgrade()."""
    op.drop_index("ix_gw_relay_requests_channel_state", table_name="gw_relay_requests")
    op.drop_table("gw_relay_requests")
