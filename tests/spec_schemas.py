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
  ``getMapping``, whose response is the bare ``SymbolMapping`` (no envelope, no error shape).
* ``RESPONSES[operation_id]`` is the whole response schema; ``SUCCESS[operation_id]`` only the
  success branch, for tests that must demand success.

Deliberately stricter than the OpenAPI schema, because the specification's own text says so
(listed in ``STRICTER_THAN_OPENAPI``):

* ``AccessToken.expiration`` must be integer-valued (the schema says ``number``; the spec's
  description and TradingView's autotests require an integer Unix time in seconds);
* ``SingleMapping.f`` holds exactly one string (the schema only says ``minItems: 1``; its
  description says "an array with the only one string element");
* ``/symbol_info``'s ``minmovement`` and ``pricescale`` hold integers (the schema says
  ``number``; TradingView's symbol-info autotest requires integers).

Deliberately looser than the OpenAPI schema where the schema contradicts the spec's own text or
examples (listed in ``LOOSER_THAN_OPENAPI``): ``SymbolInfoResponse`` is ``allOf`` a strict
``SuccessResponse`` and the open ``SymbolInfoArrays``, which taken literally admits no symbol
field at all; we read it as ``{"s": "ok"}`` merged with the arrays (still refusing ``d`` and
``errmsg``). The SymbolInfoArrays fields are arrays only, as the schema says: the prose allowance
of a single scalar for all symbols is not transcribed (the gateway never sends one).
"""

from __future__ import annotations

from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

Schema = dict[str, Any]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SPEC_VERSION: Final = "1.4.14"

STRICTER_THAN_OPENAPI: Final[dict[tuple[str, str], str]] = {
    ("authorize", "$.d.expiration"): "AccessToken.expiration: an integer-valued number",
    ("getMapping", "$.symbols[].f"): "SingleMapping.f: exactly one broker symbol (maxItems 1)",
    ("getSymbolInfo", "$.minmovement[]"): "minmovement: integers (symbol-info autotest)",
    ("getSymbolInfo", "$.pricescale[]"): "pricescale: integers (symbol-info autotest)",
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
    }.items()
}
"""The success shape of each operation, keyed by the spec's operationId."""

WITHOUT_ERROR_BRANCH: Final = frozenset({"getMapping"})
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


# --- validation helpers -------------------------------------------------------------------------


def _describe(error: ValidationError) -> str:
    return f"{error.json_path}: {error.message}"


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
