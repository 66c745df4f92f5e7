"""Positions, net positions and individual positions (spec §4.3–4.4, §9.5)."""

from __future__ import annotations

from typing import ClassVar

import falcon

from gateway.api._trading import (
    entity_id,
    form_of,
    individual_wire,
    mapped_account,
    net_wires,
    position_wire,
    trading_account,
    transaction,
)
from gateway.config.accounts import Account
from gateway.errors import ApiError
from gateway.http.render import ok
from gateway.services import Services
from gateway.trading.mapped import MappedTrading
from gateway.trading.model import Position
from gateway.trading.setup import TradingRuntime


def open_positions(runtime: TradingRuntime, account: Account) -> list[Position]:
    """The account's open positions, oldest first."""
    with runtime.ledger.read(account.id) as tx:
        return tx.open_positions()


def _positions_account(
    services: Services, req: falcon.Request, account_id: str
) -> tuple[TradingRuntime, Account]:
    runtime, account = trading_account(services, req, account_id, "support_positions")
    if account.flags.support_position_netting:
        # Netting accounts use /netPositions and /individualPositions instead (spec §9.5).
        raise ApiError("not_supported", feature="the positions endpoints")
    return runtime, account


def _mapped_positions(
    services: Services, req: falcon.Request, account_id: str, flag: str = "support_positions"
) -> tuple[MappedTrading, Account, str] | None:
    mapped = mapped_account(services, req, account_id, flag)
    if mapped is not None and mapped[1].flags.support_position_netting:
        raise ApiError("not_supported", feature="the positions endpoints")
    return mapped


def _position(runtime: TradingRuntime, account: Account, raw: str) -> Position:
    with runtime.ledger.read(account.id) as tx:
        position = tx.position(entity_id(raw, "position"))
    if position is None or position.closed_at is not None:
        raise ApiError("unknown_position", position=raw)
    return position


class PositionsResource:
    """``GET /accounts/{accountId}/positions``."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Positions (spec operation ``getPositions``)."""
        if mapped := _mapped_positions(self._s, req, account_id):
            source, account, login = mapped
            ok(resp, source.positions(account.id, login))
            return
        runtime, account = _positions_account(self._s, req, account_id)
        ok(resp, [position_wire(runtime, account, p) for p in open_positions(runtime, account)])


class PositionResource:
    """``PUT`` and ``DELETE /accounts/{accountId}/positions/{positionId}``."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_put(
        self, req: falcon.Request, resp: falcon.Response, account_id: str, position_id: str
    ) -> None:
        """Set brackets or reverse (spec operation ``modifyPosition``)."""
        if mapped := _mapped_positions(self._s, req, account_id):
            source, account, login = mapped
            source.modify_position(account, login, position_id, form_of(self._s, req))
            ok(resp, transaction(source.journal, account, "modify_position"))
            return
        runtime, account = _positions_account(self._s, req, account_id)
        form = form_of(self._s, req)
        position = _position(runtime, account, position_id)
        brackets, side = runtime.validator.position_change(
            account, position, form, individual=False
        )
        runtime.engine.modify_position(account, position.id, brackets, side)
        ok(resp, transaction(runtime.journal, account, "modify_position"))

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, account_id: str, position_id: str
    ) -> None:
        """Close, or close part of, a position (spec operation ``closePosition``)."""
        if mapped := _mapped_positions(self._s, req, account_id, "support_close_position"):
            source, account, login = mapped
            source.close_position(account, login, position_id, form_of(self._s, req))
            ok(resp, transaction(source.journal, account, "close_position"))
            return
        runtime, account = _positions_account(self._s, req, account_id)
        if not account.flags.support_close_position:
            raise ApiError("not_supported", feature="closing positions")
        form = form_of(self._s, req)
        position = _position(runtime, account, position_id)
        amount = runtime.validator.close_amount(account, position, form, individual=False)
        runtime.engine.close_position(account, position.id, amount)
        ok(resp, transaction(runtime.journal, account, "close_position"))


class NetPositionsResource:
    """``GET /accounts/{accountId}/netPositions``."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Net positions (spec operation ``getNetPositions``)."""
        if mapped := mapped_account(self._s, req, account_id, "support_position_netting"):
            source, account, login = mapped
            ok(resp, net_wires(source.held(account, login)))
            return
        runtime, account = trading_account(self._s, req, account_id, "support_position_netting")
        ok(resp, net_wires(open_positions(runtime, account)))


class NetPositionResource:
    """``DELETE /accounts/{accountId}/netPositions/{netPositionId}``."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, account_id: str, net_position_id: str
    ) -> None:
        """Close a net position and all its individual positions (``closeNetPosition``)."""
        if mapped := mapped_account(self._s, req, account_id, "support_position_netting"):
            source, account, login = mapped
            source.close_net_position(account, login, net_position_id)
            ok(resp, transaction(source.journal, account, "close_net_position"))
            return
        runtime, account = trading_account(self._s, req, account_id, "support_position_netting")
        runtime.engine.close_instrument(account, net_position_id)
        ok(resp, transaction(runtime.journal, account, "close_net_position"))


class IndividualPositionsResource:
    """``GET /accounts/{accountId}/individualPositions``."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Individual positions (spec operation ``getIndividualPositions``)."""
        if mapped := mapped_account(self._s, req, account_id, "support_position_netting"):
            source, account, login = mapped
            ok(resp, source.individual_positions(account.id, login))
            return
        runtime, account = trading_account(self._s, req, account_id, "support_position_netting")
        ok(
            resp,
            [individual_wire(runtime, account, p) for p in open_positions(runtime, account)],
        )


class IndividualPositionResource:
    """``PUT`` and ``DELETE /accounts/{accountId}/individualPositions/{id}``."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_put(
        self, req: falcon.Request, resp: falcon.Response, account_id: str, position_id: str
    ) -> None:
        """Set brackets (spec operation ``modifyIndividualPosition``)."""
        if mapped := mapped_account(self._s, req, account_id, "support_position_netting"):
            source, account, login = mapped
            form = form_of(self._s, req)
            source.modify_position(account, login, position_id, form, individual=True)
            ok(resp, transaction(source.journal, account, "modify_individual_position"))
            return
        runtime, account = trading_account(self._s, req, account_id, "support_position_netting")
        form = form_of(self._s, req)
        position = _position(runtime, account, position_id)
        brackets, _ = runtime.validator.position_change(account, position, form, individual=True)
        runtime.engine.modify_position(account, position.id, brackets, None)
        ok(resp, transaction(runtime.journal, account, "modify_individual_position"))

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, account_id: str, position_id: str
    ) -> None:
        """Close, or close part of, one individual position (``closeIndividualPosition``)."""
        if mapped := mapped_account(self._s, req, account_id, "support_position_netting"):
            source, account, login = mapped
            form = form_of(self._s, req)
            source.close_position(account, login, position_id, form, individual=True)
            ok(resp, transaction(source.journal, account, "close_individual_position"))
            return
        runtime, account = trading_account(self._s, req, account_id, "support_position_netting")
        form = form_of(self._s, req)
        position = _position(runtime, account, position_id)
        amount = runtime.validator.close_amount(account, position, form, individual=True)
        runtime.engine.close_position(account, position.id, amount)
        ok(resp, transaction(runtime.journal, account, "close_individual_position"))
