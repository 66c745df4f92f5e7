"""Serving with gunicorn: the settings ``gateway serve`` and the container share."""

from __future__ import annotations

import os
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from gateway.app import create_app
from gateway.config.loader import ConfigError, load_config
from gateway.config.model import GatewayConfig
from gateway.logs import configure_logging
from gateway.wsgi import parse_vars, settle_memory

GUNICORN_DEFAULTS: dict[str, Any] = {
    # Threads keep a worker answering while some of its threads hold long-lived streams.
    "worker_class": "gthread",
    # Each /streaming and /stream/* connection holds a thread for as long as it is open.
    "threads": 128,
    "workers": 2,
    "bind": "127.0.0.1:8080",
    "timeout": 60,
    "graceful_timeout": 20,
    "keepalive": 75,  # longer than typical load balancer idle timeouts (60 s)
    "accesslog": "-",
    "errorlog": "-",
    "preload_app": False,  # each worker opens its own connections after fork
}


class GatewayApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn running the gateway for an already validated configuration."""

    def __init__(self, config: GatewayConfig, options: dict[str, Any]) -> None:
        self._gateway_config = config
        self._options = {**GUNICORN_DEFAULTS, **options}
        super().__init__()

    def load_config(self) -> None:
        """Apply our settings to gunicorn's configuration."""
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app; called in each worker after fork."""
        configure_logging()
        app = create_app(self._gateway_config)
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
