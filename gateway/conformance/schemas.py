"""The project's own JSON Schemas (draft 2020-12) of TradingView's broker API 1.4.14 responses.

These schemas are the project's own transcription of the response shapes stated by TradingView's
"REST API Specification for Brokers" 1.4.14. They were written by hand, in our own structure
(Python builders, no ``$ref`` web), from the facts the specification states: which fields exist,
their types, which are required, which objects are strict (the spec's ``additionalProperties:
false``), enums, ``minItems``/``maxItems`` and maxima. They are *not* a copy of the OpenAPI
file, and nothing in the test suite reads that file; ``tools/check_against_openapi.py`` is the
developer-only script that compares these schemas and a running gateway with the official file.

Conventions:

* The shapes live in two modules: this one holds the authorization, configuration and
  data-integration shapes, ``schemas_trading.py`` the trading half (orders, positions,
  executions, account state, balances, previews, leverage, stream messages), both written with
  the builders of ``schema_builders.py``. Import the tables and helpers below from here.
* ``gateway conformance`` validates any server's answers with them, and the test suite the
  gateway's own.
* "strict" objects (``strict_object``) admit no keys beyond their properties, exactly where the
  spec declares ``additionalProperties: false``; objects the spec leaves open (``open_object``,
  e.g. the order-dialog checkbox) accept extra keys.
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

from typing import Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from gateway.conformance import schemas_trading as trading
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


# --- status primitives --------------------------------------------------------------------------

ERROR_RESPONSE: Final[Schema] = strict_object(
    {"s": string("error"), "errmsg": string()}, "s", "errmsg"
)
"""``{"s": "error", "errmsg": <text shown to the user>}``."""

SUCCESS_RESPONSE: Final[Schema] = strict_object({"s": string("ok")}, "s")
"""``{"s": "ok"}`` with no payload (logout and the other payload-less operations)."""


# --- authorize ----------------------------------------------------------------------------------

ACCESS_TOKEN: Final[Schema] = strict_object(
    {
        "access_token": string(),
        # Absolute Unix time in seconds at which the token dies. See STRICTER_THAN_OPENAPI.
        "expiration": {"type": "integer"},
    },
    "access_token",
    "expiration",
)

AUTHORIZE_RESPONSE: Final[Schema] = ok_envelope(ACCESS_TOKEN)


# --- configuration pieces shared by /config and /accounts ---------------------------------------

ACCOUNT_SUMMARY_ROW: Final[Schema] = array(
    strict_object({"id": string(), "title": string()}, "id", "title"), min_items=1
)

ACCOUNT_MANAGER_COLUMN: Final[Schema] = strict_object(
    {
        "id": string(),
        "title": string(),
        "tooltip": string(),
        "alignment": {**string("left", "right"), "default": "left"},
        "isCapitalize": boolean(True),
    },
    "id",
    "title",
)

ACCOUNT_MANAGER: Final[Schema] = array(
    strict_object(
        {
            "id": string(),
            "title": string(),
            "columns": array(ACCOUNT_MANAGER_COLUMN, min_items=1),
        },
        "id",
        "columns",
    ),
    min_items=1,
)

CUSTOM_COLUMNS: Final[Schema] = array(ACCOUNT_MANAGER_COLUMN, min_items=1)
"""orderCustomFields, orderHistoryCustomFields and the three position variants."""


DURATION: Final[Schema] = strict_object(
    {
        "id": string(),
        "title": string(),
        "hasDatePicker": boolean(False),
        "hasTimePicker": boolean(False),
        "default": boolean(False),
        "supportedOrderTypes": {
            **array(string(*trading.ORDER_TYPES), min_items=1),
            "default": ["limit", "stop", "stoplimit"],
        },
    },
    "id",
    "title",
)

DURATIONS: Final[Schema] = array(DURATION, min_items=1)

PULLING_INTERVAL: Final[Schema] = strict_object(
    {
        # Milliseconds; TradingView clamps larger values, but the schema declares the maxima.
        "quotes": number(maximum=1000, default=500),
        "orders": number(maximum=1000, default=500),
        "positions": number(maximum=1500, default=1000),
        "accountManager": number(maximum=1500, default=500),
        "balances": number(maximum=1500, default=1000),
    }
)

CONFIG: Final[Schema] = strict_object(
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

CONFIG_RESPONSE: Final[Schema] = ok_envelope(CONFIG)


# --- order dialog custom fields (accounts and instruments) --------------------------------------

COMBO_BOX: Final[Schema] = strict_object(
    {
        "id": string(),
        "title": string(),
        "saveToSettings": boolean(False),
        "mutable": boolean(True),
        "forceUserEnterInitialValue": boolean(False),
        "items": array(
            strict_object({"text": string(), "value": string()}, "text", "value"), min_items=1
        ),
    },
    "id",
    "items",
    "title",
)

CHECKBOX: Final[Schema] = open_object(
    {
        "id": string(),
        "title": string(),
        "saveToSettings": boolean(False),
        "help": string(),
        "checked": boolean(False),
        "mutable": boolean(True),
    },
    "id",
    "title",
)
"""The spec leaves the checkbox open (no ``additionalProperties: false``)."""

ORDER_DIALOG_CUSTOM_FIELDS: Final[Schema] = strict_object(
    {
        "comboBox": array(COMBO_BOX, min_items=1),
        "checkbox": array(CHECKBOX),
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

ACCOUNT_FLAGS: Final[Schema] = strict_object(
    {
        name: boolean(default, deprecated=default is None)
        for name, default in ACCOUNT_FLAG_DEFAULTS.items()
    }
)

ACCOUNT_UI: Final[Schema] = strict_object(
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

ACCOUNT: Final[Schema] = strict_object(
    {
        "id": string(),
        "name": string(),
        "type": string("live", "demo"),
        "currency": string(),
        "currencySign": string(),
        "config": ACCOUNT_FLAGS,
        "ui": ACCOUNT_UI,
        "durations": DURATIONS,
        "prefix": string(),
        "isVerified": boolean(False),
    },
    "id",
    "name",
    "type",
    "config",
)

ACCOUNTS_RESPONSE: Final[Schema] = ok_envelope(array(ACCOUNT, min_items=1))


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

VALIDATION_RULE: Final[Schema] = strict_object(
    {
        "id": string(*VALIDATION_RULE_IDS),
        "options": strict_object({"min": number(), "max": number()}, "min", "max"),
    },
    "id",
    "options",
)
"""The five percent-range rules of the spec share one shape and differ only in ``id``."""

INSTRUMENT: Final[Schema] = strict_object(
    {
        "name": string(),
        "description": string(),
        "minQty": number(),
        "maxQty": number(default=1_000_000_000),
        "qtyStep": number(),
        "pipSize": number(),
        "pipValue": number(),
        "minTick": number(),
        "lotSize": number(),
        "baseCurrency": string(),
        "quoteCurrency": string(),
        "marginRate": number(),
        "hasQuotes": boolean(True),
        "units": string(),
        "variableMinTick": string(),
        "type": string(*SYMBOL_TYPES),
        "typespecs": string(),  # comma-separated subset of cfd, spreadbet, crypto
        "ui": strict_object(
            {
                "orderDialogCustomFields": ORDER_DIALOG_CUSTOM_FIELDS,
                "validationRules": array(VALIDATION_RULE, min_items=1),
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

INSTRUMENTS_RESPONSE: Final[Schema] = ok_envelope(array(INSTRUMENT))


# --- mapping, groups, permissions ---------------------------------------------------------------

SYMBOL_MAPPING: Final[Schema] = strict_object(
    {
        "symbols": array(
            strict_object(
                {
                    # The broker symbol, alone in its array. See STRICTER_THAN_OPENAPI.
                    "f": array(string(), min_items=1, max_items=1),
                    "s": string(),  # TradingView full name, PREFIX:SYMBOL
                },
                "f",
                "s",
            )
        ),
        "fields": array(string("brokerSymbol"), min_items=1, max_items=1),
    }
)
"""The bare ``/mapping`` body; the spec requires neither key."""

GROUPS_RESPONSE: Final[Schema] = ok_envelope(
    strict_object({"groups": array(strict_object({"id": string()}, "id"))})
)

PERMISSIONS_RESPONSE: Final[Schema] = ok_envelope(
    strict_object({"groups": array(string())}, "groups")
)


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
    schema = array(items, min_items=min_items)
    if nullable:
        schema["type"] = ["array", "null"]
    if default_null:
        schema["default"] = None
    if deprecated:
        schema["deprecated"] = True
    return schema


_NULLABLE_TEXT: Final = _or_null(string())

SYMBOL_INFO_FIELDS: Final[Schema] = {
    "symbol": _column(string(), min_items=1),
    "description": _column(string()),
    "currency": _column(_NULLABLE_TEXT, nullable=True, default_null=True),
    "base-currency": _column(_NULLABLE_TEXT, nullable=True, default_null=True),
    "exchange-listed": _column(string()),
    "exchange-traded": _column(string()),
    # Integer ticks and scale. See STRICTER_THAN_OPENAPI.
    "minmovement": _column({"type": "integer"}),
    "minmovement2": _column(number()),
    "fractional": _column(boolean()),
    "pricescale": _column({"type": "integer"}),
    "root": _column(_NULLABLE_TEXT, nullable=True, default_null=True),
    "root-description": _column(_NULLABLE_TEXT, nullable=True, default_null=True),
    "has-intraday": _column(boolean()),
    "has-no-volume": _column(boolean()),
    "type": _column(string(*SYMBOL_TYPES)),
    # Combinations and null per the spec's text and example. See LOOSER_THAN_OPENAPI.
    "typespecs": _column({"type": ["string", "null"], "pattern": TYPESPECS_PATTERN}, nullable=True),
    "volume-type": _column(_or_null(string("base", "quote", "tick", "contract")), nullable=True),
    "is-cfd": _column(boolean(), deprecated=True),
    "ticker": _column(string()),
    "timezone": _column(string(*TIMEZONES)),
    "session-regular": _column(string()),
    "session-extended": _column(_NULLABLE_TEXT),
    "session-premarket": _column(_NULLABLE_TEXT),
    "session-postmarket": _column(_NULLABLE_TEXT),
    "has-daily": _column(boolean()),
    "has-weekly-and-monthly": _column(boolean()),
    "pointvalue": _column(number()),
    "expiration": _column(_or_null(number()), nullable=True, default_null=True),
    "bar-source": _column(string("bid", "ask", "mid", "trade")),
    "bar-transform": _column(string("none", "openprev", "prevopen")),
    "bar-fillgaps": _column(boolean()),
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
    **open_object({"s": string("ok"), **SYMBOL_INFO_FIELDS}, "s", *SYMBOL_INFO_REQUIRED),
    # What stays of the strict SuccessResponse: no payload envelope, no error text.
    "not": {"anyOf": [{"required": ["d"]}, {"required": ["errmsg"]}]},
}
"""``{"s": "ok"}`` merged with SymbolInfoArrays (not strict: legacy fields are harmless)."""


# --- history, quotes, depth ---------------------------------------------------------------------

_BAR_FIELDS = ("t", "o", "h", "l", "c", "v")

HISTORY_RESPONSE: Final[Schema] = {
    **open_object(
        {"s": string("ok"), **{k: array(number()) for k in _BAR_FIELDS}}, "s", *_BAR_FIELDS
    ),
    # BarsArrays (or EmptyBarArrays) merged with SuccessResponse: no envelope, no error text.
    "not": {"anyOf": [{"required": ["d"]}, {"required": ["errmsg"]}]},
}
"""HistorySuccessResponse and HistoryEmptyBarResponse: six parallel arrays of numbers."""

SINGLE_QUOTE: Final[Schema] = strict_object(
    {
        "ask": number(), "bid": number(), "buyPipValue": number(),
        "sellPipValue": number(), "hardToBorrow": boolean(False),
        "notShortable": boolean(False), "halted": boolean(False),
    },
    "ask", "bid",
)  # fmt: skip

QUOTES_RESPONSE: Final[Schema] = ok_envelope(
    array(
        strict_object({"s": string("ok", "error"), "n": string(), "v": SINGLE_QUOTE}, "n", "v"),
        min_items=1,
    )
)
"""``{"s": "ok", "d": Quotes}``: one item per requested symbol."""

_DEPTH_ITEM: Final[Schema] = array(number(), min_items=2, max_items=2)
DEPTH_RESPONSE: Final[Schema] = ok_envelope(
    strict_object({"asks": array(_DEPTH_ITEM), "bids": array(_DEPTH_ITEM)}, "asks", "bids")
)
"""``{"s": "ok", "d": {"asks": [[price, volume]...], "bids": [...]}}``."""


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
        "getState": trading.STATE_RESPONSE,
        "getOrders": trading.ORDERS_RESPONSE,
        "getOrdersHistory": trading.ORDERS_HISTORY_RESPONSE,
        "placeOrder": trading.POST_ORDER_RESPONSE,
        "previewOrder": trading.PREVIEW_ORDER_RESPONSE,
        **{
            operation_id: trading.SUCCESS_WITH_TRANSACTION_ID
            for operation_id in TRANSACTION_OPERATIONS
        },
        "getPositions": trading.POSITIONS_RESPONSE,
        "getNetPositions": trading.NET_POSITIONS_RESPONSE,
        "getIndividualPositions": trading.INDIVIDUAL_POSITIONS_RESPONSE,
        "getExecutions": trading.EXECUTIONS_RESPONSE,
        "getBalances": trading.BALANCES_RESPONSE,
        "getLeverage": trading.GET_LEVERAGE_RESPONSE,
        "setLeverage": trading.SET_LEVERAGE_RESPONSE,
        "previewLeverage": trading.PREVIEW_LEVERAGE_RESPONSE,
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
    operation_id: _document({"oneOf": [data, trading.PING_MESSAGE, ERROR_RESPONSE]})
    for operation_id, data in trading.STREAM_DATA.items()
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
        branch, name = (
            (ERROR_RESPONSE, "ErrorMessage") if error else (trading.PING_MESSAGE, "PingMessage")
        )
    else:
        branch, name = trading.STREAM_DATA[operation_id], "data message"
    detailed = [f"{text} (as {name})" for text in _errors(branch, message)]
    return detailed or whole


def assert_stream_message(operation_id: str, message: object) -> None:
    """Raise AssertionError listing every error if ``message`` is not a valid stream message."""
    errors = stream_message_errors(operation_id, message)
    if errors:
        lines = "\n  ".join(errors)
        raise AssertionError(f"{operation_id} message breaks spec {SPEC_VERSION}:\n  {lines}")
