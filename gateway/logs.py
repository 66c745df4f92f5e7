"""Logging of the gateway's own events next to gunicorn's, when served.

Two formats, chosen by the environment (``GATEWAY_LOG_FORMAT``): ``text`` (gunicorn's look,
the default) and ``json``, one object per line for log collectors. Every line written while a
request is handled carries its request id (the ``X-Request-Id`` the gateway answers with).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import sys
from typing import Any

import orjson

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The id of the request this thread is handling (set by the context middleware)."""

FORMATS = ("text", "json")


def log_format() -> str:
    """``json`` or ``text``, from ``GATEWAY_LOG_FORMAT``; anything else is refused."""
    chosen = os.environ.get("GATEWAY_LOG_FORMAT", "text").strip().lower() or "text"
    if chosen not in FORMATS:
        raise SystemExit(f"GATEWAY_LOG_FORMAT must be text or json, not {chosen[:20]!r}")
    return chosen


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (or None) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Never drops a record."""
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, process, request id.

    Extra fields a caller passes as ``extra={"fields": {...}}`` are added as they are (the
    access log's method, path, status...).
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as a line of JSON."""
        body: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            body["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            body.update(fields)
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(body, default=str).decode()


TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
TEXT_DATES = "%Y-%m-%d %H:%M:%S %z"


def formatter(kind: str | None = None) -> logging.Formatter:
    """The formatter of ``kind`` (default: the environment's)."""
    if (kind or log_format()) == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT, TEXT_DATES)


def configure_logging(level: int = logging.INFO) -> None:
    """Send the ``gateway`` loggers to stderr in the chosen format (once per process).

    Only the serving entry points call this: an application embedding ``create_app`` keeps its
    own logging set-up.
    """
    logger = logging.getLogger("gateway")
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(level)
