"""The identity role filled by the ``users`` list of the configuration file."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.auth.passwords import verify_password
from gateway.config.model import User
from gateway.plugins.records import Principal


class ConfiguredUsers:
    """Users with salted password hashes from YAML."""

    def __init__(self, users: Sequence[User]) -> None:
        self._users = {u.login: u for u in users}

    def authenticate(self, login: str, password: str) -> Principal | None:
        """The principal for valid credentials."""
        user = self._users.get(login)
        stored = user.password_hash.reveal() if user else None
        if not verify_password(stored, password) or user is None:
            return None
        return _principal(user)

    def lookup(self, login: str) -> Principal | None:
        """The principal of a known login."""
        user = self._users.get(login)
        return _principal(user) if user else None


def _principal(user: User) -> Principal:
    return Principal(user.login, user.accounts, user.groups)
