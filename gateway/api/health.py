"""Probes for operators and load balancers: ``/healthz`` (alive) and ``/readyz`` (able to serve).

Both are public and answer JSON outside TradingView's envelope. They are served at the root,
whatever ``server.base_path`` is, where probes look for them.

``/readyz`` answers 200 when every check passes and 503 otherwise, with each check's verdict:

* ``store``: the gateway's SQL store answers a query;
* ``market``: when a feed is configured, how long since the last tick; not ready when that is
  more than ``market.max_tick_age`` while the market of a symbol is open;
* ``bus`` and ``feeds`` in a cluster: whether this process receives the others' messages
  through Redis, and whether it runs the feeds or another process does;
* one check per connector that reports its health (``HealthReporting``), e.g. whether the FIX
  session is logged on.

The answers name no URL, host or credential: the probes are reachable by anyone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

import falcon
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from gateway.plugins.roles import HealthReporting
from gateway.services import Services

log = logging.getLogger("gateway.health")


@dataclass(frozen=True)
class Check:
    """One check's verdict."""

    ok: bool
    detail: str


def _no_store(resp: falcon.Response) -> None:
    resp.set_header("Cache-Control", "no-store")


class HealthResource:
    """``GET /healthz``: the process serves requests."""

    auth: ClassVar[str | None] = None

    def __init__(self, services: Services) -> None:
        self._services = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Always ok while the process answers."""
        _no_store(resp)
        resp.media = {"status": "ok"}


class ReadyResource:
    """``GET /readyz``: the store, the feeds and the connectors work."""

    auth: ClassVar[str | None] = None

    def __init__(self, services: Services) -> None:
        self._services = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """200 with every check when all pass, else 503."""
        checks = readiness(self._services)
        ready = all(check.ok for check in checks.values())
        _no_store(resp)
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {
            "status": "ready" if ready else "not_ready",
            "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
        }


def readiness(services: Services) -> dict[str, Check]:
    """Every check of ``/readyz``, by name."""
    checks = {"store": _store(services)}
    market = _market(services)
    if market is not None:
        checks["market"] = market
    if services.cluster is not None:
        checks["bus"] = Check(*services.cluster.bus.health())
        checks["feeds"] = Check(*services.cluster.ownership.health())
    for name, connector in services.connectors.items():
        if isinstance(connector, HealthReporting):
            try:
                ok, detail = connector.health()
            except Exception:
                log.exception("connector %s: health check failed", name)
                ok, detail = False, "the health check failed (see the log)"
            checks[f"connector:{name}"] = Check(ok, detail)
    return checks


def _store(services: Services) -> Check:
    try:
        with services.database.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        # The exception text may hold the URL: logged, not shown.
        log.warning("readiness: the store does not answer: %s", type(exc).__name__)
        return Check(False, "the store does not answer")
    return Check(True, "answers")


def _market(services: Services) -> Check | None:
    market = services.market
    if market is None or not services.config.market.feeds:
        return None
    now = services.clock()
    limit = services.config.market.max_tick_age
    last = market.received_at
    age = None if last is None else max(now - last, 0.0)
    shown = "no tick yet" if age is None else f"last tick {age:.1f} s ago"
    if limit is None or not market.any_open(now):
        return Check(True, shown if limit is None else f"{shown}; every market is closed")
    if age is None or age > limit.seconds:
        return Check(False, f"{shown} (more than {limit.seconds:g} s while a market is open)")
    return Check(True, shown)


class MetricsResource:
    """``GET /metrics``: Prometheus's text format, every worker of the instance summed.

    Public like the probes, at the root: scrape each instance directly and keep it from the
    internet at the proxy (deploy/nginx refuses it).
    """

    auth: ClassVar[str | None] = None

    def __init__(self, services: Services) -> None:
        self._services = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The current values."""
        body, content_type = self._services.metrics.render()
        _no_store(resp)
        resp.content_type = content_type
        resp.data = body
