"""Connections for a session: the initiator dials with backoff, the acceptor listens.

Both keep a session across connections: a dropped link is dialled (or awaited) again, and the
session resumes its numbers from the store.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

from connectors.fix._schedule import Schedule
from connectors.fix._session import Session

log = logging.getLogger("gateway.connectors.fix")


class Initiator:
    """Dials the counterparty and keeps the session up while it should run."""

    def __init__(
        self,
        session: Session,
        host: str,
        port: int,
        *,
        backoff: tuple[float, float] = (1.0, 30.0),
        schedule: Schedule | None = None,
        may_run: Callable[[], bool] = lambda: True,
    ) -> None:
        """``may_run`` says whether this process may hold the session now (its owner)."""
        self.session = session
        self.host = host
        self.port = port
        self.backoff = backoff
        self.schedule = schedule
        self.may_run = may_run
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_reason = ""
        self.connects = 0
        session.keep = self._keep

    def start(self) -> None:
        """Start dialling in a thread of its own."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="fix-initiator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Log out and stop dialling."""
        self._stopping.set()
        if self.session.state != "disconnected":
            self.session.logout("the gateway is stopping")
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _keep(self) -> str | None:
        if self._stopping.is_set():
            return "the gateway is stopping"
        if not self.may_run():
            return "this process no longer owns the session"
        if self.schedule is not None and self.schedule.period(self.session.clock()) is None:
            return "the session's scheduled time is over"
        return None

    def _period(self) -> tuple[float, float] | bool | None:
        if self.schedule is None:
            return True
        return self.schedule.period(self.session.clock())

    def _run(self) -> None:
        delay = self.backoff[0]
        while not self._stopping.is_set():
            period = self._period()
            if not period or not self.may_run():
                self._stopping.wait(0.5)
                continue
            if isinstance(period, tuple):
                self._enter_period(period[0])
            try:
                sock = socket.create_connection((self.host, self.port), timeout=5)
            except OSError as exc:
                self.last_reason = f"cannot connect to {self.host}:{self.port}: {exc}"
                log.warning("%s: %s; again in %.0f s", self.session.name, self.last_reason, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            self.connects += 1
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            started = time.monotonic()
            reason = self.session.run(sock, initiate=True)
            self.last_reason = reason
            log.warning("%s: disconnected: %s", self.session.name, reason)
            if time.monotonic() - started > self.backoff[1]:
                delay = self.backoff[0]  # it was up for a while: dial again soon
            if self._stopping.is_set():
                break
            self._stopping.wait(delay)
            delay = min(delay * 2, self.backoff[1])

    def _enter_period(self, start: float) -> None:
        """A new scheduled period is a new FIX session: numbers start again from 1."""
        stored = self.session.store.load().period_start
        if stored is None or abs(stored - start) > 0.5:
            if stored is not None:
                log.info("%s: new session period: sequence numbers reset", self.session.name)
            self.session.store.reset(start)


class Acceptor:
    """Listens for the counterparty of one session (the venue simulator's side)."""

    def __init__(self, session: Session, host: str, port: int) -> None:
        """Bind now, so that the caller knows the port (0 picks a free one)."""
        self.session = session
        self._server = socket.create_server((host, port), reuse_port=False)
        self._server.settimeout(0.5)
        self.port = int(self._server.getsockname()[1])
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()

    def start(self) -> None:
        """Accept connections in a thread of its own."""
        self._thread = threading.Thread(target=self._run, name="fix-acceptor", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        """Accept connections on this thread until :meth:`stop`."""
        self._run()

    def stop(self) -> None:
        """Log out, stop listening."""
        self._stopping.set()
        if self.session.state != "disconnected":
            self.session.logout("the venue is stopping")
        self._server.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, peer = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._busy.acquire(blocking=False):
                log.warning("%s: refused a second connection from %s", self.session.name, peer)
                sock.close()
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(
                target=self._serve, args=(sock,), name="fix-acceptor-session", daemon=True
            ).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            reason = self.session.run(sock, initiate=False)
            log.info("%s: connection ended: %s", self.session.name, reason)
        finally:
            self._busy.release()
