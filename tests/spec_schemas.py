"""The project's own JSON Schemas (draft 2020-12) of TradingView's broker API 1.4.14 responses.

These schemas are the project's own transcription of the response shapes stated by TradingView's
"REST API Specification for Brokers" 1.4.14. They were written by hand, in our own structure
(Python builders, no ``$ref`` web), from the facts the specification states: which fields exist,
their types, which are required, which objects are strict (the spec's ``additionalProperties:
false``), enums, ``minItems``/``maxItems`` and maxima. They are *not* a copy of the OpenAPI
file, and nothing in the test suite reads that file; ``tools/check_against_openapi.py`` is the
developer-only script that compares these schemas and a running gateway with the official file.

Conventions:

* "strict" objects (``_strict``) admit no keys beyond their properties, exactly where the spec
  declares ``additionalProperties: false``; objects the spec leaves open (``_open``, e.g. the
  order-dialog checkbox) accept extra keys.
* Every operation's response is ``oneOf(success, ErrorResponse)`` as in the spec, except
  ``getMapping``, whose response is the bare ``SymbolMapping`` (no envelope, no error shape), and
  ``trackLatency``, whose response is the bare ``SuccessResponse`` (``WITHOUT_ERROR_BRANCH``).
* ``RESPONSES[operation_id]`` is the whole response schema; ``SUCCESS[operation_id]`` only the
  success branch, for tests that must demand success.
* ``STREAM_MESSAGES[operation_id]`` is one line of a trading stream (``streamOrders``,
  ``streamPositions``, ``streamNetPositions``, ``streamIndividualPositions``, ``streamState``):
  the data message (an entity array, or a whole AccountState), a PingMessage ``{"s": "ok"}`` or
  an ErrorMessage; ``assert_stream_message`` checks one.
* Schemas the spec composes (``Order`` = OrderCommon + OrderStatus) stay ``allOf`` compositions,
  so that their facts line up with the official ones in ``tools/check_against_openapi.py``.

Deliberately stricter than the OpenAPI schema, because the specification's own text says so
(listed in ``STRICTER_THAN_OPENAPI``):

* ``AccessToken.expiration`` must be integer-valued (the schema says ``number``; the spec's
  description and TradingView's autotests require an integer Unix time in seconds);
* ``SingleMapping.f`` holds exactly one string (the schema only says ``minItems: 1``; its
  description says "an array with the only one string element");
* ``/symbol_info``'s ``minmovement`` and ``pricescale`` hold integers (the schema says
  ``number``; TradingView's symbol-info autotest requires integers).
* a StreamClosedPosition is exactly ``{"id": ..., "qty": 0}`` (the schema leaves it open with any
  number; its description says the quantity "should be equal to 0", and the streaming text sends
  a closed position as ``{"id", "qty": 0}``). Left open, anything with an ``id`` and a ``qty``
  would pass as a closed position and void the strict Position in ``streamPositions``.

Deliberately looser than the OpenAPI schema where the schema contradicts the spec's own text or
examples (listed in ``LOOSER_THAN_OPENAPI``): ``SymbolInfoResponse`` is ``allOf`` a strict
``SuccessResponse`` and the open ``SymbolInfoArrays``, which taken literally admits no symbol
field at all; we read it as ``{"s": "ok"}`` merged with the arrays (still refusing ``d`` and
``errmsg``). The SymbolInfoArrays fields are arrays only, as the schema says: the prose allowance
of a single scalar for all symbols is not transcribed (the gateway never sends one). The seven
operations answering ``oneOf(SuccessResponse, SuccessResponseWithTransactionId, ErrorResponse)``
accept a bare ``{"s": "ok"}``, which matches both success schemas and so fails that ``oneOf``
taken literally, although the spec's text returns exactly that.
"""

from __future__ import annotations

from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

Schema = dict[str, Any]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SPEC_VERSION: Final = "1.4.14"

TRANSACTION_OPERATIONS: Final = (
    "modifyOrder",
    "cancelOrder",
    "modifyPosition",
    "closePosition",
    "closeNetPosition",
    "modifyIndividualPosition",
    "closeIndividualPosition",
)
"""Operations answering SuccessResponse or SuccessResponseWithTransactionId."""

STRICTER_THAN_OPENAPI: Final[dict[tuple[str, str], str]] = {
    ("authorize", "$.d.expiration"): "AccessToken.expiration: an integer-valued number",
    ("getMapping", "$.symbols[].f"): "SingleMapping.f: exactly one broker symbol (maxItems 1)",
    ("getSymbolInfo", "$.minmovement[]"): "minmovement: integers (symbol-info autotest)",
    ("getSymbolInfo", "$.pricescale[]"): "pricescale: integers (symbol-info autotest)",
    **{
        (stream, path): rule
        for stream in ("streamPositions", "streamNetPositions", "streamIndividualPositions")
        for path, rule in (
            ("$[]", "StreamClosedPosition: exactly {id, qty: 0}, as the streaming text sends it"),
            ("$[].qty", "StreamClosedPosition.qty: 0 (its description: 'should be equal to 0')"),
        )
    },
}
"""(operationId, path in the response) -> the rule the spec states in prose only."""

