"""Tokens and throttle counters in the store, on SQLite, PostgreSQL and MariaDB for real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.auth.throttle import Throttle
from gateway.auth.tokens import TokenStore
from gateway.config.model import LoginThrottle
from gateway.config.types import Duration
from gateway.store.database import Database
from tests.conftest import FakeClock
from tests.servers import MARIADB_URL, POSTGRES_URL, require, reset_gateway_tables


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tokens.db'}"
        return
    url = require(POSTGRES_URL if request.param == "postgresql" else MARIADB_URL)
    reset_gateway_tables(url)
    yield url
    reset_gateway_tables(url)


def test_issue_resolve_revoke(store_url: str) -> None:
    clock = FakeClock()
    db = Database(store_url)
    store = TokenStore(db, clock)
    issued = store.issue("demo", 900)
    assert issued.expiration == int(clock.now) + 900
    assert store.resolve(issued.access_token) == "demo"
    assert store.resolve(issued.access_token + "x") is None
    assert store.revoke(issued.access_token) is True
    assert store.revoke(issued.access_token) is False
    assert store.resolve(issued.access_token) is None
    db.dispose()


def test_tokens_are_unique_and_expire(store_url: str) -> None:
    clock = FakeClock()
    db = Database(store_url)
    store = TokenStore(db, clock)
    issued = [store.issue("demo", 60) for _ in range(50)]
    assert len({t.access_token for t in issued}) == 50
    clock.advance(59)
    assert all(store.resolve(t.access_token) == "demo" for t in issued)
    clock.advance(1)
    assert all(store.resolve(t.access_token) is None for t in issued)
    db.dispose()


def test_two_processes_worth_of_stores_share_tokens(store_url: str) -> None:
    # Two Database objects are two connection pools, as in two workers or two instances.
    clock = FakeClock()
    a, b = Database(store_url), Database(store_url)
    on_a, on_b = TokenStore(a, clock), TokenStore(b, clock)
    token = on_a.issue("demo", 900).access_token
    assert on_b.resolve(token) == "demo"
    assert on_b.revoke(token)
    assert on_a.resolve(token) is None
    a.dispose()
    b.dispose()


def test_throttle_counts_are_shared(store_url: str) -> None:
    clock = FakeClock()
    settings = LoginThrottle(
        max_failures_per_login=2, max_failures_per_address=100, window=Duration(60)
    )
    a, b = Database(store_url), Database(store_url)
    ta, tb = Throttle(a, settings, clock), Throttle(b, settings, clock)
    ta.record_failure("demo", "192.0.2.1")
    assert tb.retry_after("demo", "192.0.2.1") is None
    tb.record_failure("demo", "192.0.2.2")
    assert ta.retry_after("demo", "192.0.2.3") == 60
    clock.advance(30)
    assert ta.retry_after("demo", "192.0.2.3") == 30
    clock.advance(31)
    assert ta.retry_after("demo", "192.0.2.3") is None
    a.dispose()
    b.dispose()
