"""Request bodies and parameters: form-urlencoded as the spec says, JSON accepted too.

Unknown fields are kept: TradingView posts the order dialog's custom fields next to the
standard ones although the spec's request schemas forbid extra properties.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping

import falcon

from gateway.errors import ApiError

Form = Mapping[str, str]


def read_form(req: falcon.Request, limit: int) -> Form:
    """The body of a POST/PUT/DELETE as a field → string mapping."""
    if req.content_length is not None and req.content_length > limit:
        raise ApiError("body_too_large", status=413, limit=limit)
    raw = req.bounded_stream.read(limit + 1)
    if len(raw) > limit:
        raise ApiError("body_too_large", status=413, limit=limit)
    if not raw.strip():
        return {}
    ctype = (req.content_type or "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError("invalid_body", reason="not UTF-8") from None
    if ctype == "application/json":
        return _no_nul(_json_form(text))
    if ctype in ("", "application/x-www-form-urlencoded", "text/plain"):
        try:
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=500)
        except ValueError:
            raise ApiError("invalid_body", reason="too many fields") from None
        return _no_nul(dict(pairs))
    raise ApiError("unsupported_media_type", status=415)


def _no_nul(form: Form) -> Form:
    # No text a user types contains NUL, and PostgreSQL cannot store it: refuse it once here
    # rather than fail in whichever statement meets it first.
    for key, value in form.items():
        if "\x00" in key or "\x00" in value:
            raise ApiError(
                "invalid_field", field=key.replace("\x00", ""), reason="contains a NUL character"
            )
    return form


def _json_form(text: str) -> Form:
    try:
        data = json.loads(text)
    except ValueError:
        raise ApiError("invalid_body", reason="malformed JSON") from None
    if not isinstance(data, dict):
        raise ApiError("invalid_body", reason="expected a JSON object")
    form: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            form[key] = str(value)
        elif value is not None:
            raise ApiError("invalid_field", field=key, reason="expected a single value")
    return form


def required_text(form: Form, name: str, max_length: int = 255) -> str:
    """A required string field; blank counts as missing."""
    value = form.get(name)
    if value is None or value == "":
        raise ApiError("missing_field", field=name)
    if len(value) > max_length:
        raise ApiError("invalid_field", field=name, reason=f"longer than {max_length} characters")
    if "\x00" in value:
        raise ApiError("invalid_field", field=name, reason="contains a NUL character")
    return value
