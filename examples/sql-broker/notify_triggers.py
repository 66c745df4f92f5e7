"""The example broker's PostgreSQL triggers: every change of an account's rows is notified.

Each trigger sends the account number on ``CHANNEL``, so the gateway's streams of that account
(gateway.yaml's ``listen``) re-read at once instead of at the next poll. Notifications go out
when the changing transaction commits, and only then. ``broker_db.create`` installs them on
PostgreSQL; other databases have no LISTEN/NOTIFY and are polled.
"""

from __future__ import annotations

import sqlalchemy as sa

CHANNEL = "broker_changes"
"""The channel the triggers notify (gateway.yaml's ``listen``)."""

NOTIFIED = ("trading_accounts", "orders", "fills", "positions", "account_leverage")
"""The tables whose changes TradingView's trading streams show."""

_FUNCTION = f"""
CREATE OR REPLACE FUNCTION broker_notify_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('{CHANNEL}', OLD.acct_no);
    ELSE
        PERFORM pg_notify('{CHANNEL}', NEW.acct_no);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def install(connection: sa.Connection) -> None:
    """Create the function and one trigger per notified table (PostgreSQL only)."""
    connection.exec_driver_sql(_FUNCTION)
    for table in NOTIFIED:
        connection.exec_driver_sql(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION broker_notify_change()"
        )