LOOSER_THAN_OPENAPI: Final[dict[tuple[str, str], str]] = {
    ("getSymbolInfo", "$"): "SymbolInfoResponse: {s: ok} merged with the open SymbolInfoArrays "
    "(the strict SuccessResponse in its allOf would refuse every symbol field)",
    ("getSymbolInfo", "$.typespecs[]"): "typespecs: comma-separated combinations and null, as "
    "its description and example say (the item schema is a bare enum)",
    ("getSymbolInfo", "$.volume-type[]"): "volume-type: null for symbols without one, as in the "
    "spec's example",
    ("getSymbolInfo", "$.isin[]"): "isin: null for symbols without one, as in the spec's example",
    ("getSymbolInfo", "$.wkn[]"): "wkn: null for symbols without one, as in the spec's example",
    **{
        (operation_id, "$"): "SuccessResponse or SuccessResponseWithTransactionId: a bare "
        '{"s": "ok"} matches both, so their oneOf refuses it; the spec\'s text returns it'
        for operation_id in TRANSACTION_OPERATIONS
    },
}
"""(operationId, path in the response) -> where the OpenAPI schema contradicts the spec itself."""


# --- builders -----------------------------------------------------------------------------------


def _string(*enum: str) -> Schema:
    """A string, optionally restricted to ``enum``."""
    schema: Schema = {"type": "string"}
    if enum:
        schema["enum"] = list(enum)
    return schema


def _number(*, maximum: float | None = None, default: float | None = None) -> Schema:
    """A JSON number (integers and floats), optionally bounded above."""
    schema: Schema = {"type": "number"}
    if maximum is not None:
        schema["maximum"] = maximum
    if default is not None:
        schema["default"] = default
    return schema


def _boolean(default: bool | None = None, *, deprecated: bool = False) -> Schema:
    """A boolean; ``default`` is the value TradingView assumes when the field is absent."""
    schema: Schema = {"type": "boolean"}
    if default is not None:
        schema["default"] = default
    if deprecated:
        schema["deprecated"] = True
    return schema


def _array(items: Schema, *, min_items: int | None = None, max_items: int | None = None) -> Schema:
    """An array of ``items``."""
    schema: Schema = {"type": "array", "items": items}
    if min_items is not None:
        schema["minItems"] = min_items
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


def _strict(properties: Schema, *required: str) -> Schema:
    """An object the spec declares ``additionalProperties: false``: no other keys allowed."""
    schema = _open(properties, *required)
    schema["additionalProperties"] = False
    return schema


def _open(properties: Schema, *required: str) -> Schema:
    """An object the spec leaves open: unknown keys are accepted."""
    unknown = set(required) - set(properties)
    if unknown:
        raise ValueError(f"required fields without a property: {sorted(unknown)}")
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _ok_envelope(payload: Schema) -> Schema:
    """The spec's usual success shape: ``{"s": "ok", "d": payload}``, both required, strict."""
    return _strict({"s": _string("ok"), "d": payload}, "s", "d")


# --- status primitives --------------------------------------------------------------------------

ERROR_RESPONSE: Final[Schema] = _strict({"s": _string("error"), "errmsg": _string()}, "s", "errmsg")
"""``{"s": "error", "errmsg": <text shown to the user>}``."""

SUCCESS_RESPONSE: Final[Schema] = _strict({"s": _string("ok")}, "s")
"""``{"s": "ok"}`` with no payload (logout and the other payload-less operations)."""


# --- authorize ----------------------------------------------------------------------------------

ACCESS_TOKEN: Final[Schema] = _strict(
    {
        "access_token": _string(),
        # Absolute Unix time in seconds at which the token dies. See STRICTER_THAN_OPENAPI.
        "expiration": {"type": "integer"},
    },
    "access_token",
    "expiration",
)

AUTHORIZE_RESPONSE: Final[Schema] = _ok_envelope(ACCESS_TOKEN)


# --- configuration pieces shared by /config and /accounts ---------------------------------------

ACCOUNT_SUMMARY_ROW: Final[Schema] = _array(
    _strict({"id": _string(), "title": _string()}, "id", "title"), min_items=1
)

ACCOUNT_MANAGER_COLUMN: Final[Schema] = _strict(
    {
        "id": _string(),
        "title": _string(),
        "tooltip": _string(),
        "alignment": {**_string("left", "right"), "default": "left"},
        "isCapitalize": _boolean(True),
    },
    "id",
    "title",
)

ACCOUNT_MANAGER: Final[Schema] = _array(
    _strict(
        {
            "id": _string(),
            "title": _string(),
            "columns": _array(ACCOUNT_MANAGER_COLUMN, min_items=1),
        },
        "id",
        "columns",
    ),
    min_items=1,
)

CUSTOM_COLUMNS: Final[Schema] = _array(ACCOUNT_MANAGER_COLUMN, min_items=1)
"""orderCustomFields, orderHistoryCustomFields and the three position variants."""

ORDER_TYPES: Final = ("market", "stop", "limit", "stoplimit")

DURATION: Final[Schema] = _strict(
    {
        "id": _string(),
        "title": _string(),
        "hasDatePicker": _boolean(False),
        "hasTimePicker": _boolean(False),
        "default": _boolean(False),
        "supportedOrderTypes": {
            **_array(_string(*ORDER_TYPES), min_items=1),
            "default": ["limit", "stop", "stoplimit"],
        },
    },
    "id",
    "title",
)

