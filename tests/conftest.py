"""Fixtures: the demo configuration on a throw-away store, an injected clock, a WebTest app."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import webtest

from gateway.app import Gateway, build
from gateway.config import GatewayConfig, load_config
from gateway.config.market import Market
from gateway.config.model import Store
from gateway.config.trading import Trading
from gateway.config.types import Secret
from gateway.store.database import Database
from gateway.store.migrate import upgrade
from tests.oauth_app import OAuthClientSim, with_oauth

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo" / "gateway.yaml"
TV_ORIGIN = "https://www.tradingview.com"
_FEED_MARKER = "\n# Market data:"
DEMO_NO_FEED = DEMO.read_text(encoding="utf-8").split(_FEED_MARKER)[0] + "\n"
"""The demo's text without its market-data feed, for tests that copy it elsewhere."""
assert _FEED_MARKER in DEMO.read_text(encoding="utf-8"), "the demo's feed section moved"


class FakeClock:
    """A clock the test moves by hand (injected into the app, never monkeypatched)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def with_store(config: GatewayConfig, url: str) -> GatewayConfig:
    """The same configuration on another store."""
    return dataclasses.replace(config, store=Store(url=Secret(url)))


@pytest.fixture
def demo_config(tmp_path: Path) -> GatewayConfig:
    """The shipped demo configuration, its SQLite store moved to a temporary directory.

    Without its replayed feed and its paper venue: tests of market data and trading bring
    their own (tests/market_app.py, tests/trading_app.py).
    """
    config = dataclasses.replace(
        load_config(DEMO), connectors={}, market=Market(), trading=Trading()
    )
    return with_store(config, f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gateway(demo_config: GatewayConfig, clock: FakeClock) -> Iterator[Gateway]:
    gw = build(demo_config, clock=clock)
    gw.start()
    yield gw
    gw.close()


@pytest.fixture
def client(gateway: Gateway) -> webtest.TestApp:
    return webtest.TestApp(gateway.app)


def login(client: webtest.TestApp, user: str = "demo", password: str = "demo") -> str:
    """A fresh token for ``user``."""
    resp = client.post("/authorize", {"login": user, "password": password})
    assert resp.json["s"] == "ok", resp.json
    token: str = resp.json["d"]["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token(client: webtest.TestApp) -> str:
    return login(client)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def any_store(
    request: pytest.FixtureRequest, demo_config: GatewayConfig
) -> Iterator[GatewayConfig]:
    """The demo configuration on each store the gateway supports, with empty tables.

    PostgreSQL and MariaDB are the local test servers (skipped on a laptop without them,
    required under CI=true, see tests/servers.py).
    """
    from tests.servers import MARIADB_URL, POSTGRES_URL, require, reset_gateway_tables

    if request.param == "sqlite":
        yield demo_config
        return
    url = require(POSTGRES_URL if request.param == "postgresql" else MARIADB_URL)
    reset_gateway_tables(url)
    yield with_store(demo_config, url)
    reset_gateway_tables(url)


@pytest.fixture
def any_database(any_store: GatewayConfig) -> Iterator[Database]:
    """The store of :func:`any_store`, migrated to the newest revision, as a ``Database``."""
    url = any_store.store.url.reveal()
    upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def oauth_gateway(demo_config: GatewayConfig, clock: FakeClock) -> Iterator[Gateway]:
    """The demo with OAuth2 for trading and JWT assertions for data (tests/oauth_app.py)."""
    gw = build(with_oauth(demo_config), clock=clock)
    gw.start()
    yield gw
    gw.close()


@pytest.fixture
def tv(oauth_gateway: Gateway) -> OAuthClientSim:
    """TradingView's side of the OAuth flows, against ``oauth_gateway``."""
    return OAuthClientSim(webtest.TestApp(oauth_gateway.app))
