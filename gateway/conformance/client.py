"""The HTTP client of the checks: one request at a time, JSON parsed, every failure a reason."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.conformance.model import CheckFailed


@dataclass(frozen=True)
class Answer:
    """One response: its status, headers (lower-case names) and body, parsed when JSON."""

    status: int
    headers: dict[str, str]
    body: bytes
    json: Any
    """The parsed body, or None when it is not JSON."""

    def ok_json(self, what: str) -> dict[str, Any]:
        """The body of a 200 ``{"s": "ok", ...}`` answer; CheckFailed naming ``what`` if not."""
        if self.status != 200:
            raise CheckFailed(f"{what}: HTTP {self.status} (expected 200): {self.body[:200]!r}")
        if not isinstance(self.json, dict):
            raise CheckFailed(f"{what}: the body is not a JSON object: {self.body[:200]!r}")
        if self.json.get("s") != "ok":
            raise CheckFailed(f"{what}: s is {self.json.get('s')!r}, not 'ok': {self.json}")
        return self.json


class Client:
    """Requests to the server under test (``url`` with its base path), with a bearer token."""

    def __init__(self, url: str, timeout: float = 30.0, verify_tls: bool = True) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.base = parts.path.rstrip("/")
        self.timeout = timeout
        self.token: str | None = None
        self._tls = ssl.create_default_context()
        if not verify_tls:
            self._tls.check_hostname = False
            self._tls.verify_mode = ssl.CERT_NONE

    def connection(self) -> http.client.HTTPConnection:
        """A new connection to the server."""
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self._tls
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def path(self, path: str, params: dict[str, object] | None = None) -> str:
        """``path`` under the base path, with its query."""
        query = urllib.parse.urlencode({k: str(v) for k, v in (params or {}).items()})
        return self.base + path + (f"?{query}" if query else "")

    def get(
        self, path: str, params: dict[str, object] | None = None, *, auth: bool = True
    ) -> Answer:
        """``GET path?params``, with the token unless ``auth`` is False."""
        return self.request("GET", path, params, auth=auth)

    def post_form(self, path: str, form: dict[str, str], *, auth: bool = False) -> Answer:
        """``POST path`` with a form body."""
        return self.send_form("POST", path, form, auth=auth)

    def send_form(
        self,
        method: str,
        path: str,
        form: Mapping[str, object],
        params: dict[str, object] | None = None,
        *,
        auth: bool = True,
    ) -> Answer:
        """``method path?params`` with ``form`` as an urlencoded body (the trading writes)."""
        body = urllib.parse.urlencode({k: str(v) for k, v in form.items()}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request(method, path, params, auth=auth, body=body, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, object] | None = None,
        *,
        auth: bool = True,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """One request; a connection error or a timeout is a CheckFailed with its reason."""
        sent = {"Accept": "application/json", **(headers or {})}
        if auth and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        conn = self.connection()
        target = self.path(path, params)
        try:
            conn.request(method, target, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise CheckFailed(f"{method} {target}: {type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        names = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, names, data, parsed)
