"""Table definitions of the gateway's store (SQLAlchemy Core).

The schema is versioned by Alembic migrations (``gateway/store/migrations``); a test checks
that the migrations produce exactly these tables on SQLite, PostgreSQL and MariaDB.
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
    # OAuth tokens: the grant they descend from (a code exchange, an implicit answer, an
    # assertion), revoked as a whole on logout or on a replayed code or refresh token; the
    # browser session that produced it (the logout URL ends the session's grants); and the
    # access token a refresh replaced, revoked when this one is first used (TradingView
    # refreshes asynchronously and keeps sending the old token for a while).
    sa.Column("grant_id", sa.String(64), nullable=True),
    sa.Column("session_hash", sa.String(64), nullable=True),
    sa.Column("replaces", sa.String(64), nullable=True),
    sa.Index("ix_gw_tokens_expires_at", "expires_at"),
    sa.Index("ix_gw_tokens_grant_id", "grant_id"),
    sa.Index("ix_gw_tokens_session_hash", "session_hash"),
)

oauth_codes = sa.Table(
    "gw_oauth_codes",
    metadata,
    # Authorization codes, hashed like tokens; single use: `used_at` is set by the exchange
    # that claims it, so a second exchange is recognised as a replay.
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("grant_id", sa.String(64), nullable=False),
    sa.Column("client_id", sa.String(128), nullable=False),
    sa.Column("login", sa.String(255), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("scope", sa.String(1024), nullable=False),
    sa.Column("session_hash", sa.String(64), nullable=True),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("used_at", sa.Double, nullable=True),
    sa.Index("ix_gw_oauth_codes_expires_at", "expires_at"),
)

refresh_tokens = sa.Table(
    "gw_refresh_tokens",
    metadata,
    # Rotated on every use: `rotated_at` marks a spent token, whose reuse revokes the grant.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("grant_id", sa.String(64), nullable=False),
    sa.Column("client_id", sa.String(128), nullable=False),
    sa.Column("login", sa.String(255), nullable=False),
    sa.Column("scope", sa.String(1024), nullable=False),
    sa.Column("session_hash", sa.String(64), nullable=True),
    # The access token issued with this refresh token: the next refresh's token replaces it.
    sa.Column("access_hash", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("rotated_at", sa.Double, nullable=True),
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.Index("ix_gw_refresh_tokens_grant_id", "grant_id"),
    sa.Index("ix_gw_refresh_tokens_expires_at", "expires_at"),
)

sessions = sa.Table(
    "gw_sessions",
    metadata,
    # The login page's session (an httpOnly cookie, hashed here): lets prompt=none answer
    # without a form, and lets the logout URL find the tokens to revoke.
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("login", sa.String(255), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.Index("ix_gw_sessions_expires_at", "expires_at"),
)

assertions = sa.Table(
    "gw_jwt_assertions",
    metadata,
    # Hashes of JWT assertions already exchanged, kept until they expire: TradingView's
    # assertions carry no jti, so the assertion itself is what must not be seen twice.
    sa.Column("assertion_hash", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Index("ix_gw_jwt_assertions_expires_at", "expires_at"),
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


# Integer keys that autoincrement everywhere: SQLite only autoincrements INTEGER PRIMARY KEY.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

trading_accounts = sa.Table(
    "gw_accounts",
    metadata,
    # One row per account in managed mode. Every change to an account's orders, positions or
    # balance starts by bumping `version` here: the row lock serializes writers of one account
    # (no lost update, no double fill) and the counter tells streams that something changed.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("balance", sa.Double, nullable=False),
    sa.Column("realized_pl", sa.Double, nullable=False, default=0.0),
    sa.Column("version", sa.BigInteger, nullable=False, default=0),
    sa.Column("updated_at", sa.Double, nullable=False),
)

orders = sa.Table(
    "gw_orders",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("instrument", sa.String(64), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("type", sa.String(10), nullable=False),
    sa.Column("qty", sa.Double, nullable=False),
    sa.Column("filled_qty", sa.Double, nullable=False, default=0.0),
    sa.Column("avg_price", sa.Double, nullable=True),
    sa.Column("limit_price", sa.Double, nullable=True),
    sa.Column("stop_price", sa.Double, nullable=True),
    # placing, inactive, working (transitional); filled, cancelled, rejected (final).
    sa.Column("status", sa.String(10), nullable=False),
    # Brackets: take_profit or stop_loss; None for ordinary orders.
    sa.Column("bracket", sa.String(12), nullable=True),
    sa.Column("trailing_pips", sa.Double, nullable=True),
    sa.Column("guaranteed", sa.Boolean, nullable=False, default=False),
    # A bracket's parent order, kept after the parent filled so that OCO siblings find each
    # other even when the wire shows the position (or nothing) as parent.
    sa.Column("parent_id", sa.BigInteger, nullable=True),
    sa.Column("parent_type", sa.String(8), nullable=True),
    # The position this order protects (position brackets) or reduces (closing orders).
    sa.Column("position_id", sa.BigInteger, nullable=True),
    sa.Column("duration_type", sa.String(32), nullable=True),
    sa.Column("duration_datetime", sa.BigInteger, nullable=True),
    sa.Column("custom_fields", sa.Text, nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("message_type", sa.String(12), nullable=True),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("at_venue", sa.Boolean, nullable=False, default=False),
    # A bracket the venue works itself (sent with its parent in one request): the core
    # follows its reports instead of activating it or cancelling it for one-cancels-other.
    sa.Column("native", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("final_at", sa.Double, nullable=True),
    # A retried placement carries the same requestId: the unique key makes the retry find the
    # first order instead of creating a second one, even when both race.
    sa.UniqueConstraint("account_id", "request_id", name="uq_gw_orders_request"),
    sa.Index("ix_gw_orders_account_status", "account_id", "status"),
    sa.Index("ix_gw_orders_account_final", "account_id", "final_at"),
    sa.Index("ix_gw_orders_parent", "parent_id"),
)

positions = sa.Table(
    "gw_positions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("instrument", sa.String(64), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("qty", sa.Double, nullable=False),
    sa.Column("avg_price", sa.Double, nullable=False),
    sa.Column("realized_pl", sa.Double, nullable=False, default=0.0),
    sa.Column("opened_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("closed_at", sa.Double, nullable=True),
    sa.Index("ix_gw_positions_account_closed", "account_id", "closed_at"),
)

executions = sa.Table(
    "gw_executions",
    metadata,
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
    sa.Column("realized_pl", sa.Double, nullable=False, default=0.0),
    sa.Index("ix_gw_executions_account_instrument", "account_id", "instrument", "time"),
    sa.Index("ix_gw_executions_order", "order_id"),
)

leverage = sa.Table(
    "gw_leverage",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("instrument", sa.String(64), primary_key=True),
    sa.Column("side", sa.String(4), primary_key=True),
    sa.Column("leverage", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

previews = sa.Table(
    "gw_previews",
    metadata,
    # A preview's confirmId and the fingerprint of the order it showed: the placement that
    # follows must carry the same order, within the preview's lifetime, once.
    sa.Column("confirm_id", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("used", sa.Boolean, nullable=False, default=False),
)

transactions = sa.Table(
    "gw_transactions",
    metadata,
    # Transaction ids handed out with trading answers (supportTrackLatency) and the latency
    # TradingView reports back for each.
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

session_state = sa.Table(
    "gw_session_state",
    metadata,
    # Sequenced sessions with an upstream (FIX): the next sequence number each way, kept here
    # so that a restart, or another process taking the session over, resumes instead of
    # resetting. `period_start` is the start of the scheduled session period the numbers
    # belong to: a new period starts them again from 1.
    sa.Column("session_id", sa.String(255), primary_key=True),
    sa.Column("next_out", sa.BigInteger, nullable=False),
    sa.Column("next_in", sa.BigInteger, nullable=False),
    sa.Column("period_start", sa.Double, nullable=True),
    sa.Column("updated_at", sa.Double, nullable=False),
)

session_messages = sa.Table(
    "gw_session_messages",
    metadata,
    # The application messages a session sent, as sent, for the counterparty's resend
    # requests. Written before the message goes out on the wire.
    sa.Column("session_id", sa.String(255), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("sent_at", sa.Double, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)

session_values = sa.Table(
    "gw_session_values",
    metadata,
    # What a session's application must remember across restarts besides sequence numbers,
    # e.g. the client order id an upstream last acknowledged for each order.
    sa.Column("session_id", sa.String(255), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

leases = sa.Table(
    "gw_leases",
    metadata,
    # Who holds a resource that exactly one process of the deployment may hold (a FIX
    # session), until when. The holder renews before `expires_at`; once it has passed, any
    # other process may take the lease over.
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("acquired_at", sa.Double, nullable=False),
)

relay_requests = sa.Table(
    "gw_relay_requests",
    metadata,
    # Requests a process without a lease hands to the holder (an order for the FIX session):
    # pending → taken (by the holder) → done, with the holder's answer; or pending → withdrawn
    # when nobody took it in time.
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("refusal", sa.Text, nullable=True),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("answered_at", sa.Double, nullable=True),
    sa.Index("ix_gw_relay_requests_channel_state", "channel", "state"),
)
