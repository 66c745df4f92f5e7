"""Change notifications for trading streams within one process.

Streams wait here instead of polling the store: every committed change of an account bumps its
counter and wakes the streams of that account. Changes made by other processes are noticed
through the store's account version, which streams also read on their regular re-check, and at
once when a cluster bus carries them (:attr:`Changes.forward`, :meth:`Changes.touch_remote`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Changes:
    """A counter per account and a condition to wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}
        self._everyone = 0
        self._closed = False
        self.forward: Callable[[str | None], None] | None = None
        """Where this process's changes go besides its own streams (the cluster's bus):
        an account id, or None for a change that may concern any account."""

    def touch(self, account_id: str) -> None:
        """Note a change of ``account_id`` and wake its waiters (and other processes')."""
        self.touch_remote(account_id)
        if self.forward is not None:
            self.forward(account_id)

    def touch_all(self) -> None:
        """Note a change that may concern any account (a notification without an account)."""
        self.touch_remote(None)
        if self.forward is not None:
            self.forward(None)

    def touch_remote(self, account_id: str | None) -> None:
        """Note a change another process made (None: any account); it is not forwarded."""
        with self._cond:
            if account_id is None:
                self._everyone += 1
            else:
                self._versions[account_id] = self._versions.get(account_id, 0) + 1
            self._cond.notify_all()

    def _version(self, account_id: str) -> int:
        # Both counters only grow: their sum moves whenever either does.
        return self._versions.get(account_id, 0) + self._everyone

    def version(self, account_id: str) -> int:
        """The current counter of an account."""
        with self._cond:
            return self._version(account_id)

    def wait(self, account_id: str, seen: int, timeout: float) -> int:
        """Block until the account's counter differs from ``seen`` or ``timeout`` passes."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._version(account_id) != seen, timeout)
            return self._version(account_id)

    def close(self) -> None:
        """Wake every waiter (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether the process is shutting down."""
        return self._closed
