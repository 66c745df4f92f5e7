"""CORS for the browser-called half: an allow-list of origins, echoed exactly.

TradingView's pages live on many sub-domains of tradingview.com (and xstaging.tv for the
sandbox); the spec asks for the exact requesting origin on every response of every status.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import falcon

from gateway.config.types import Duration, OriginPattern

_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
_BASE_HEADERS = ("Authorization", "Content-Type")


class CorsMiddleware:
    """Answers pre-flights and adds ``Access-Control-Allow-Origin`` to every response."""

    def __init__(self, origins: Sequence[OriginPattern], max_age: Duration) -> None:
        self._patterns = [o.regex() for o in origins]
        self._max_age = str(int(max_age.seconds))

    def allowed(self, origin: str) -> bool:
        """Whether a request ``Origin`` value is on the allow-list."""
        candidate = origin.strip().lower()
        return any(p.match(candidate) for p in self._patterns)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer a pre-flight before routing, whatever the path."""
        if req.method != "OPTIONS" or not req.get_header("Access-Control-Request-Method"):
            return
        resp.status = falcon.HTTP_204
        resp.complete = True
        origin = req.get_header("Origin")
        if not origin or not self.allowed(origin):
            return  # no CORS headers: the browser refuses the real request
        resp.set_header("Access-Control-Allow-Methods", _METHODS)
        resp.set_header("Access-Control-Allow-Headers", self._allow_headers(req))
        resp.set_header("Access-Control-Max-Age", self._max_age)

    @staticmethod
    def _allow_headers(req: falcon.Request) -> str:
        # Echo what the browser asks for (the origin is already trusted), always including
        # Authorization, so that a header TradingView adds later does not break trading.
        asked = [
            h.strip() for h in (req.get_header("Access-Control-Request-Headers") or "").split(",")
        ]
        names = list(_BASE_HEADERS)
        lowered = {n.lower() for n in names}
        for name in asked:
            if name and _TOKEN.match(name) and name.lower() not in lowered:
                names.append(name)
                lowered.add(name.lower())
        return ", ".join(names)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        """Echo an allowed origin on every response, errors included."""
        resp.append_header("Vary", "Origin")
        origin = req.get_header("Origin")
        if origin and self.allowed(origin):
            resp.set_header("Access-Control-Allow-Origin", origin)
