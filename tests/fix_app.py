"""The demo gateway trading through its ``fix`` connector against the QuickFIX counterparty.

BTCUSD is the instrument of these tests: its session is 24x7, so nothing depends on the day
the suite runs. The upstream calls it ``BTC/USD`` (the symbol mapping is exercised).
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import webtest

from connectors.fix import FixConnector
from connectors.fix._options import FixOptions, MarketDataOptions
from gateway.app import Gateway, build
from gateway.config import GatewayConfig
from gateway.config.market import Market
from gateway.config.model import ConnectorSpec
from gateway.config.trading import Trading
from gateway.config.types import Duration
from gateway.plugins.registry import Registry
from tests.fix_counterparty import SENDER, TARGET, Counterparty
from tests.trading_app import ACCOUNT, Desk

INSTRUMENT = "BTCUSD"
UPSTREAM_SYMBOL = "BTC/USD"
BID, ASK = 60000.0, 60001.0


def free_port() -> int:
    """A TCP port nobody listens on (for a moment)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fix_options(port: int, **changes: Any) -> FixOptions:
    """The connector's options for the counterparty on ``port``."""
    base = FixOptions(
        host="127.0.0.1",
        port=port,
        sender_comp_id=TARGET,
        target_comp_id=SENDER,
        heartbeat=Duration(2),
        reconnect_min=Duration(0.2),
        reconnect_max=Duration(1),
        symbols={INSTRUMENT: UPSTREAM_SYMBOL},
        custom_fields={"route": 9001},
        ack_timeout=Duration(3),
        market_data=MarketDataOptions(symbols=(INSTRUMENT,), depth=1),
    )
    return dataclasses.replace(base, **changes)


def fix_config(config: GatewayConfig, port: int, **changes: Any) -> GatewayConfig:
    """The demo with the fix connector as venue and feed."""
    return dataclasses.replace(
        config,
        connectors={"upstream": ConnectorSpec("fix", fix_options(port, **changes))},
        market=Market(feeds=("upstream",)),
        trading=Trading(venue="upstream"),
    )


def registry() -> Registry:
    reg = Registry()
    reg.register(FixConnector)
    return reg


class FixDesk(Desk):
    """A running gateway on the fix connector, and a logged-in WebTest client."""

    def __init__(self, gateway: Gateway, counterparty: Counterparty) -> None:
        self.gateway = gateway
        self.counterparty = counterparty
        self.app = webtest.TestApp(gateway.app)
        self.headers = {}
        self.login()

    @property
    def connector(self) -> FixConnector:
        found = self.gateway.services.connectors["upstream"]
        assert isinstance(found, FixConnector)
        return found

    def settle(self, timeout: float = 5.0) -> None:
        """Nothing to wait for: FIX answers arrive on their own (tests use :func:`eventually`)."""

    def order_form(self, **form: Any) -> dict[str, Any]:
        return {"instrument": INSTRUMENT, "currentAsk": ASK, "currentBid": BID, **form}

    def quote(self, instrument: str, bid: float, ask: float) -> None:
        """Move the counterparty's market (and wait until the gateway saw it)."""
        self.counterparty.quote(UPSTREAM_SYMBOL, bid, ask)
        eventually(lambda: self._quoted(bid, ask))

    def _quoted(self, bid: float, ask: float) -> bool:
        market = self.gateway.services.market
        assert market is not None
        quote = market.quotes.get(INSTRUMENT).quote
        return quote is not None and (quote.bid, quote.ask) == (bid, ask)

    def status(self, order_id: str) -> str:
        order = self.orders().get(order_id)
        return "" if order is None else str(order["status"])


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll until ``check`` holds (FIX answers are asynchronous)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@contextmanager
def fix_desk(
    config: GatewayConfig, counterparty: Counterparty, port: int | None = None, **changes: Any
) -> Iterator[FixDesk]:
    """A started gateway logged on to ``counterparty`` (through ``port``, e.g. a proxy's)."""
    if UPSTREAM_SYMBOL not in counterparty.call("quotes"):
        counterparty.quote(UPSTREAM_SYMBOL, BID, ASK)
    target = counterparty.port if port is None else port
    gateway = build(fix_config(config, target, **changes), registry=registry())
    gateway.start()
    try:
        desk = FixDesk(gateway, counterparty)
        counterparty.wait_logon()
        eventually(lambda: desk.connector.logged_on)
        eventually(lambda: desk._quoted(*counterparty.call("quotes")[UPSTREAM_SYMBOL]))
        yield desk
    finally:
        gateway.close()


__all__ = ["ACCOUNT", "FixDesk", "eventually", "fix_config", "fix_desk", "free_port"]
