"""Serving with gunicorn: the settings ``gateway serve`` and the container share."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger as GunicornLogger

from gateway.app import close_started, create_app
from gateway.config.loader import ConfigError, load_config
from gateway.config.model import GatewayConfig
from gateway.logs import JsonFormatter, configure_logging, log_format
from gateway.metrics import use_worker_mode, worker_exited
from gateway.wsgi import parse_vars, settle_memory


class GatewayLogger(GunicornLogger):  # type: ignore[misc]
    """gunicorn's logger; with ``GATEWAY_LOG_FORMAT=json`` its lines are JSON objects too.

    The JSON access line names the method, the path without its query string (a query may
    carry a code or a token), the status, the size, the duration and the request id the
    gateway answered with; never a header of the request.
    """

    def setup(self, cfg: Any) -> None:
        """Gunicorn's handlers, with the JSON formatter when asked for."""
        super().setup(cfg)
        if log_format() == "json":
            for logger in (self.error_log, self.access_log):
                for handler in logger.handlers:
                    handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """One line per request."""
        if log_format() != "json":
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        status = str(resp.status).split(None, 1)[0]
        headers = {str(k).lower(): v for k, v in (resp.headers or [])}
        fields = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status) if status.isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "remote": environ.get("REMOTE_ADDR"),
            "request_id": headers.get("x-request-id"),
        }
        self.access_log.info("request", extra={"fields": fields})


WORKER_CLASSES = {
    "gevent": "gateway.workers.GeventWorker",
    "threads": "gateway.workers.ThreadWorker",
}
"""``gateway serve --worker-class`` names and the classes (gateway/workers.py) they stand for."""

GUNICORN_DEFAULTS: dict[str, Any] = {
    # A greenlet per connection: thousands of idle streams per worker, and ordinary requests
    # answered as fast as with none (docs/operations.md, "Process model", has the figures).
    "worker_class": WORKER_CLASSES["gevent"],
    # Connections a worker holds at once (streams included); the process's open-files limit
    # must allow as many.
    "worker_connections": 10000,
    # Only for --worker-class threads, where each stream holds one of these threads.
    "threads": 128,
    "workers": 2,
    "bind": "127.0.0.1:8080",
    "timeout": 60,
    "graceful_timeout": 20,
    "keepalive": 75,  # longer than typical load balancer idle timeouts (60 s)
    "accesslog": "-",
    "errorlog": "-",
    "logger_class": "gateway.serving.GatewayLogger",
    "child_exit": lambda _server, worker: worker_exited(worker.pid),
    # In the worker, after it stopped serving: stop its feeds and sessions, release its leases.
    "worker_exit": lambda _server, _worker: close_started(),
    "preload_app": False,  # each worker opens its own connections after fork
    # gunicorn 27's control socket is one path per user (two instances on a host fight over
    # it) and its reload would skip the configuration check SIGHUP makes: off.
    "control_socket_disable": True,
}


log = logging.getLogger("gateway.serving")

Reload = Callable[[], tuple[GatewayConfig | None, list[str]]]
"""Load and check the configuration again: it, or None and the problems found."""


class GatewayArbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, which checks a configuration before a reload replaces any worker."""

    def handle_hup(self) -> None:
        """SIGHUP: reload only a configuration that passes every check ``serve`` makes.

        A broken one is logged, problem by problem, and nothing else happens: the workers go
        on serving the last good configuration. A good one is swapped in, and gunicorn starts
        new workers with it while the old ones finish their requests (``graceful_timeout``).
        """
        app: GatewayApplication = self.app
        if app.reload_config is None:
            super().handle_hup()
            return
        try:
            config, problems = app.reload_config()
        except Exception:  # a reload must never take the master down
            log.exception("reload refused: checking the configuration failed")
            return
        if config is None:
            log.error(
                "reload refused: the configuration has %d problem(s); still serving the last "
                "good one:\n%s",
                len(problems),
                "\n".join(f"  {problem}" for problem in problems),
            )
            return
        app.gateway_config = config
        log.info("reload: the configuration passed its checks; new workers take over")
        super().handle_hup()


class GatewayApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn running the gateway for an already validated configuration."""

    def __init__(
        self, config: GatewayConfig, options: dict[str, Any], reload: Reload | None = None
    ) -> None:
        self.gateway_config = config
        """The configuration new workers are built from (swapped by a good reload)."""
        self.reload_config = reload
        self._options = {**GUNICORN_DEFAULTS, **options}
        super().__init__()

    def run(self) -> None:
        """Run gunicorn's master with the reload check (as BaseApplication.run does)."""
        configure_logging()
        try:
            GatewayArbiter(self).run()
        except RuntimeError as exc:
            sys.stderr.write(f"\nError: {exc}\n\n")
            sys.stderr.flush()
            raise SystemExit(1) from None

    def load_config(self) -> None:
        """Apply our settings to gunicorn's configuration."""
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app; called in each worker after fork."""
        configure_logging()
        use_worker_mode()
        app = create_app(self.gateway_config)
        settle_memory()
        return app


def validate_from_environment() -> GatewayConfig:
    """Load ``GATEWAY_CONFIG`` as the workers will; print every problem and exit 1 if any."""
    path = os.environ.get("GATEWAY_CONFIG")
    if not path:
        sys.stderr.write("GATEWAY_CONFIG is not set: point it at the gateway YAML file\n")
        raise SystemExit(1)
    try:
        return load_config(path, variables=parse_vars(os.environ.get("GATEWAY_VARS", "")))
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(1) from None
