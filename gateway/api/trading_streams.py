"""The trading streams (spec §9.2): orders, positions, net and individual positions, state.

Each is one long response of JSON lines: the full list first, then arrays of the entities that
changed (each whole), ``{"id", "qty": 0}`` for a position that closed, the whole AccountState
whenever it changes, and ``{"s":"ok"}`` after ``trading.stream_ping`` of silence. A stream
wakes on every change of its account in this process (and in every other one, when a cluster's
bus carries the change) and re-reads the store at least every ``trading.stream_interval``
(quotes move P&L; other processes change orders).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import falcon
import orjson

from gateway.api._trading import (
    day_start,
    individual_wire,
    mapped_account,
    net_wires,
    order_wire,
    position_wire,
    state_wire,
    trading_account,
)
from gateway.api.account_state import snapshot
from gateway.api.orders import current_orders
from gateway.api.positions import open_positions
from gateway.config.accounts import Account
from gateway.errors import ApiError
from gateway.services import Services
from gateway.trading.mapped import MappedTrading
from gateway.trading.setup import TradingRuntime

Items = dict[str, dict[str, Any]]


def _line(message: object) -> bytes:
    return orjson.dumps(message) + b"\n"


class _TradingStream:
    """An entity stream; subclasses say which entities (``items``) and which flag it needs."""

    auth: ClassVar[str | None] = "trading"
    items: Callable[[TradingRuntime, Account], Items]
    """The current entities by id (a method of each subclass)."""
    flag: ClassVar[str | None] = None
    closed_as_zero: ClassVar[bool] = True
    priced: ClassVar[bool] = True
    """Whether the entities carry P&L, which moves with every quote."""
    single: ClassVar[bool] = False
    """One object (the AccountState) rather than entities by id."""

    def __init__(self, services: Services) -> None:
        self._s = services

    def check(self, account: Account) -> None:
        """Refuse accounts that do not offer this stream."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Open the stream."""
        resp.content_type = falcon.MEDIA_JSON
        resp.set_header("X-Accel-Buffering", "no")
        resp.set_header("Cache-Control", "no-store")
        if mapped := mapped_account(self._s, req, account_id, self.flag):
            source, account, login = mapped
            self.check(account)
            read = self.mapped_items(source, account, login)
            seen = source.changes.version(account.id)  # before reading: no change slips by
            first = read()  # before the stream starts: a failing query is an error answer
            ping = self._s.config.trading.stream_ping.seconds
            resp.stream = _polled(source, account.id, read, (first, seen), ping, self)
            return
        runtime, account = trading_account(self._s, req, account_id, self.flag)
        self.check(account)
        resp.stream = self._lines(runtime, account)

    def mapped_items(
        self, source: MappedTrading, account: Account, login: str
    ) -> Callable[[], Items | dict[str, Any]]:
        """Mapped mode: how to read this stream's entities from the connector."""
        raise ApiError("not_supported", feature="this stream")

    def _lines(self, runtime: TradingRuntime, account: Account) -> Iterator[bytes]:
        settings = self._s.config.trading
        ping, interval = settings.stream_ping.seconds, settings.stream_interval.seconds
        start = versions(runtime, account, self.priced)
        sent = self.items(runtime, account)
        yield _line(list(sent.values()))
        yield from _follow(
            runtime,
            account,
            ping,
            interval,
            lambda: self._changes(runtime, account, sent),
            priced=self.priced,
            start=start,
        )

    def _changes(self, runtime: TradingRuntime, account: Account, sent: Items) -> object | None:
        now = self.items(runtime, account)
        changed = [item for key, item in now.items() if sent.get(key) != item]
        if self.closed_as_zero:
            changed += [{"id": key, "qty": 0} for key in sent if key not in now]
        sent.clear()
        sent.update(now)
        return changed or None


def _follow(
    runtime: TradingRuntime,
    account: Account,
    ping: float,
    interval: float,
    changes: Callable[[], object | None],
    *,
    priced: bool,
    start: tuple[int, int, int],
) -> Iterator[bytes]:
    """Wait for changes (or the interval), send what changed, ping when quiet.

    Every ``interval`` the stream reads the account's version in the store (one row), which
    every change of any process bumps, and, when its entities carry P&L (``priced``), the
    version of the quotes; it recomputes its entities only when one of those, or this
    process's own notification, moved.
    """
    seen, stored, quoted = start
    last_sent = time.monotonic()
    while not runtime.changes.closed:
        runtime.changes.wait(account.id, seen, interval)
        now = versions(runtime, account, priced)
        message = None
        if now != (seen, stored, quoted):
            seen, stored, quoted = now
            message = changes()
        if message is not None:
            yield _line(message)
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent >= ping:
            yield _line({"s": "ok"})
            last_sent = time.monotonic()


