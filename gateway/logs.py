"""Logging of the gateway's own events next to gunicorn's, when served."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: int = logging.INFO) -> None:
    """Send the ``gateway`` loggers to stderr in gunicorn's format (once per process).

    Only the serving entry points call this: an application embedding ``create_app`` keeps its
    own logging set-up.
    """
    logger = logging.getLogger("gateway")
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            "%Y-%m-%d %H:%M:%S %z",
        )
    )
    logger.addHandler(handler)
    logger.setLevel(level)
