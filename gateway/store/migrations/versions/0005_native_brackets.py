"""Native brackets: a bracket order the venue works itself is marked as such.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Migrate the store one revision forward."""
    # Every existing order was worked by the core: false, set by the server default.
    op.add_column(
        "gw_orders",
        sa.Column("native", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    """Undo upgrade()."""
    with op.batch_alter_table("gw_orders") as batch:
        batch.drop_column("native")