def _polled(
    source: MappedTrading,
    account_id: str,
    read: Callable[[], Items | dict[str, Any]],
    start: tuple[Items | dict[str, Any], int],
    ping: float,
    kind: _TradingStream,
) -> Iterator[bytes]:
    """Mapped mode: re-read on a change signal or every ``poll_seconds``; send what changed.

    The broker's systems change orders without telling the gateway, so the stream compares
    what it reads with what it sent: entities that differ go out whole, vanished positions as
    ``{"id", "qty": 0}``. A state stream (``first`` is one AccountState) sends the whole state.
    The account's change signal (the gateway's own commands, the database's notifications)
    wakes it early. A failed read skips the round (the database may be restarting); the stream
    stays open.
    """
    single, closed_as_zero = kind.single, kind.closed_as_zero
    first, seen = start
    sent = first
    yield _line(first if single else list(first.values()))
    last_sent = time.monotonic()
    changes, poll = source.changes, source.poll_seconds
    next_poll = last_sent + poll
    while True:
        # Wake for a change signal, the next poll or the next ping, whichever comes first.
        clock = time.monotonic()
        version = changes.wait(account_id, seen, max(0.0, min(next_poll, last_sent + ping) - clock))
        if changes.closed:
            return
        clock = time.monotonic()
        message: object | None = None
        if version != seen or clock >= next_poll:
            seen, next_poll = version, clock + poll
            try:
                now = read()
            except ApiError:
                now = sent
            if single:
                message = now if now != sent else None
            else:
                changed = [item for key, item in now.items() if sent.get(key) != item]
                if closed_as_zero:
                    changed += [{"id": key, "qty": 0} for key in sent if key not in now]
                message = changed or None
            sent = now
        if message is not None:
            yield _line(message)
            last_sent = time.monotonic()
        elif clock - last_sent >= ping:
            yield _line({"s": "ok"})
            last_sent = time.monotonic()


def versions(runtime: TradingRuntime, account: Account, priced: bool) -> tuple[int, int, int]:
    """What a stream compares to know whether to recompute.

    Read *before* computing what it sends, so that a change committed meanwhile is noticed on
    the next round.
    """
    return (
        runtime.changes.version(account.id),
        runtime.ledger.version(account.id),
        _quotes_version(runtime) if priced else 0,
    )


def _quotes_version(runtime: TradingRuntime) -> int:
    market = runtime.prices.market
    return market.quotes.version if market is not None else 0


class StreamOrdersResource(_TradingStream):
    """``GET /accounts/{accountId}/stream/orders``."""

    def mapped_items(
        self, source: MappedTrading, account: Account, login: str
    ) -> Callable[[], Items | dict[str, Any]]:
        """The population of ``GET /orders``, by id."""
        clock = self._s.clock
        return lambda: {o["id"]: o for o in source.orders(account.id, login, day_start(clock()))}

    def items(self, runtime: TradingRuntime, account: Account) -> Items:
        """Orders by id (the population of ``GET /orders``)."""
        return {str(o.id): order_wire(o) for o in current_orders(runtime, account)}

    closed_as_zero = False
    priced = False


class StreamPositionsResource(_TradingStream):
    """``GET /accounts/{accountId}/stream/positions``."""

    flag = "support_positions"

    def check(self, account: Account) -> None:
        """Netting accounts stream net and individual positions instead."""
        if account.flags.support_position_netting:
            raise ApiError("not_supported", feature="the positions endpoints")

    def mapped_items(
        self, source: MappedTrading, account: Account, login: str
    ) -> Callable[[], Items | dict[str, Any]]:
        """Open positions by id."""
        return lambda: {p["id"]: p for p in source.positions(account.id, login)}

    def items(self, runtime: TradingRuntime, account: Account) -> Items:
        """Open positions by id."""
        return {
            str(p.id): position_wire(runtime, account, p) for p in open_positions(runtime, account)
        }


class StreamNetPositionsResource(_TradingStream):
    """``GET /accounts/{accountId}/stream/netPositions``."""

    flag = "support_position_netting"
    priced = False  # net positions carry no P&L

    def mapped_items(
        self, source: MappedTrading, account: Account, login: str
    ) -> Callable[[], Items | dict[str, Any]]:
        """Net positions by instrument, netted from the individual positions."""
        return lambda: {n["id"]: n for n in net_wires(source.held(account, login))}

    def items(self, runtime: TradingRuntime, account: Account) -> Items:
        """Net positions by instrument."""
        return {n["id"]: n for n in net_wires(open_positions(runtime, account))}


class StreamIndividualPositionsResource(_TradingStream):
    """``GET /accounts/{accountId}/stream/individualPositions``."""

    flag = "support_position_netting"

    def mapped_items(
        self, source: MappedTrading, account: Account, login: str
    ) -> Callable[[], Items | dict[str, Any]]:
        """Open individual positions by id."""
        return lambda: {p["id"]: p for p in source.individual_positions(account.id, login)}

    def items(self, runtime: TradingRuntime, account: Account) -> Items:
        """Individual positions by id."""
        return {
            str(p.id): individual_wire(runtime, account, p)
            for p in open_positions(runtime, account)
        }


class StreamStateResource(_TradingStream):
    """``GET /accounts/{accountId}/stream/state``: the whole AccountState on every change."""

    single = True

    def mapped_items(
        self, source: MappedTrading, account: Account, login: str
    ) -> Callable[[], Items | dict[str, Any]]:
        """The AccountState."""
        return lambda: source.state(account.id, login)

    def _lines(self, runtime: TradingRuntime, account: Account) -> Iterator[bytes]:
        settings = self._s.config.trading
        start = versions(runtime, account, True)
        last = state_wire(self._s, account, snapshot(runtime, account))
        yield _line(last)

        def changed() -> object | None:
            nonlocal last
            state = state_wire(self._s, account, snapshot(runtime, account))
            if state == last:
                return None
            last = state
            return state

        yield from _follow(
            runtime,
            account,
            settings.stream_ping.seconds,
            settings.stream_interval.seconds,
            changed,
            priced=True,
            start=start,
        )
