"""A raw HTTP/1.1 client for endless chunked streams: headers as sent, each line timestamped."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    """One message and when it arrived (wall clock)."""

    at: float
    message: Any
    """A JSON object, or an array (the trading streams send arrays of changed entities)."""


@dataclass
class StreamClient:
    """Reads ``path`` on a background thread until :meth:`close`."""

    host: str
    port: int
    path: str = "/streaming"
    receive_buffer: int | None = None
    read: bool = True
    token: str | None = None
    """Sent as a bearer token (the trading streams need one)."""
    tls: ssl.SSLContext | None = None
    """Speak TLS (to nginx in front of the gateway)."""
    status: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    messages: list[Received] = field(default_factory=list)
    closed_by_server: bool = False
    finished_at: float | None = None
    """When the server ended the body cleanly, with HTTP's last chunk (None: it did not)."""
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def open(self) -> StreamClient:
        """Connect and send the request; reading starts unless ``read`` is False."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        sock.connect((self.host, self.port))
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        auth = f"Authorization: Bearer {self.token}\r\n" if self.token else ""
        sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n{auth}\r\n".encode())
        self._sock = sock
        if self.read:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        assert self._sock is not None
        # Blocking reads: a socket file that once timed out refuses every later read, so a
        # quiet second on the stream would look like the server closing it. close() wakes
        # the reader by shutting the socket down.
        reader = self._sock.makefile("rb")
        try:
            self.status = reader.readline().decode().strip()
            while (line := reader.readline().decode().strip()) != "":
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()
            pending = b""
            while not self._stop.is_set():
                size_line = reader.readline()
                size = int(size_line.strip() or b"0", 16) if size_line else 0
                if size == 0:
                    self.closed_by_server = not self._stop.is_set()
                    if size_line.strip() == b"0":
                        reader.readline()  # the empty line after the last chunk
                        self.finished_at = time.time()
                    return
                chunk = reader.read(size)
                reader.readline()  # the CRLF after each chunk
                now = time.time()
                pending += chunk
                *lines, pending = pending.split(b"\n")
                self.messages.extend(Received(now, json.loads(x)) for x in lines if x)
        except (OSError, ValueError):
            self.closed_by_server = not self._stop.is_set()

    def wait_for_first(self, timeout: float = 10) -> None:
        """Block until the first message (the heartbeat sent at once) has arrived."""
        deadline = time.monotonic() + timeout
        while not self.messages:
            if time.monotonic() > deadline:
                raise AssertionError(f"no message within {timeout}s (status {self.status!r})")
            time.sleep(0.02)

    def drain_socket(self, timeout: float = 5) -> bool:
        """For a client that was not reading: read what is buffered; True if the server has
        closed the connection (end of stream reached before ``timeout`` of silence)."""
        assert self._sock is not None
        self._sock.settimeout(timeout)
        try:
            while self._sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except OSError:
            return True
        return True

    def close(self) -> None:
        """Stop reading and close the socket."""
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed by the server
                self._sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
