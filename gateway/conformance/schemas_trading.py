"""The trading half of ``schemas.py``: orders, positions, executions, state, balances.

The response shapes of TradingView's broker API 1.4.14 trading operations (account state,
orders and their previews, positions in the three modes, executions, crypto balances,
leverage) and the data messages of the trading streams, in the conventions of
``schemas.py`` (whose docstring states them, with the deliberate departures from the
OpenAPI file). ``schemas.py`` builds ``SUCCESS``, ``RESPONSES`` and ``STREAM_MESSAGES``
from these shapes; import those tables and the validation helpers from there.
"""

from __future__ import annotations

from typing import Final

from gateway.conformance.schema_builders import (
    Schema,
    array,
    boolean,
    number,
    ok_envelope,
    open_object,
    strict_object,
    string,
)

ORDER_TYPES: Final = ("market", "stop", "limit", "stoplimit")


# --- trading: shared pieces ---------------------------------------------------------------------

SIDES: Final = ("buy", "sell")

MESSAGE_TYPES: Final = ("information", "warning", "error")
"""Informational message types, lowercase as in the enum (the spec's examples write Information)."""

TRANSACTION_ID: Final[Schema] = string()
"""TransactionId: a string since 1.4.11 (a number before); only with ``supportTrackLatency``."""

CUSTOM_FIELD_VALUES: Final[Schema] = array(
    strict_object({"id": string(), "value": string()}, "id", "value"), min_items=1
)
"""CustomFieldsValueItem[]: localized values of the configured custom columns."""

INFORMATIONAL_MESSAGE: Final[Schema] = strict_object(
    {"text": string(), "type": string(*MESSAGE_TYPES)}, "text", "type"
)
"""OrderInformationalMessage and PositionInformationalMessage, which share one shape."""

SUCCESS_WITH_TRANSACTION_ID: Final[Schema] = strict_object(
    {"s": string("ok"), "d": strict_object({"transactionId": TRANSACTION_ID})}, "s"
)
"""SuccessResponse or SuccessResponseWithTransactionId, as one schema.

SuccessResponseWithTransactionId requires neither ``d`` nor ``d.transactionId``, so it already
admits every SuccessResponse; the union is this schema. See LOOSER_THAN_OPENAPI.
"""

# --- account state ------------------------------------------------------------------------------

ACCOUNT_STATE: Final[Schema] = strict_object(
    {
        "balance": number(),
        "unrealizedPl": number(),
        "equity": number(),  # balance + unrealizedPl when absent
        # Account manager tables -> rows -> cells, shaped like the configured accountManager.
        "amData": array(array(array(string())), min_items=1),
        "accountSummaryRowData": array(string(), min_items=1),
        "marginAvailable": number(),
    },
    "balance",
    "unrealizedPl",
)
"""AccountState: ``/state``'s ``d`` and, whole each time, every ``/stream/state`` data message."""

STATE_RESPONSE: Final[Schema] = ok_envelope(ACCOUNT_STATE)


# --- orders -------------------------------------------------------------------------------------

ORDER_STATUSES: Final = ("placing", "inactive", "working", "rejected", "filled", "cancelled")
FINAL_ORDER_STATUSES: Final = ("rejected", "filled", "cancelled")

ORDER_COMMON: Final[Schema] = open_object(
    {
        "id": string(),
        "instrument": string(),  # broker instrument name
        "qty": number(),
        "side": string(*SIDES),
        "type": string(*ORDER_TYPES),
        "filledQty": number(),
        "avgPrice": number(),
        "limitPrice": number(),  # limit and stoplimit orders only
        "stopPrice": number(),  # stop and stoplimit orders only
        "trailingStopPips": number(),  # trailing stops only
        "isTrailingStop": boolean(),
        "isGuaranteedStop": boolean(),
        "parentId": string(),  # brackets only
        "parentType": string("order", "position"),  # brackets only
        # A Duration id and a Unix time in seconds; the spec leaves this object open.
        "duration": open_object({"type": string(), "datetime": number()}, "type"),
        "lastModified": number(),
        "customFields": CUSTOM_FIELD_VALUES,
        "message": INFORMATIONAL_MESSAGE,
    },
    "id",
    "instrument",
    "qty",
    "side",
    "type",
)
"""OrderCommon: every order field but ``status``. The spec leaves it open."""

ORDER: Final[Schema] = {
    "allOf": [ORDER_COMMON, open_object({"status": string(*ORDER_STATUSES)}, "status")]
}
"""Order: OrderCommon and OrderStatus (any of the six statuses)."""

ORDER_HISTORY: Final[Schema] = {
    "allOf": [ORDER_COMMON, open_object({"status": string(*FINAL_ORDER_STATUSES)}, "status")]
}
"""OrderHistory: OrderCommon and OrderHistoryStatus (final statuses only)."""

ORDERS_RESPONSE: Final[Schema] = ok_envelope(array(ORDER))
ORDERS_HISTORY_RESPONSE: Final[Schema] = ok_envelope(array(ORDER_HISTORY))

POST_ORDER_RESPONSE: Final[Schema] = ok_envelope(
    strict_object({"orderId": string(), "transactionId": TRANSACTION_ID})
)
"""PostOrderResponse: ``d`` is required, both of its fields optional."""

