"""``GET /accounts`` and ``GET /accounts/{accountId}/instruments``."""

from __future__ import annotations

from typing import Any, ClassVar

import falcon

from gateway.api._wire import PerLocale, to_wire
from gateway.config.accounts import Account
from gateway.errors import ApiError
from gateway.http.render import locale_of, ok
from gateway.plugins.records import Principal
from gateway.services import Services


def account_for(services: Services, principal: Principal, account_id: str) -> Account:
    """The configured account if this user may use it.

    Otherwise the same error whether the account exists or not, so that the ids of other
    users' accounts do not leak.
    """
    account = services.directory.find(principal, account_id)
    if account is None:
        raise ApiError("unknown_account", account=account_id)
    return account


def account_wire(account: Account, locale: str) -> dict[str, Any]:
    """The spec's Account object."""
    out: dict[str, Any] = to_wire(account, locale)
    out["config"] = account.flags.wire()
    return out


class AccountsResource:
    """The accounts of the logged-in user."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services
        by_id = {a.id: a for a in services.config.accounts}
        self._configured = by_id
        self._rendered = PerLocale[str](lambda aid, locale: account_wire(by_id[aid], locale))

    def _wire(self, account: Account, locale: str) -> Any:
        if self._configured.get(account.id) is account:
            return self._rendered.get(account.id, locale)
        # Made from a profile: its name and currency follow the broker's tables, so each
        # request renders it (a few fields).
        return account_wire(account, locale)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Accounts (spec operation ``getAccounts``)."""
        locale = locale_of(req)
        principal: Principal = req.context.principal
        ok(resp, [self._wire(a, locale) for a in self._s.directory.listed(principal)])


class InstrumentsResource:
    """The instruments tradable in one account."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services
        by_name = {i.name: i for i in services.config.instruments}
        self._by_name = by_name
        # Keyed by the account's instrument list: profile-made accounts share their profile's.
        self._rendered = PerLocale[tuple[str, ...] | None](self._render)

    def _render(self, names: tuple[str, ...] | None, locale: str) -> list[Any]:
        return [to_wire(self._by_name[n], locale) for n in (names or self._by_name)]

    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: str) -> None:
        """Instruments (spec operation ``getInstruments``)."""
        account = account_for(self._s, req.context.principal, account_id)
        ok(resp, self._rendered.get(account.instruments, locale_of(req)))
