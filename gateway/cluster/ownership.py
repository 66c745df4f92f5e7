"""The feeds' one owner in the cluster: a lease in the shared store.

Each process tries to take the lease every sixth of its ``ttl``. The holder runs the feeds
(their connectors are started only there) and writes the bars; when it dies, its lease expires
and another process takes over within one ``ttl`` (docs/operations.md). The store lease is the
one the FIX session uses: one mechanism, atomic on PostgreSQL, MariaDB and SQLite alike.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from gateway.store.leases import Lease

log = logging.getLogger("gateway.cluster")


class Ownership:
    """Runs ``gain`` when this process takes the lease and ``lose`` when it loses it.

    Renewing never waits for ``gain``: starting feeds may take long (a week of back-fill to
    import), and a lease not renewed meanwhile would expire and be taken by a second owner.
    The renewing thread decides; another one carries the decisions out, in order.
    """

    def __init__(self, lease: Lease, gain: Callable[[], None], lose: Callable[[], None]) -> None:
        self.lease = lease
        self._gain = gain
        self._lose = lose
        self.owning = False
        """Whether what the lease guards runs in this process (set once ``gain`` returned)."""
        self._want = False
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Try at once, then keep trying and renewing in a thread."""
        self._stopping.clear()
        self.renew()
        self._threads = [
            threading.Thread(target=self._renewing, name="feed-lease", daemon=True),
            threading.Thread(target=self._carrying_out, name="feed-owner", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _renewing(self) -> None:
        while not self._stopping.wait(self.lease.ttl / 6):
            self.renew()

    def renew(self) -> None:
        """Renew or take the lease; start or stop what it guards accordingly (in the background)."""
        try:
            self.lease.acquire()
        except SQLAlchemyError as exc:  # the store is away: the lease runs out on its own
            log.warning("cannot renew the feeds' lease: %s", type(exc).__name__)
        held = self.lease.held
        with self._changed:
            if held != self._want:
                self._want = held
                if not held:
                    # At once, not when the stopping is done: nothing may act as the owner
                    # (write bars, move stops) once another process may have taken over.
                    self.owning = False
                self._changed.notify_all()

    def _carrying_out(self) -> None:
        running = False

        def due() -> bool:
            return self._stopping.is_set() or self._want != running

        while True:
            with self._changed:
                self._changed.wait_for(due)
                if self._stopping.is_set():
                    break
                want = self._want
            if want:
                log.info("this process now runs the feeds (%s)", self.lease.holder)
                try:
                    self._gain()
                except Exception:
                    log.exception("starting the feeds failed; giving the lease up")
                    self._stop_guarded()
                    self._release()
                    with self._changed:
                        self._want = False
                    continue
                running = True
                with self._changed:
                    self.owning = self._want
            else:
                log.info("this process no longer runs the feeds (%s)", self.lease.holder)
                running = False
                self._stop_guarded()
        if running:
            self._stop_guarded()

    def _stop_guarded(self) -> None:
        try:
            self._lose()
        except Exception:
            log.exception("stopping the feeds failed")

    def _release(self) -> None:
        try:
            self.lease.release()
        except SQLAlchemyError as exc:
            log.warning("cannot release the feeds' lease: %s", type(exc).__name__)

    def stop(self) -> None:
        """Stop what the lease guards and release it, so another process takes over at once."""
        with self._changed:
            self._stopping.set()
            self.owning = False
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []
        self._release()

    def health(self) -> tuple[bool, str]:
        """For ``/readyz``: always ready; says whether this process runs the feeds."""
        if self.owning:
            return True, "this process runs the feeds"
        return True, "another process runs the feeds"
