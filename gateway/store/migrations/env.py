"""Alembic environment of the gateway's store.

Run only through :mod:`gateway.store.migrate`, which passes an open connection (already in a
transaction and holding the migration lock) as ``config.attributes["connection"]``; there is no
``alembic.ini`` and no URL here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from gateway.store.migrate import VERSION_TABLE, include_name
from gateway.store.tables import metadata


def run_migrations_online() -> None:
    """Run the migrations on the connection gateway.store.migrate provides."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "the store's migrations run through gateway.store.migrate (e.g. upgrade(url)), "
            "which provides the connection; the alembic command line is not set up"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        # SQLite cannot ALTER most of a table: batch mode lets future revisions use
        # op.batch_alter_table(), which copies the table there and alters it elsewhere.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    # The connection is in a transaction already: this is a no-op marker and the caller
    # commits, so that the lock and the migrations end together.
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("the store's migrations have no offline (--sql) mode")
run_migrations_online()
