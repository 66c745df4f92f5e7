"""The example broker database (examples/sql-broker) for tests, on scratch databases."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sql-broker"
SCRIPT = EXAMPLE / "broker_db.py"


def load_example(name: str, file: str) -> ModuleType:
    """A script of examples/sql-broker as module ``name`` (the folder's dash rules out an
    import)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def load_broker() -> ModuleType:
    """examples/sql-broker/broker_db.py: the example broker's schema and seed."""
    return load_example("sql_broker_db", SCRIPT.name)


@contextmanager
def scratch_database(server_url: str, prefix: str = "gw_sql_broker") -> Iterator[str]:
    """A new, empty database on the server of ``server_url``, dropped afterwards.

    Not the servers' shared ``test`` database, which other test modules reset.
    """
    server = sa.engine.make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    # CREATE/DROP DATABASE cannot run in a transaction on PostgreSQL.
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # FORCE: a connection a failed test left open must not keep the database alive.
            force = " WITH (FORCE)" if server.get_backend_name() == "postgresql" else ""
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()


def load_back_office() -> ModuleType:
    """examples/sql-broker/back_office.py: the example broker's own order matching."""
    return load_example("sql_broker_back_office", "back_office.py")
