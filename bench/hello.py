"""The ceiling: a "hello world" Falcon app served exactly as the gateway is served.

``python -m bench.hello --bind 127.0.0.1:8081 --workers 2`` runs gunicorn with the gateway's own
settings (:data:`gateway.serving.GUNICORN_DEFAULTS`: worker class, threads, keep-alive, access
log), so the only difference from ``gateway serve`` is the application behind it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import falcon
from gunicorn.app.base import BaseApplication

from gateway.serving import GUNICORN_DEFAULTS

PATH = "/hello"
"""The one route of the hello app."""


class HelloResource:
    """Answers a tiny JSON document, shaped like the gateway's ``{"s": "ok", "d": ...}``."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Hello, world."""
        resp.media = {"s": "ok", "d": "hello, world"}


def create_app() -> falcon.App[falcon.Request, falcon.Response]:
    """A bare Falcon app: no middleware, one route."""
    app = falcon.App()
    app.add_route(PATH, HelloResource())
    return app


def gunicorn_options(bind: str, workers: int | None = None) -> dict[str, Any]:
    """The gateway's gunicorn settings with this address and, if given, worker count.

    Merged exactly as :class:`gateway.serving.GatewayApplication` merges ``gateway serve``'s
    ``--bind`` and ``--workers``.
    """
    options: dict[str, Any] = {"bind": bind}
    if workers:
        options["workers"] = workers
    return {**GUNICORN_DEFAULTS, **options}


class HelloApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn running the hello app."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply the settings to gunicorn's configuration."""
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> falcon.App[falcon.Request, falcon.Response]:
        """Build the app; called in each worker after fork."""
        return create_app()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the hello app until gunicorn is told to stop."""
    parser = argparse.ArgumentParser(prog="python -m bench.hello", description=__doc__)
    parser.add_argument("--bind", default=GUNICORN_DEFAULTS["bind"], help="HOST:PORT")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn worker processes")
    args = parser.parse_args(argv)
    HelloApplication(gunicorn_options(args.bind, args.workers)).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