DURATIONS: Final[Schema] = _array(DURATION, min_items=1)

PULLING_INTERVAL: Final[Schema] = _strict(
    {
        # Milliseconds; TradingView clamps larger values, but the schema declares the maxima.
        "quotes": _number(maximum=1000, default=500),
        "orders": _number(maximum=1000, default=500),
        "positions": _number(maximum=1500, default=1000),
        "accountManager": _number(maximum=1500, default=500),
        "balances": _number(maximum=1500, default=1000),
    }
)

CONFIG: Final[Schema] = _strict(
    {
        "accountSummaryRow": ACCOUNT_SUMMARY_ROW,
        "accountManager": ACCOUNT_MANAGER,
        "durations": DURATIONS,
        "orderCustomFields": CUSTOM_COLUMNS,
        "orderHistoryCustomFields": CUSTOM_COLUMNS,
        "positionCustomFields": CUSTOM_COLUMNS,
        "netPositionCustomFields": CUSTOM_COLUMNS,
        "individualPositionCustomFields": CUSTOM_COLUMNS,
        "pullingInterval": PULLING_INTERVAL,
    }
)

CONFIG_RESPONSE: Final[Schema] = _ok_envelope(CONFIG)


# --- order dialog custom fields (accounts and instruments) --------------------------------------

COMBO_BOX: Final[Schema] = _strict(
    {
        "id": _string(),
        "title": _string(),
        "saveToSettings": _boolean(False),
        "mutable": _boolean(True),
        "forceUserEnterInitialValue": _boolean(False),
        "items": _array(
            _strict({"text": _string(), "value": _string()}, "text", "value"), min_items=1
        ),
    },
    "id",
    "items",
    "title",
)

CHECKBOX: Final[Schema] = _open(
    {
        "id": _string(),
        "title": _string(),
        "saveToSettings": _boolean(False),
        "help": _string(),
        "checked": _boolean(False),
        "mutable": _boolean(True),
    },
    "id",
    "title",
)
"""The spec leaves the checkbox open (no ``additionalProperties: false``)."""

ORDER_DIALOG_CUSTOM_FIELDS: Final[Schema] = _strict(
    {
        "comboBox": _array(COMBO_BOX, min_items=1),
        "checkbox": _array(CHECKBOX),
    }
)


# --- accounts -----------------------------------------------------------------------------------

ACCOUNT_FLAG_DEFAULTS: Final[dict[str, bool | None]] = {
    # flag: default TradingView assumes when absent (None: deprecated, no default)
    "supportBrackets": None,
    "supportOrderBrackets": False,
    "supportAddBracketsToExistingOrder": True,
    "supportMarketBrackets": True,
    "supportPositionBrackets": False,
    "supportPositions": True,
    "supportMultiposition": False,
    "supportClosePosition": False,
    "supportPartialClosePosition": False,
    "supportReversePosition": True,
    "supportNativeReversePosition": False,
    "supportMarketOrders": True,
    "supportLimitOrders": True,
    "supportStopOrders": True,
    "supportStopLimitOrders": False,
    "supportTrailingStop": False,
    "supportGuaranteedStop": False,
    "supportStopOrdersInBothDirections": False,
    "supportStopLimitOrdersInBothDirections": False,
    "supportPartialOrderExecution": False,
    "supportModifyOrder": None,
    "supportModifyOrderPrice": True,
    "supportEditAmount": True,
    "supportModifyBrackets": True,
    "supportModifyDuration": False,
    "supportCryptoExchangeOrderTicket": False,
    "supportDigitalSignature": False,
    "supportPlaceOrderPreview": False,
    "supportModifyOrderPreview": False,
    "showQuantityInsteadOfAmount": False,
    "supportBalances": False,
    "supportOrdersHistory": False,
    "supportExecutions": False,
    "supportLeverage": False,
    "supportLeverageButton": True,
    "supportDOM": True,
    "supportLevel2Data": False,
    "supportPLUpdate": True,
    "supportDisplayBrokerNameInSymbolSearch": True,
    "supportLogout": False,
    "supportCustomAccountSummaryRow": False,
    "supportPositionCustomFields": False,
    "supportOrderCustomFields": False,
    "supportOrderHistoryCustomFields": False,
    "supportTrackLatency": False,
    "supportPositionNetting": False,
    "supportIndividualPositionBrackets": False,
    "supportPartialCloseIndividualPosition": False,
    "supportStrictCheckingLimitOrderPrice": False,
}
"""Every AccountFlags flag of spec 1.4.14 (all optional booleans)."""

ACCOUNT_FLAGS: Final[Schema] = _strict(
    {
        name: _boolean(default, deprecated=default is None)
        for name, default in ACCOUNT_FLAG_DEFAULTS.items()
    }
)

ACCOUNT_UI: Final[Schema] = _strict(
    {
        "accountSummaryRow": ACCOUNT_SUMMARY_ROW,
        "accountManager": ACCOUNT_MANAGER,
        "orderCustomFields": CUSTOM_COLUMNS,
        "orderHistoryCustomFields": CUSTOM_COLUMNS,
        "positionCustomFields": CUSTOM_COLUMNS,
        "netPositionCustomFields": CUSTOM_COLUMNS,
        "individualPositionCustomFields": CUSTOM_COLUMNS,
        "orderDialogCustomFields": ORDER_DIALOG_CUSTOM_FIELDS,
    }
)

