"""Real database servers for tests: skip on a laptop without them, fail in CI."""

from __future__ import annotations

import os
import socket

import pytest
import sqlalchemy as sa

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
"""The pytest-xdist worker running this process (gw0, gw1…); empty when run serially."""


def _per_worker(url: str) -> str:
    """Each parallel worker its own database on the server (test → test_gw0): tests that reset
    the shared tables must not reset another worker's in the middle of its test."""
    if not _WORKER:
        return url
    parsed = sa.engine.make_url(url)
    return parsed.set(database=f"{parsed.database}_{_WORKER}").render_as_string(hide_password=False)


POSTGRES_URL = _per_worker(
    os.environ.get("GATEWAY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)
MARIADB_URL = _per_worker(
    os.environ.get("GATEWAY_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
)
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS", "redis://127.0.0.1:6379/0")
_CREATED: set[str] = set()


def in_ci() -> bool:
    """CI must exercise every server test; a laptop may lack the servers."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(url: str) -> str:
    """Return ``url`` if its server answers; otherwise skip (or fail under CI=true)."""
    parsed = sa.engine.make_url(url)
    host, port = parsed.host or "127.0.0.1", parsed.port or 5432
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError as exc:
        message = f"{parsed.get_backend_name()} at {host}:{port} is unreachable ({exc})"
        if in_ci():
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    if _WORKER and url not in _CREATED:
        _create_database(parsed)
        _CREATED.add(url)
    return url


def _create_database(url: sa.URL) -> None:
    """Create a worker's database if it is not there yet (the server's own `test` exists)."""
    name = url.database or ""
    admin = sa.create_engine(url.set(database=_ADMIN_DATABASE[url.get_backend_name()]),
                             isolation_level="AUTOCOMMIT")  # fmt: skip
    try:
        with admin.connect() as connection:
            if url.get_backend_name() == "postgresql":
                found = connection.exec_driver_sql(
                    "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": name}
                ).first()
                if found is None:
                    connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                connection.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{name}`")
    finally:
        admin.dispose()


# Where CREATE DATABASE runs: a database every server of the kind has.
_ADMIN_DATABASE = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}


def reset_gateway_tables(url: str) -> None:
    """Drop the gateway's tables so a test starts from an empty store."""
    from gateway.store.tables import metadata

    engine = sa.create_engine(url)
    try:
        metadata.drop_all(engine)
    finally:
        engine.dispose()


def require_redis() -> str:
    """The Redis URL if its server answers; otherwise skip (or fail under CI=true)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} is unreachable ({exc})"
        if in_ci():
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    return REDIS_URL


def channel_prefix() -> str:
    """A bus prefix of this test's own: parallel workers share the one Redis."""
    import uuid

    return f"test-{_WORKER or 'main'}-{uuid.uuid4().hex[:8]}"
