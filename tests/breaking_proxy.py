"""A reverse proxy in front of a real gateway that breaks one trading rule at a time.

The trading half is too large to fake by hand for ``gateway conformance``'s broken-server tests,
so the served demo answers and this proxy spoils the answers in one chosen way.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Spoil:
    """What the proxy gets wrong."""

    no_cors: bool = False
    """Drops every ``Access-Control-*`` header (a server that never heard of CORS)."""
    orphan_brackets: bool = False
    """Drops ``parentId`` and ``parentType`` from the orders of ``/orders``."""
    token_optional: bool = False
    """Sends the proxy's own token when a request has none (a server that skips the check)."""


def _spoiled_body(path: str, body: bytes, spoil: Spoil) -> bytes:
    if not (spoil.orphan_brackets and path.split("?")[0].endswith("/orders")):
        return body
    try:
        document: Any = json.loads(body)
    except ValueError:
        return body  # a pre-flight's empty answer
    listed = document.get("d")
    for order in listed if isinstance(listed, list) else []:  # GET, not a placement's answer
        order.pop("parentId", None)
        order.pop("parentType", None)
    return json.dumps(document).encode()


@contextmanager
def proxying(port: int, spoil: Spoil, token: str = "") -> Iterator[str]:
    """A proxy to the gateway on ``port``, spoiling as ``spoil`` says; its URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """No access log."""

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            if spoil.token_optional and "Authorization" not in self.headers and token:
                headers["Authorization"] = f"Bearer {token}"
            upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = _spoiled_body(self.path, answer.read(), spoil)
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    lower = name.lower()
                    if lower in ("content-length", "transfer-encoding", "connection"):
                        continue
                    if spoil.no_cors and lower.startswith("access-control-"):
                        continue
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                upstream.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = _forward  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