ACCOUNT: Final[Schema] = _strict(
    {
        "id": _string(),
        "name": _string(),
        "type": _string("live", "demo"),
        "currency": _string(),
        "currencySign": _string(),
        "config": ACCOUNT_FLAGS,
        "ui": ACCOUNT_UI,
        "durations": DURATIONS,
        "prefix": _string(),
        "isVerified": _boolean(False),
    },
    "id",
    "name",
    "type",
    "config",
)

ACCOUNTS_RESPONSE: Final[Schema] = _ok_envelope(_array(ACCOUNT, min_items=1))


# --- instruments --------------------------------------------------------------------------------

SYMBOL_TYPES: Final = (
    "stock",
    "dr",
    "right",
    "bond",
    "warrant",
    "structured",
    "index",
    "forex",
    "futures",
    "spot",
    "swap",
    "commodity",
    "crypto",  # deprecated since 1.4.10: use typespecs
    "cfd",  # deprecated since 1.4.10: use typespecs
)

VALIDATION_RULE_IDS: Final = ("stopPercent", "limitPercent", "slPercent", "tpPercent", "gsPercent")

VALIDATION_RULE: Final[Schema] = _strict(
    {
        "id": _string(*VALIDATION_RULE_IDS),
        "options": _strict({"min": _number(), "max": _number()}, "min", "max"),
    },
    "id",
    "options",
)
"""The five percent-range rules of the spec share one shape and differ only in ``id``."""

INSTRUMENT: Final[Schema] = _strict(
    {
        "name": _string(),
        "description": _string(),
        "minQty": _number(),
        "maxQty": _number(default=1_000_000_000),
        "qtyStep": _number(),
        "pipSize": _number(),
        "pipValue": _number(),
        "minTick": _number(),
        "lotSize": _number(),
        "baseCurrency": _string(),
        "quoteCurrency": _string(),
        "marginRate": _number(),
        "hasQuotes": _boolean(True),
        "units": _string(),
        "variableMinTick": _string(),
        "type": _string(*SYMBOL_TYPES),
        "typespecs": _string(),  # comma-separated subset of cfd, spreadbet, crypto
        "ui": _strict(
            {
                "orderDialogCustomFields": ORDER_DIALOG_CUSTOM_FIELDS,
                "validationRules": _array(VALIDATION_RULE, min_items=1),
            }
        ),
    },
    "name",
    "description",
    "pipSize",
    "pipValue",
    "minTick",
    "type",
)

INSTRUMENTS_RESPONSE: Final[Schema] = _ok_envelope(_array(INSTRUMENT))


# --- mapping, groups, permissions ---------------------------------------------------------------

SYMBOL_MAPPING: Final[Schema] = _strict(
    {
        "symbols": _array(
            _strict(
                {
                    # The broker symbol, alone in its array. See STRICTER_THAN_OPENAPI.
                    "f": _array(_string(), min_items=1, max_items=1),
                    "s": _string(),  # TradingView full name, PREFIX:SYMBOL
                },
                "f",
                "s",
            )
        ),
        "fields": _array(_string("brokerSymbol"), min_items=1, max_items=1),
    }
)
"""The bare ``/mapping`` body; the spec requires neither key."""

GROUPS_RESPONSE: Final[Schema] = _ok_envelope(
    _strict({"groups": _array(_strict({"id": _string()}, "id"))})
)

PERMISSIONS_RESPONSE: Final[Schema] = _ok_envelope(_strict({"groups": _array(_string())}, "groups"))


# --- symbol info (data integration) -------------------------------------------------------------

TIMEZONES: Final = (
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "America/Phoenix",
    "America/Toronto",
    "America/Vancouver",
    "America/Argentina/Buenos_Aires",
    "America/El_Salvador",
    "America/Sao_Paulo",
    "America/Bogota",
    "Europe/Moscow",
    "Europe/Athens",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Madrid",
    "Europe/Paris",
    "Europe/Warsaw",
    "Australia/Sydney",
    "Australia/Brisbane",
    "Australia/Adelaide",
    "Australia/ACT",
    "Asia/Almaty",
    "Asia/Ashkhabad",
    "Asia/Tokyo",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Seoul",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Hong_Kong",
    "Asia/Bangkok",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Fakaofo",
    "Pacific/Honolulu",
    "America/Mexico_City",
    "Africa/Johannesburg",
    "Asia/Kathmandu",
    "US/Mountain",
    "Etc/UTC",
)
"""The 42 ``timezone`` values of SymbolInfoArrays (1.4.14; ``Etc/UTC`` since 1.3.26)."""

TYPESPECS_PATTERN: Final = r"^(cfd|spreadbet|crypto)(,(cfd|spreadbet|crypto))*$"
"""``typespecs``: one of cfd, spreadbet, crypto, or several joined by commas."""


def _or_null(schema: Schema) -> Schema:
    """``schema`` or null (the spec's ``nullable: true``)."""
    if "enum" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _column(
    items: Schema,
    *,
    nullable: bool = False,
    default_null: bool = False,
    min_items: int | None = None,
    deprecated: bool = False,
) -> Schema:
    """A SymbolInfoArrays field: an array with one item per symbol (nullable as a whole)."""
    schema = _array(items, min_items=min_items)
    if nullable:
        schema["type"] = ["array", "null"]
    if default_null:
        schema["default"] = None
    if deprecated:
        schema["deprecated"] = True
    return schema


