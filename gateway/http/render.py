"""The one place where answers and errors become HTTP responses."""

from __future__ import annotations

import logging
import string
import uuid
from collections.abc import Mapping
from typing import Any

import falcon

from gateway.config.types import Text
from gateway.errors import CATALOGUE, ApiError

log = logging.getLogger("gateway.http")


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


class Messages:
    """Error texts: the English catalogue, overridden and translated from YAML."""

    def __init__(self, overrides: Mapping[str, Text]) -> None:
        self._overrides = dict(overrides)

    def text(self, code: str, locale: str, params: Mapping[str, str]) -> str:
        """The localized message of ``code`` with its parameters filled in."""
        override = self._overrides.get(code)
        template = override.get(locale) if override is not None else CATALOGUE[code]
        # Templates were checked at load to use plain {name} placeholders only, so values
        # (which may echo request input) are substituted, never interpreted.
        return string.Formatter().vformat(template, (), _Params(params))


def ok(resp: falcon.Response, data: Any = None) -> None:
    """``{"s":"ok","d":data}``, or ``{"s":"ok"}`` without data."""
    resp.media = {"s": "ok"} if data is None else {"s": "ok", "d": data}


def error_body(messages: Messages, error: ApiError, locale: str) -> dict[str, str]:
    """The spec's ErrorResponse."""
    return {"s": "error", "errmsg": messages.text(error.code, locale, error.params)}


def locale_of(req: falcon.Request) -> str:
    """The locale chosen for this request (English before the middleware ran)."""
    return str(getattr(req.context, "locale", "en"))


def install_error_handlers(
    app: falcon.App[falcon.Request, falcon.Response], messages: Messages
) -> None:
    """Render every failure as the spec's ErrorResponse.

    Business errors get HTTP 200, bad tokens 401, unknown paths 404, and anything unexpected
    500, without a traceback.
    """

    def api_error(req: falcon.Request, resp: falcon.Response, ex: ApiError, _p: Any) -> None:
        resp.status = ex.status
        if ex.status == 401:
            resp.set_header("WWW-Authenticate", 'Bearer realm="broker"')
        resp.media = error_body(messages, ex, locale_of(req))

    def http_error(
        req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, _p: Any
    ) -> None:
        status = ex.status_code
        if status == 404:
            err = ApiError("not_found", status=404, path=req.path)
        elif status == 405:
            err = ApiError("method_not_allowed", status=405, method=req.method, path=req.path)
            resp.set_headers(ex.headers or {})
        elif status == 413:
            err = ApiError("body_too_large", status=413, limit="?")
        else:
            err = ApiError("invalid_body", status=status, reason=ex.title or "bad request")
        api_error(req, resp, err, _p)

    def unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, _p: Any) -> None:
        request_id = getattr(req.context, "request_id", None) or uuid.uuid4().hex
        # The traceback goes to the log with the request id; the caller gets only the id.
        log.error(
            "unhandled error in %s %s [request %s]", req.method, req.path, request_id, exc_info=ex
        )
        api_error(req, resp, ApiError("internal_error", status=500), _p)

    app.add_error_handler(Exception, unexpected)
    app.add_error_handler(falcon.HTTPError, http_error)
    app.add_error_handler(ApiError, api_error)
