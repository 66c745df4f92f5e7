"""gunicorn settings for the container (and for operators who run gunicorn themselves).

    GATEWAY_CONFIG=/etc/gateway/gateway.yaml gunicorn -c config/gunicorn.conf.py

The settings are the ones ``gateway serve`` uses; the environment can override the address
(GATEWAY_BIND), the worker count (GATEWAY_WORKERS) and the worker class (GATEWAY_WORKER_CLASS:
gevent or threads). The configuration is validated once in the master before any worker
starts, so a broken file stops the server with every problem listed, instead of failing in each
worker.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from gateway.metrics import prepare_multiprocess_dir
from gateway.serving import GUNICORN_DEFAULTS, WORKER_CLASSES, validate_from_environment

globals().update(GUNICORN_DEFAULTS)
# The workers' metrics are summed through files in one directory (gateway/metrics.py), named
# before any worker imports prometheus_client.
prepare_multiprocess_dir()

wsgi_app = "gateway.wsgi:create()"
bind = os.environ.get("GATEWAY_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("GATEWAY_WORKERS", str(GUNICORN_DEFAULTS["workers"])))
# gevent (GUNICORN_DEFAULTS') or threads, as `gateway serve --worker-class`.
_kind = os.environ.get("GATEWAY_WORKER_CLASS")
if _kind is not None:
    if _kind not in WORKER_CLASSES:
        sys.exit(f"GATEWAY_WORKER_CLASS must be one of {', '.join(WORKER_CLASSES)}, not {_kind!r}")
    worker_class = WORKER_CLASSES[_kind]


def on_starting(server: Any) -> None:
    """Refuse to start on a configuration with problems; without a bus, one worker serves."""
    config = validate_from_environment()
    if config.market.feeds and config.cluster.redis is None and server.num_workers != 1:
        server.log.info("market data is served by one worker process (configure cluster.redis)")
        server.num_workers = 1