_NULLABLE_TEXT: Final = _or_null(_string())

SYMBOL_INFO_FIELDS: Final[Schema] = {
    "symbol": _column(_string(), min_items=1),
    "description": _column(_string()),
    "currency": _column(_NULLABLE_TEXT, nullable=True, default_null=True),
    "base-currency": _column(_NULLABLE_TEXT, nullable=True, default_null=True),
    "exchange-listed": _column(_string()),
    "exchange-traded": _column(_string()),
    # Integer ticks and scale. See STRICTER_THAN_OPENAPI.
    "minmovement": _column({"type": "integer"}),
    "minmovement2": _column(_number()),
    "fractional": _column(_boolean()),
    "pricescale": _column({"type": "integer"}),
    "root": _column(_NULLABLE_TEXT, nullable=True, default_null=True),
    "root-description": _column(_NULLABLE_TEXT, nullable=True, default_null=True),
    "has-intraday": _column(_boolean()),
    "has-no-volume": _column(_boolean()),
    "type": _column(_string(*SYMBOL_TYPES)),
    # Combinations and null per the spec's text and example. See LOOSER_THAN_OPENAPI.
    "typespecs": _column({"type": ["string", "null"], "pattern": TYPESPECS_PATTERN}, nullable=True),
    "volume-type": _column(_or_null(_string("base", "quote", "tick", "contract")), nullable=True),
    "is-cfd": _column(_boolean(), deprecated=True),
    "ticker": _column(_string()),
    "timezone": _column(_string(*TIMEZONES)),
    "session-regular": _column(_string()),
    "session-extended": _column(_NULLABLE_TEXT),
    "session-premarket": _column(_NULLABLE_TEXT),
    "session-postmarket": _column(_NULLABLE_TEXT),
    "has-daily": _column(_boolean()),
    "has-weekly-and-monthly": _column(_boolean()),
    "pointvalue": _column(_number()),
    "expiration": _column(_or_null(_number()), nullable=True, default_null=True),
    "bar-source": _column(_string("bid", "ask", "mid", "trade")),
    "bar-transform": _column(_string("none", "openprev", "prevopen")),
    "bar-fillgaps": _column(_boolean()),
    "isin": _column(_NULLABLE_TEXT),
    "wkn": _column(_NULLABLE_TEXT),
}
"""Every SymbolInfoArrays field of 1.4.14, each an array aligned with ``symbol``."""

SYMBOL_INFO_REQUIRED: Final = (
    "symbol",
    "description",
    "currency",
    "exchange-listed",
    "exchange-traded",
    "minmovement",
    "pricescale",
    "timezone",
    "type",
    "session-regular",
)

SYMBOL_INFO_RESPONSE: Final[Schema] = {
    **_open({"s": _string("ok"), **SYMBOL_INFO_FIELDS}, "s", *SYMBOL_INFO_REQUIRED),
    # What stays of the strict SuccessResponse: no payload envelope, no error text.
    "not": {"anyOf": [{"required": ["d"]}, {"required": ["errmsg"]}]},
}
"""``{"s": "ok"}`` merged with SymbolInfoArrays (not strict: legacy fields are harmless)."""


# --- history, quotes, depth ---------------------------------------------------------------------

_BAR_FIELDS = ("t", "o", "h", "l", "c", "v")

HISTORY_RESPONSE: Final[Schema] = {
    **_open({"s": _string("ok"), **{k: _array(_number()) for k in _BAR_FIELDS}}, "s", *_BAR_FIELDS),
    # BarsArrays (or EmptyBarArrays) merged with SuccessResponse: no envelope, no error text.
    "not": {"anyOf": [{"required": ["d"]}, {"required": ["errmsg"]}]},
}
"""HistorySuccessResponse and HistoryEmptyBarResponse: six parallel arrays of numbers."""

SINGLE_QUOTE: Final[Schema] = _strict(
    {
        "ask": _number(), "bid": _number(), "buyPipValue": _number(),
        "sellPipValue": _number(), "hardToBorrow": _boolean(False),
        "notShortable": _boolean(False), "halted": _boolean(False),
    },
    "ask", "bid",
)  # fmt: skip

QUOTES_RESPONSE: Final[Schema] = _ok_envelope(
    _array(
        _strict({"s": _string("ok", "error"), "n": _string(), "v": SINGLE_QUOTE}, "n", "v"),
        min_items=1,
    )
)
"""``{"s": "ok", "d": Quotes}``: one item per requested symbol."""

_DEPTH_ITEM: Final[Schema] = _array(_number(), min_items=2, max_items=2)
DEPTH_RESPONSE: Final[Schema] = _ok_envelope(
    _strict({"asks": _array(_DEPTH_ITEM), "bids": _array(_DEPTH_ITEM)}, "asks", "bids")
)
"""``{"s": "ok", "d": {"asks": [[price, volume]...], "bids": [...]}}``."""


# --- trading: shared pieces ---------------------------------------------------------------------

SIDES: Final = ("buy", "sell")

