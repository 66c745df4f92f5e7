"""Real database servers for tests: skip on a laptop without them, fail in CI."""

from __future__ import annotations

import os
import socket

import pytest
import sqlalchemy as sa

POSTGRES_URL = os.environ.get(
    "GATEWAY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get("GATEWAY_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")


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
    return url


def reset_gateway_tables(url: str) -> None:
    """Drop the gateway's tables so a test starts from an empty store."""
    from gateway.store.tables import metadata

    engine = sa.create_engine(url)
    try:
        metadata.drop_all(engine)
    finally:
        engine.dispose()
