"""Table definitions of the gateway's store (SQLAlchemy Core).

Tables are created on first use; versioned migrations arrive with the trading store, whose
schema will evolve, and will take these tables over as their first revision.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

tokens = sa.Table(
    "gw_tokens",
    metadata,
    # SHA-256 of the token, hex: the token itself is never stored, so a leaked table or backup
    # cannot be replayed. A fast hash is right here: tokens have 256 bits of entropy.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("login", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("issued_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.Index("ix_gw_tokens_expires_at", "expires_at"),
)

login_failures = sa.Table(
    "gw_login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # "login:<sha256>" or "addr:<sha256>": hashed so the table holds no user names or addresses.
    sa.Column("key", sa.String(80), nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Index("ix_gw_login_failures_key_at", "key", "at"),
)

bars = sa.Table(
    "gw_bars",
    metadata,
    # One-minute bars only; every other resolution is built from them on read. The primary key
    # doubles as the index /history reads by: (symbol, time) ranges.
    sa.Column("symbol", sa.String(64), primary_key=True),
    sa.Column("time", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("open", sa.Double, nullable=False),
    sa.Column("high", sa.Double, nullable=False),
    sa.Column("low", sa.Double, nullable=False),
    sa.Column("close", sa.Double, nullable=False),
    sa.Column("volume", sa.Double, nullable=False),
)