MESSAGE_TYPES: Final = ("information", "warning", "error")
"""Informational message types, lowercase as in the enum (the spec's examples write Information)."""

TRANSACTION_ID: Final[Schema] = _string()
"""TransactionId: a string since 1.4.11 (a number before); only with ``supportTrackLatency``."""

CUSTOM_FIELD_VALUES: Final[Schema] = _array(
    _strict({"id": _string(), "value": _string()}, "id", "value"), min_items=1
)
"""CustomFieldsValueItem[]: localized values of the configured custom columns."""

INFORMATIONAL_MESSAGE: Final[Schema] = _strict(
    {"text": _string(), "type": _string(*MESSAGE_TYPES)}, "text", "type"
)
"""OrderInformationalMessage and PositionInformationalMessage, which share one shape."""

SUCCESS_WITH_TRANSACTION_ID: Final[Schema] = _strict(
    {"s": _string("ok"), "d": _strict({"transactionId": TRANSACTION_ID})}, "s"
)
"""SuccessResponse or SuccessResponseWithTransactionId, as one schema.

SuccessResponseWithTransactionId requires neither ``d`` nor ``d.transactionId``, so it already
admits every SuccessResponse; the union is this schema. See LOOSER_THAN_OPENAPI.
"""

# --- account state ------------------------------------------------------------------------------

ACCOUNT_STATE: Final[Schema] = _strict(
    {
        "balance": _number(),
        "unrealizedPl": _number(),
        "equity": _number(),  # balance + unrealizedPl when absent
        # Account manager tables -> rows -> cells, shaped like the configured accountManager.
        "amData": _array(_array(_array(_string())), min_items=1),
        "accountSummaryRowData": _array(_string(), min_items=1),
        "marginAvailable": _number(),
    },
    "balance",
    "unrealizedPl",
)
"""AccountState: ``/state``'s ``d`` and, whole each time, every ``/stream/state`` data message."""

STATE_RESPONSE: Final[Schema] = _ok_envelope(ACCOUNT_STATE)


# --- orders -------------------------------------------------------------------------------------

ORDER_STATUSES: Final = ("placing", "inactive", "working", "rejected", "filled", "cancelled")
FINAL_ORDER_STATUSES: Final = ("rejected", "filled", "cancelled")

