"""OAuth2: codes, refresh tokens, sessions, assertions; grant and session of tokens.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 18:41:04.197407
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Migrate the store one revision forward."""
    op.create_table(
        "gw_jwt_assertions",
        sa.Column("assertion_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("assertion_hash"),
    )
    with op.batch_alter_table("gw_jwt_assertions", schema=None) as batch_op:
        batch_op.create_index("ix_gw_jwt_assertions_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "gw_oauth_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("login", sa.String(length=255), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("used_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    with op.batch_alter_table("gw_oauth_codes", schema=None) as batch_op:
        batch_op.create_index("ix_gw_oauth_codes_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "gw_refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("login", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("access_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("rotated_at", sa.Double(), nullable=True),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("gw_refresh_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_gw_refresh_tokens_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_gw_refresh_tokens_grant_id", ["grant_id"], unique=False)

    op.create_table(
        "gw_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("login", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    with op.batch_alter_table("gw_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_gw_sessions_expires_at", ["expires_at"], unique=False)

    with op.batch_alter_table("gw_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grant_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("session_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("replaces", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_gw_tokens_grant_id", ["grant_id"], unique=False)
        batch_op.create_index("ix_gw_tokens_session_hash", ["session_hash"], unique=False)


def downgrade() -> None:
    """Undo upgrade()."""
    with op.batch_alter_table("gw_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_gw_tokens_session_hash")
        batch_op.drop_index("ix_gw_tokens_grant_id")
        batch_op.drop_column("replaces")
        batch_op.drop_column("session_hash")
        batch_op.drop_column("grant_id")

    with op.batch_alter_table("gw_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_gw_sessions_expires_at")

    op.drop_table("gw_sessions")
    with op.batch_alter_table("gw_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_gw_refresh_tokens_grant_id")
        batch_op.drop_index("ix_gw_refresh_tokens_expires_at")

    op.drop_table("gw_refresh_tokens")
    with op.batch_alter_table("gw_oauth_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_gw_oauth_codes_expires_at")

    op.drop_table("gw_oauth_codes")
    with op.batch_alter_table("gw_jwt_assertions", schema=None) as batch_op:
        batch_op.drop_index("ix_gw_jwt_assertions_expires_at")

    op.drop_table("gw_jwt_assertions")