PREVIEW_ORDER: Final[Schema] = strict_object(
    {
        "confirmId": string(),  # sent back as the confirmId query of the place/modify request
        "sections": array(
            strict_object(
                {
                    "rows": array(
                        strict_object({"title": string(), "value": string()}, "title", "value")
                    ),
                    "header": string(),
                },
                "rows",
            )
        ),
        "warnings": array(string()),
        "errors": array(string()),
    },
    "sections",
)
"""PreviewOrder: sections of pre-formatted title/value rows, with warnings and errors."""

PREVIEW_ORDER_RESPONSE: Final[Schema] = ok_envelope(PREVIEW_ORDER)


# --- positions ----------------------------------------------------------------------------------

POSITION: Final[Schema] = strict_object(
    {
        "id": string(),
        "instrument": string(),
        "qty": number(),
        "side": string(*SIDES),
        "avgPrice": number(),
        "unrealizedPl": number(),
        "message": INFORMATIONAL_MESSAGE,
        "customFields": CUSTOM_FIELD_VALUES,
    },
    "id",
    "instrument",
    "qty",
    "side",
    "avgPrice",
)

NET_POSITION: Final[Schema] = open_object(
    {
        "id": string(),
        "instrument": string(),
        "qty": number(),  # net quantity
        "longQty": number(),
        "shortQty": number(),
        "avgPrice": number(),
        "customFields": CUSTOM_FIELD_VALUES,
        "message": INFORMATIONAL_MESSAGE,
    },
    "id",
    "instrument",
    "qty",
)
"""NetPosition (netting mode). The spec leaves it open (its example even adds ``side``)."""

INDIVIDUAL_POSITION: Final[Schema] = open_object(
    {
        "id": string(),
        "instrument": string(),
        "date": string(),  # opening time: Unix milliseconds, as a string
        "qty": number(),
        "side": string(*SIDES),
        "price": number(),
        "unrealizedPl": number(),
        "customFields": CUSTOM_FIELD_VALUES,
        "message": INFORMATIONAL_MESSAGE,
    },
    "id",
    "instrument",
    "date",
    "qty",
    "side",
    "price",
)
"""IndividualPosition (netting mode). The spec leaves it open."""

STREAM_CLOSED_POSITION: Final[Schema] = strict_object(
    {"id": string(), "qty": {**number(), "const": 0}}, "id", "qty"
)
"""StreamClosedPosition: exactly ``{"id": ..., "qty": 0}``. See STRICTER_THAN_OPENAPI."""

POSITIONS_RESPONSE: Final[Schema] = ok_envelope(array(POSITION))
NET_POSITIONS_RESPONSE: Final[Schema] = ok_envelope(array(NET_POSITION))
INDIVIDUAL_POSITIONS_RESPONSE: Final[Schema] = ok_envelope(array(INDIVIDUAL_POSITION))


# --- executions and balances --------------------------------------------------------------------

EXECUTION: Final[Schema] = strict_object(
    {
        "id": string(),
        "instrument": string(),
        "price": number(),
        "time": number(),  # Unix seconds
        "qty": number(),
        "side": string(*SIDES),
        "orderId": string(),
        "isClose": boolean(),
        "positionId": string(),
        "commission": number(),
    },
    "id",
    "instrument",
    "price",
    "time",
    "qty",
    "side",
    "orderId",
    "isClose",
)

EXECUTIONS_RESPONSE: Final[Schema] = ok_envelope(array(EXECUTION))

CRYPTO_BALANCE: Final[Schema] = strict_object(
    {
        "symbol": string(),
        "longName": string(),
        "total": number(),
        "available": number(),
        "reserved": number(),
        "btcValue": number(),
        "value": number(),
        "valueCurrency": string(),
    },
    "symbol",
    "total",
    "available",
)

BALANCES_RESPONSE: Final[Schema] = ok_envelope(array(CRYPTO_BALANCE))


# --- leverage -----------------------------------------------------------------------------------

GET_LEVERAGE: Final[Schema] = strict_object(
    {
        "title": string(),  # title of the leverage dialog
        "leverage": number(),
        "min": number(),
        "max": number(),
        "step": number(),
    },
    "title",
    "leverage",
    "min",
    "max",
    "step",
)

GET_LEVERAGE_RESPONSE: Final[Schema] = ok_envelope(GET_LEVERAGE)

SET_LEVERAGE_RESPONSE: Final[Schema] = open_object(
    {"s": string("ok"), "d": strict_object({"leverage": number()}, "leverage")}, "s", "d"
)
"""SetLeverageResponse: the only envelope the spec leaves open; its SetLeverage is strict."""

PREVIEW_LEVERAGE: Final[Schema] = strict_object(
    {name: array(string(), min_items=1) for name in ("infos", "warnings", "errors")}
)

PREVIEW_LEVERAGE_RESPONSE: Final[Schema] = ok_envelope(PREVIEW_LEVERAGE)


# --- trading streams ----------------------------------------------------------------------------

PING_MESSAGE: Final[Schema] = open_object({"s": string("ok")}, "s")
"""PingMessage: ``{"s": "ok"}`` after 5 s of silence on a trading stream; left open."""

STREAM_DATA: Final[dict[str, Schema]] = {
    "streamOrders": array(ORDER),
    "streamPositions": array({"anyOf": [POSITION, STREAM_CLOSED_POSITION]}),
    "streamNetPositions": array({"anyOf": [NET_POSITION, STREAM_CLOSED_POSITION]}),
    "streamIndividualPositions": array({"anyOf": [INDIVIDUAL_POSITION, STREAM_CLOSED_POSITION]}),
    "streamState": ACCOUNT_STATE,
}
"""The data message of each trading stream: an entity array (snapshot or update), or for
``streamState`` a whole AccountState."""
