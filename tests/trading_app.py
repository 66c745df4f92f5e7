"""A demo gateway trading on the paper venue, priced by a fake feed the test drives."""

from __future__ import annotations

import dataclasses
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import webtest

from connectors.paper import Paper, PaperOptions
from gateway.app import Gateway, build
from gateway.config import GatewayConfig
from gateway.config.accounts import Account, AccountFlags
from gateway.config.market import Market
from gateway.config.model import ConnectorSpec
from gateway.config.trading import Trading
from gateway.conformance.schemas import assert_valid
from gateway.plugins.records import Quote
from gateway.plugins.registry import Registry
from gateway.plugins.testing import FakeMarketData, NoOptions
from tests.conftest import FakeClock
from tests.market_app import WEDNESDAY_15H

ACCOUNT = "DEMO-USD"
PRICES = {
    "EURUSD": (1.08000, 1.08010),
    "AAPL": (190.00, 190.02),
    "BTCUSD": (60000.0, 60001.0),
    "ESZ2026": (6000.00, 6000.25),
}


def trading_config(
    config: GatewayConfig, flags: dict[str, bool] | None = None, **paper: Any
) -> GatewayConfig:
    """The demo with a fake feed, the paper venue and (optionally) DEMO-USD's flags changed."""
    accounts: list[Account] = []
    for account in config.accounts:
        if account.id == ACCOUNT and flags:
            account = dataclasses.replace(
                account, flags=dataclasses.replace(account.flags, **flags)
            )
        accounts.append(account)
    return dataclasses.replace(
        config,
        accounts=tuple(accounts),
        connectors={
            "feed": ConnectorSpec("fake_market_data", NoOptions()),
            "paper": ConnectorSpec("paper", PaperOptions(**paper)),
        },
        market=Market(feeds=("feed",)),
        trading=Trading(venue="paper"),
    )


def registry() -> Registry:
    reg = Registry()
    reg.register(FakeMarketData)
    reg.register(Paper)
    return reg


class Desk:
    """A running trading gateway, its feed, and a logged-in WebTest client."""

    def __init__(self, gateway: Gateway, clock: FakeClock) -> None:
        self.gateway = gateway
        self.clock = clock
        feed = gateway.services.connectors["feed"]
        assert isinstance(feed, FakeMarketData)
        self.feed = feed
        self.app = webtest.TestApp(gateway.app)
        self.headers: dict[str, str] = {}
        self.login()

    def login(self) -> None:
        """A fresh token (after the test moved the clock past the old one's lifetime)."""
        token = self.app.post("/authorize", {"login": "demo", "password": "demo"}).json
        self.headers = {"Authorization": f"Bearer {token['d']['access_token']}"}

    def advance(self, seconds: float) -> None:
        """Move the clock and log in again."""
        self.clock.advance(seconds)
        self.login()

    def quote(self, instrument: str, bid: float, ask: float) -> None:
        """Publish a quote and wait until the paper venue has looked at it."""
        self.feed.emit(Quote(instrument, self.clock(), bid, 1e6, ask, 1e6))
        self.settle()

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until the venue's worker has nothing left to do."""
        venue = self.gateway.services.connectors["paper"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if venue.idle():
                return
            time.sleep(0.002)
        raise AssertionError("the paper venue did not settle")

    def url(self, path: str, account: str = ACCOUNT) -> str:
        return f"/accounts/{account}{path}"

    def call(
        self,
        method: str,
        path: str,
        op: str,
        form: dict[str, Any] | None = None,
        account: str = ACCOUNT,
        **query: Any,
    ) -> Any:
        """One API call; the answer is checked against the spec's schema of ``op``."""
        url = self.url(path, account)
        if query:
            url += "?" + urllib.parse.urlencode(query)
        body = urllib.parse.urlencode(form or {})
        headers = self.headers | {"Content-Type": "application/x-www-form-urlencoded"}
        resp = self.app.request(url, method=method, body=body.encode(), headers=headers)
        assert resp.status_int == 200, resp.text
        answer = resp.json
        assert_valid(op, answer)
        return answer

    def get(self, path: str, op: str, account: str = ACCOUNT, **query: Any) -> Any:
        return self.call("GET", path, op, None, account, **query)

    def post(
        self, path: str, op: str, form: dict[str, Any], account: str = ACCOUNT, **query: Any
    ) -> Any:
        return self.call("POST", path, op, form, account, **query)

    def put(self, path: str, op: str, form: dict[str, Any], account: str = ACCOUNT) -> Any:
        return self.call("PUT", path, op, form, account)

    def delete(
        self, path: str, op: str, form: dict[str, Any] | None = None, account: str = ACCOUNT
    ) -> Any:
        return self.call("DELETE", path, op, form, account)

    def order_form(self, **form: Any) -> dict[str, Any]:
        """A placeOrder body with the ticket's current quote filled in."""
        bid, ask = PRICES.get(form.get("instrument", "EURUSD"), (1.0, 1.0))
        return {"instrument": "EURUSD", "currentAsk": ask, "currentBid": bid, **form}

    def try_place(
        self, account: str = ACCOUNT, query: dict[str, Any] | None = None, **form: Any
    ) -> Any:
        """Place an order; the answer, whatever it is."""
        answer = self.post(
            "/orders", "placeOrder", self.order_form(**form), account, **(query or {})
        )
        self.settle()
        return answer

    def place(self, account: str = ACCOUNT, **form: Any) -> str:
        """Place an order that must succeed; its id."""
        answer = self.try_place(account, **form)
        assert answer["s"] == "ok", answer
        order_id: str = answer["d"]["orderId"]
        return order_id

    def orders(self, account: str = ACCOUNT) -> dict[str, dict[str, Any]]:
        answer = self.get("/orders", "getOrders", account)
        assert answer["s"] == "ok", answer
        return {o["id"]: o for o in answer["d"]}

    def positions(self, account: str = ACCOUNT) -> list[dict[str, Any]]:
        answer = self.get("/positions", "getPositions", account)
        assert answer["s"] == "ok", answer
        result: list[dict[str, Any]] = answer["d"]
        return result

    def state(self, account: str = ACCOUNT) -> dict[str, Any]:
        answer = self.get("/state", "getState", account)
        assert answer["s"] == "ok", answer
        result: dict[str, Any] = answer["d"]
        return result


@contextmanager
def desk(
    config: GatewayConfig,
    clock: FakeClock | None = None,
    flags: dict[str, bool] | None = None,
    quotes: bool = True,
    **paper: Any,
) -> Iterator[Desk]:
    """A started trading gateway with every instrument quoted at :data:`PRICES`."""
    clock = clock or FakeClock(WEDNESDAY_15H)
    gateway = build(trading_config(config, flags, **paper), clock=clock, registry=registry())
    gateway.start()
    try:
        d = Desk(gateway, clock)
        if quotes:
            for name, (bid, ask) in PRICES.items():
                d.quote(name, bid, ask)
        yield d
    finally:
        gateway.close()


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll until ``check`` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


__all__ = ["ACCOUNT", "PRICES", "AccountFlags", "Desk", "desk", "trading_config", "wait_for"]
