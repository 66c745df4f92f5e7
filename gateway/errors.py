"""One catalogue of user-facing errors, localizable from YAML, rendered in one place.

TradingView shows ``errmsg`` to the user as a notification, so every message is a sentence a
trader can act on. Business errors travel as HTTP 200 ``{"s":"error"}``; a bad token is 401.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import MappingProxyType

CATALOGUE: Mapping[str, str] = MappingProxyType({
    "unauthorized": "Authorization required: the access token is missing, invalid or expired.",
    "invalid_credentials": "Invalid login or password.",
    "login_throttled": "Too many failed login attempts. Try again in {minutes} minutes.",
    "password_login_disabled": (
        "Password login is not available: this broker signs in through its login page."
    ),
    "oauth_invalid_request": (
        "This sign-in request cannot be completed: {reason}. Please start again from TradingView."
    ),
    "login_form_expired": "The sign-in form has expired. Please sign in again.",
    "signed_out": "You are signed out.",
    "missing_field": "Missing required field: {field}.",
    "invalid_field": "Invalid value for {field}: {reason}.",
    "unknown_account": "Unknown account: {account}.",
    "unknown_group": "Unknown symbol group: {group}.",
    "not_found": "There is nothing at {path}.",
    "method_not_allowed": "{method} is not allowed on {path}.",
    "invalid_body": "The request body could not be read: {reason}.",
    "body_too_large": "The request body is larger than {limit} bytes.",
    "unsupported_media_type": "Send the body as application/x-www-form-urlencoded.",
    "unknown_symbol": "Unknown symbol: {symbol}.",
    "unsupported_resolution": "Unsupported resolution {resolution}: use 1 or 1D.",
    "invalid_range": "Invalid range: from {start} is after to {end}.",
    "no_market_data": "Market data is not configured on this server.",
    "trading_unavailable": "Trading is not configured on this server.",
    "not_supported": "This account does not support {feature}.",
    "unknown_instrument": "Unknown instrument: {instrument}.",
    "unknown_order": "Unknown order: {order}.",
    "unknown_position": "Unknown position: {position}.",
    "order_final": "Order {order} is already {state}.",
    "order_type_disabled": "This account does not accept {type} orders.",
    "qty_out_of_range": "Quantity {qty} is outside the allowed range {min} to {max}.",
    "qty_step": "Quantity {qty} is not a multiple of {step}.",
    "price_tick": "{field} {price} is not a multiple of the tick size {tick}.",
    "price_side": "{field} {price} must be {relation} the current price {current}.",
    "price_rule": "{field} {price} must be within {min}% to {max}% of {reference} {current}.",
    "bracket_side": "{field} {price} must be {relation} {what} {reference}.",
    "bracket_conflict": "Send only one of stopLoss, trailingStopPips and guaranteedStop.",
    "no_price": "There is no price for {instrument} yet. Please try again in a moment.",
    "insufficient_margin": (
        "Not enough margin: this order needs {required} {currency}, "
        "{available} {currency} is available."
    ),
    "insufficient_funds": (
        "Not enough {currency}: this order needs {required}, {available} is available."
    ),
    "close_amount": "The amount to close must be more than 0 and at most the position's {qty}.",
    "market_closed": "The market for {instrument} is closed.",
    "rejected": "The order was rejected: {reason}",
    "preview_expired": (
        "The order preview has expired or does not match the order. Please preview again."
    ),
    "leverage_range": "Leverage {leverage} is outside {min} to {max} in steps of {step}.",
    "unknown_transaction": "Unknown transaction: {transaction}.",
    "internal_error": "Something went wrong on the broker's server. Please try again.",
    "unavailable": "The service is temporarily unavailable. Please try again.",
})  # fmt: skip
"""English text of every error code; ``{name}`` placeholders are filled per request."""


def placeholders(template: str) -> set[str]:
    """The placeholder names of a template; raises ValueError on anything but ``{name}``."""
    names: set[str] = set()
    for _, field, spec, conv in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conv:
            written = field + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
            raise ValueError(f"placeholder {{{written}}} must be a plain {{name}}")
        names.add(field)
    return names


def check_override(code: str, template: str) -> str | None:
    """Why a YAML translation of ``code`` is unusable, or None."""
    try:
        used = placeholders(template)
    except ValueError as exc:
        return str(exc)
    allowed = placeholders(CATALOGUE[code])
    extra = used - allowed
    if extra:
        shown = ", ".join("{" + n + "}" for n in sorted(allowed)) or "none"
        return f"unknown placeholder {{{sorted(extra)[0]}}} (available: {shown})"
    return None


class ApiError(Exception):
    """A failure to report to the caller: a catalogue code, its parameters, an HTTP status."""

    def __init__(self, code: str, status: int = 200, **params: object) -> None:
        if code not in CATALOGUE:
            raise KeyError(code)
        super().__init__(code)
        self.code = code
        self.status = status
        # Echoed request values are clipped: a message is for a notification, not a log. A
        # reason is the gateway's own text (e.g. the list of allowed values): kept whole.
        self.params = {k: str(v) if k == "reason" else _clip(str(v)) for k, v in params.items()}


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Unauthorized(ApiError):  # noqa: N818 - named after the HTTP status
    """HTTP 401: TradingView asks the user to log in again."""

    def __init__(self) -> None:
        super().__init__("unauthorized", status=401)
