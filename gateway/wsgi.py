"""Entry point for gunicorn's own command line: ``gunicorn 'gateway.wsgi:create()'``.

Reads the configuration path from ``GATEWAY_CONFIG`` (and template variables from
``GATEWAY_VARS``, ``NAME=VALUE`` pairs separated by commas). Importing this module does nothing.
"""

from __future__ import annotations

import gc
import os
import sys

import falcon

from gateway.app import create_app
from gateway.config.loader import ConfigError, load_config
from gateway.logs import configure_logging
from gateway.metrics import use_worker_mode


def parse_vars(text: str) -> dict[str, str]:
    """``A=1,B=2`` → ``{"A": "1", "B": "2"}``."""
    out: dict[str, str] = {}
    for pair in text.split(","):
        name, sep, value = pair.partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip()
    return out


def settle_memory() -> None:
    """After the app is built: move everything alive into the GC's permanent generation.

    The configuration, routes and caches live as long as the worker; without this, every full
    collection walks them again, which shows as tens of milliseconds in request tail latency.
    """
    gc.collect()
    gc.freeze()


def create() -> falcon.App[falcon.Request, falcon.Response]:
    """Load the configuration named by the environment and build the app."""
    path = os.environ.get("GATEWAY_CONFIG")
    if not path:
        sys.stderr.write("GATEWAY_CONFIG is not set: point it at the gateway YAML file\n")
        raise SystemExit(1)
    try:
        config = load_config(path, variables=parse_vars(os.environ.get("GATEWAY_VARS", "")))
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(1) from None
    configure_logging()
    use_worker_mode()
    app = create_app(config)
    settle_memory()
    return app