ORDER_COMMON: Final[Schema] = _open(
    {
        "id": _string(),
        "instrument": _string(),  # broker instrument name
        "qty": _number(),
        "side": _string(*SIDES),
        "type": _string(*ORDER_TYPES),
        "filledQty": _number(),
        "avgPrice": _number(),
        "limitPrice": _number(),  # limit and stoplimit orders only
        "stopPrice": _number(),  # stop and stoplimit orders only
        "trailingStopPips": _number(),  # trailing stops only
        "isTrailingStop": _boolean(),
        "isGuaranteedStop": _boolean(),
        "parentId": _string(),  # brackets only
        "parentType": _string("order", "position"),  # brackets only
        # A Duration id and a Unix time in seconds; the spec leaves this object open.
        "duration": _open({"type": _string(), "datetime": _number()}, "type"),
        "lastModified": _number(),
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
    "allOf": [ORDER_COMMON, _open({"status": _string(*ORDER_STATUSES)}, "status")]
}
"""Order: OrderCommon and OrderStatus (any of the six statuses)."""

ORDER_HISTORY: Final[Schema] = {
    "allOf": [ORDER_COMMON, _open({"status": _string(*FINAL_ORDER_STATUSES)}, "status")]
}
"""OrderHistory: OrderCommon and OrderHistoryStatus (final statuses only)."""

ORDERS_RESPONSE: Final[Schema] = _ok_envelope(_array(ORDER))
ORDERS_HISTORY_RESPONSE: Final[Schema] = _ok_envelope(_array(ORDER_HISTORY))

POST_ORDER_RESPONSE: Final[Schema] = _ok_envelope(
    _strict({"orderId": _string(), "transactionId": TRANSACTION_ID})
)
"""PostOrderResponse: ``d`` is required, both of its fields optional."""

PREVIEW_ORDER: Final[Schema] = _strict(
    {
        "confirmId": _string(),  # sent back as the confirmId query of the place/modify request
        "sections": _array(
            _strict(
                {
                    "rows": _array(
                        _strict({"title": _string(), "value": _string()}, "title", "value")
                    ),
                    "header": _string(),
                },
                "rows",
            )
        ),
        "warnings": _array(_string()),
        "errors": _array(_string()),
    },
    "sections",
)
"""PreviewOrder: sections of pre-formatted title/value rows, with warnings and errors."""

PREVIEW_ORDER_RESPONSE: Final[Schema] = _ok_envelope(PREVIEW_ORDER)


# --- positions ----------------------------------------------------------------------------------

POSITION: Final[Schema] = _strict(
    {
        "id": _string(),
        "instrument": _string(),
        "qty": _number(),
        "side": _string(*SIDES),
        "avgPrice": _number(),
        "unrealizedPl": _number(),
        "message": INFORMATIONAL_MESSAGE,
        "customFields": CUSTOM_FIELD_VALUES,
    },
    "id",
    "instrument",
    "qty",
    "side",
    "avgPrice",
)

NET_POSITION: Final[Schema] = _open(
    {
        "id": _string(),
        "instrument": _string(),
        "qty": _number(),  # net quantity
        "longQty": _number(),
        "shortQty": _number(),
        "avgPrice": _number(),
        "customFields": CUSTOM_FIELD_VALUES,
        "message": INFORMATIONAL_MESSAGE,
    },
    "id",
    "instrument",
    "qty",
)
"""NetPosition (netting mode). The spec leaves it open (its example even adds ``side``)."""

INDIVIDUAL_POSITION: Final[Schema] = _open(
    {
        "id": _string(),
        "instrument": _string(),
        "date": _string(),  # opening time: Unix milliseconds, as a string
        "qty": _number(),
        "side": _string(*SIDES),
        "price": _number(),
        "unrealizedPl": _number(),
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

STREAM_CLOSED_POSITION: Final[Schema] = _strict(
    {"id": _string(), "qty": {**_number(), "const": 0}}, "id", "qty"
)
"""StreamClosedPosition: exactly ``{"id": ..., "qty": 0}``. See STRICTER_THAN_OPENAPI."""

POSITIONS_RESPONSE: Final[Schema] = _ok_envelope(_array(POSITION))
NET_POSITIONS_RESPONSE: Final[Schema] = _ok_envelope(_array(NET_POSITION))
INDIVIDUAL_POSITIONS_RESPONSE: Final[Schema] = _ok_envelope(_array(INDIVIDUAL_POSITION))


# --- executions and balances --------------------------------------------------------------------

EXECUTION: Final[Schema] = _strict(
    {
        "id": _string(),
        "instrument": _string(),
        "price": _number(),
        "time": _number(),  # Unix seconds
        "qty": _number(),
        "side": _string(*SIDES),
        "orderId": _string(),
        "isClose": _boolean(),
        "positionId": _string(),
        "commission": _number(),
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

EXECUTIONS_RESPONSE: Final[Schema] = _ok_envelope(_array(EXECUTION))

CRYPTO_BALANCE: Final[Schema] = _strict(
    {
        "symbol": _string(),
        "longName": _string(),
        "total": _number(),
        "available": _number(),
        "reserved": _number(),
        "btcValue": _number(),
        "value": _number(),
        "valueCurrency": _string(),
    },
    "symbol",
    "total",
    "available",
)

BALANCES_RESPONSE: Final[Schema] = _ok_envelope(_array(CRYPTO_BALANCE))


# --- leverage -----------------------------------------------------------------------------------

GET_LEVERAGE: Final[Schema] = _strict(
    {
        "title": _string(),  # title of the leverage dialog
        "leverage": _number(),
        "min": _number(),
        "max": _number(),
        "step": _number(),
    },
    "title",
    "leverage",
    "min",
    "max",
    "step",
)

GET_LEVERAGE_RESPONSE: Final[Schema] = _ok_envelope(GET_LEVERAGE)

SET_LEVERAGE_RESPONSE: Final[Schema] = _open(
    {"s": _string("ok"), "d": _strict({"leverage": _number()}, "leverage")}, "s", "d"
)
"""SetLeverageResponse: the only envelope the spec leaves open; its SetLeverage is strict."""

PREVIEW_LEVERAGE: Final[Schema] = _strict(
    {name: _array(_string(), min_items=1) for name in ("infos", "warnings", "errors")}
)

PREVIEW_LEVERAGE_RESPONSE: Final[Schema] = _ok_envelope(PREVIEW_LEVERAGE)


# --- trading streams ----------------------------------------------------------------------------

PING_MESSAGE: Final[Schema] = _open({"s": _string("ok")}, "s")
"""PingMessage: ``{"s": "ok"}`` after 5 s of silence on a trading stream; left open."""

STREAM_DATA: Final[dict[str, Schema]] = {
    "streamOrders": _array(ORDER),
    "streamPositions": _array({"anyOf": [POSITION, STREAM_CLOSED_POSITION]}),
    "streamNetPositions": _array({"anyOf": [NET_POSITION, STREAM_CLOSED_POSITION]}),
    "streamIndividualPositions": _array({"anyOf": [INDIVIDUAL_POSITION, STREAM_CLOSED_POSITION]}),
    "streamState": ACCOUNT_STATE,
}
"""The data message of each trading stream: an entity array (snapshot or update), or for
``streamState`` a whole AccountState."""

# --- by operation -------------------------------------------------------------------------------


def _document(schema: Schema) -> Schema:
    """A top-level schema document declaring its dialect."""
    return {"$schema": DIALECT, **schema}


SUCCESS: Final[dict[str, Schema]] = {
    operation_id: _document(schema)
    for operation_id, schema in {
        "authorize": AUTHORIZE_RESPONSE,
        "logout": SUCCESS_RESPONSE,
        "getConfiguration": CONFIG_RESPONSE,
        "getMapping": SYMBOL_MAPPING,
        "getAccounts": ACCOUNTS_RESPONSE,
        "getInstruments": INSTRUMENTS_RESPONSE,
        "getGroups": GROUPS_RESPONSE,
        "getPermissions": PERMISSIONS_RESPONSE,
        "getSymbolInfo": SYMBOL_INFO_RESPONSE,
        "getHistory": HISTORY_RESPONSE,
        "getQuotes": QUOTES_RESPONSE,
        "getDepth": DEPTH_RESPONSE,
        "getState": STATE_RESPONSE,
        "getOrders": ORDERS_RESPONSE,
        "getOrdersHistory": ORDERS_HISTORY_RESPONSE,
        "placeOrder": POST_ORDER_RESPONSE,
        "previewOrder": PREVIEW_ORDER_RESPONSE,
        **{operation_id: SUCCESS_WITH_TRANSACTION_ID for operation_id in TRANSACTION_OPERATIONS},
        "getPositions": POSITIONS_RESPONSE,
        "getNetPositions": NET_POSITIONS_RESPONSE,
        "getIndividualPositions": INDIVIDUAL_POSITIONS_RESPONSE,
        "getExecutions": EXECUTIONS_RESPONSE,
        "getBalances": BALANCES_RESPONSE,
        "getLeverage": GET_LEVERAGE_RESPONSE,
        "setLeverage": SET_LEVERAGE_RESPONSE,
        "previewLeverage": PREVIEW_LEVERAGE_RESPONSE,
        "trackLatency": SUCCESS_RESPONSE,
    }.items()
}
"""The success shape of each operation, keyed by the spec's operationId."""

WITHOUT_ERROR_BRANCH: Final = frozenset({"getMapping", "trackLatency"})
"""Operations whose spec response has no ErrorResponse alternative."""

RESPONSES: Final[dict[str, Schema]] = {
    operation_id: (
        schema
        if operation_id in WITHOUT_ERROR_BRANCH
        else _document({"oneOf": [SUCCESS[operation_id], ERROR_RESPONSE]})
    )
    for operation_id, schema in SUCCESS.items()
}
"""The whole response schema of each operation (success or ErrorResponse), by operationId."""

STREAM_MESSAGES: Final[dict[str, Schema]] = {
    operation_id: _document({"oneOf": [data, PING_MESSAGE, ERROR_RESPONSE]})
    for operation_id, data in STREAM_DATA.items()
}
"""Each line of a trading stream (data message, PingMessage or ErrorMessage), by operationId."""


# --- validation helpers -------------------------------------------------------------------------


def _describe(error: ValidationError) -> str:
    text = f"{error.json_path}: {error.message}"
    if error.context:  # anyOf/oneOf: the errors of the alternative that came closest
        branches: dict[object, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        closest = min(branches.values(), key=len)  # on a tie, the first alternative
        text += f" [closest: {'; '.join(_describe(sub) for sub in closest)}]"
    return text


def _errors(schema: Schema, body: object) -> list[str]:
    validator = Draft202012Validator(schema)
    found = sorted(validator.iter_errors(body), key=lambda e: (e.json_path, e.message))
    return [_describe(error) for error in found]


def validation_errors(operation_id: str, body: object) -> list[str]:
    """Every way ``body`` fails the response schema of ``operation_id``, as ``path: message``.

    A ``oneOf`` failure alone says nothing useful, so the errors are those of the branch the body
    claims to be: ErrorResponse when ``s`` is ``"error"``, the success shape otherwise.
    """
    whole = _errors(RESPONSES[operation_id], body)
    if not whole:
        return []
    claims_error = isinstance(body, dict) and body.get("s") == "error"
    if claims_error and operation_id not in WITHOUT_ERROR_BRANCH:
        branch, name = ERROR_RESPONSE, "ErrorResponse"
    else:
        branch, name = SUCCESS[operation_id], "success shape"
    detailed = [f"{message} (as {name})" for message in _errors(branch, body)]
    return detailed or whole


def assert_valid(operation_id: str, body: object) -> None:
    """Raise AssertionError listing every error if ``body`` is not a valid response."""
    errors = validation_errors(operation_id, body)
    if errors:
        lines = "\n  ".join(errors)
        raise AssertionError(f"{operation_id} response breaks spec {SPEC_VERSION}:\n  {lines}")


def assert_success(operation_id: str, body: object) -> None:
    """Raise AssertionError listing every error unless ``body`` is the success shape."""
    errors = _errors(SUCCESS[operation_id], body)
    if errors:
        lines = "\n  ".join(errors)
        raise AssertionError(
            f"{operation_id} response is not a spec {SPEC_VERSION} success:\n  {lines}"
        )


def stream_message_errors(operation_id: str, message: object) -> list[str]:
    """Every way one trading-stream ``message`` fails the stream's schema, as ``path: message``.

    The errors are those of the kind the message claims to be: ErrorMessage when ``s`` is
    ``"error"``, PingMessage when it has any other ``s``, the data message otherwise.
    """
    whole = _errors(STREAM_MESSAGES[operation_id], message)
    if not whole:
        return []
    if isinstance(message, dict) and "s" in message:
        error = message["s"] == "error"
        branch, name = (ERROR_RESPONSE, "ErrorMessage") if error else (PING_MESSAGE, "PingMessage")
    else:
        branch, name = STREAM_DATA[operation_id], "data message"
    detailed = [f"{text} (as {name})" for text in _errors(branch, message)]
    return detailed or whole


def assert_stream_message(operation_id: str, message: object) -> None:
    """Raise AssertionError listing every error if ``message`` is not a valid stream message."""
    errors = stream_message_errors(operation_id, message)
    if errors:
        lines = "\n  ".join(errors)
        raise AssertionError(f"{operation_id} message breaks spec {SPEC_VERSION}:\n  {lines}")
