"""Which accounts a user sees, and the configuration each one is served with.

An account is configured in the YAML's ``accounts``, matched by id, or — for the many accounts
of a broker whose identity connector lists them from its own tables — made from one of the
``account_profiles``: the profile's flags, UI, instruments and durations, with the id, name,
currency and type the connector listed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import replace

from gateway.config.accounts import Account, account_id
from gateway.config.types import Text
from gateway.plugins.records import AccountListing, Principal

log = logging.getLogger("gateway.accounts")

DEFAULT_PROFILE = "default"
"""The profile of a listing that names none."""

MAX_MADE = 100_000
"""Accounts made from profiles kept at once (one small object each)."""


class AccountDirectory:
    """Resolves a user's account ids to the configured or profile-made accounts."""

    def __init__(self, accounts: Iterable[Account], profiles: Iterable[Account]) -> None:
        """Index the configured accounts and profiles by id."""
        self._accounts = {a.id: a for a in accounts}
        self._profiles = {p.id: p for p in profiles}
        self._made: dict[tuple[str | None, ...], Account] = {}
        self._lock = threading.Lock()

    def find(self, principal: Principal, account_id: str) -> Account | None:
        """The account if this user may use it; None otherwise."""
        if account_id not in principal.accounts:
            return None
        configured = self._accounts.get(account_id)
        if configured is not None:
            return configured  # the YAML's entry says exactly how to serve it
        listing = principal.listing(account_id)
        if listing is None or not self._profiles:
            return None
        return self._from_profile(listing)

    def listed(self, principal: Principal) -> list[Account]:
        """The accounts of a user, in the identity's order, each once."""
        found = (self.find(principal, a) for a in dict.fromkeys(principal.accounts))
        return [a for a in found if a is not None]

    def _from_profile(self, listing: AccountListing) -> Account | None:
        profile = self._profiles.get(listing.profile or DEFAULT_PROFILE)
        if profile is None:
            log.warning(
                "account %s: no account profile %r (account_profiles)",
                listing.id[:64],
                (listing.profile or DEFAULT_PROFILE)[:64],
            )
            return None
        if account_id(listing.id) is not None:
            # Ids go into URL paths; one the gateway cannot route is not served.
            log.warning("account %r: not served, %s", listing.id[:64], account_id(listing.id))
            return None
        key = (listing.id, listing.name, listing.currency, listing.type, profile.id)
        with self._lock:
            made = self._made.get(key)
            if made is not None:
                return made
        made = replace(
            profile,
            id=listing.id,
            name=Text.plain(listing.name[:200]) if listing.name else profile.name,
            currency=_currency(listing.currency) or profile.currency,
            type="demo" if listing.type == "demo" else "live" if listing.type else profile.type,
        )
        with self._lock:
            if len(self._made) >= MAX_MADE:
                self._made.clear()
            self._made[key] = made
        return made


def _currency(value: str | None) -> str | None:
    """A currency code as listed; anything that is not one is left to the profile."""
    if value and value.isascii() and value.isalnum() and len(value) <= 8:
        return value.upper()
    return None
