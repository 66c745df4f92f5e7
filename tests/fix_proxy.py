"""A TCP relay between the gateway and its FIX counterparty that can break the link on purpose.

It drops connections, refuses new ones, swallows what the gateway sends, corrupts a message on
its way to the gateway, or slips bytes in between messages: the faults a real network and a
real upstream produce, made to order.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class Proxy:
    """Listens on ``port`` and relays each connection to ``upstream``."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        self.refuse = False
        self.swallow = False  # drop what the gateway sends (it never reaches the upstream)
        self._corrupt: bytes | None = None
        self.corrupted = 0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._pairs.append((client, server))
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, outbound: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if outbound and self.swallow:
                    continue
                if not outbound:
                    data = self._maybe_corrupt(data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _maybe_corrupt(self, data: bytes) -> bytes:
        with self._lock:
            marker = self._corrupt
            if marker is None:
                return data
            at = data.find(marker)
            if at < 0:
                return data
            self._corrupt = None
            self.corrupted += 1
        # Flip one character of the body (after the marker): the checksum no longer matches.
        spot = at + len(marker) + 1
        flipped = bytes([data[spot] ^ 0x01])
        return data[:spot] + flipped + data[spot + 1 :]

    def corrupt_next(self, marker: bytes) -> None:
        """Garble the next message to the gateway that contains ``marker``."""
        with self._lock:
            self._corrupt = marker

    def inject(self, data: bytes) -> None:
        """Write ``data`` to the gateway on every open connection."""
        with self._lock:
            pairs = list(self._pairs)
        for client, _ in pairs:
            with suppress(OSError):
                client.sendall(data)

    def drop(self) -> None:
        """Cut every open connection at once (no Logout, no FIN handshake etiquette)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        """Stop listening and cut everything."""
        self._stopping.set()
        self._server.close()
        self.drop()


@contextmanager
def proxy(upstream: int) -> Iterator[Proxy]:
    """A relay to ``upstream`` for the length of a test."""
    relay = Proxy(upstream)
    try:
        yield relay
    finally:
        relay.close()
