"""Self-tests of gateway/conformance/schemas.py: they accept good bodies and can fail on bad ones.

Every example is hand-written from the specification's text. ``VALID`` and ``INVALID`` (responses)
are plain data so that tools/check_against_openapi.py can also run them through the official
OpenAPI file and report where our transcription and the official schema disagree. Each invalid
example has exactly one defect. The trading operations' bodies live in
tests/spec_examples_trading.py and their specific tests, with the trading streams' examples
(``STREAM_VALID`` and ``STREAM_INVALID``), in tests/test_spec_schemas_trading.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gateway.conformance.schemas import (
    ACCOUNT_FLAG_DEFAULTS,
    RESPONSES,
    STREAM_MESSAGES,
    SUCCESS,
    WITHOUT_ERROR_BRANCH,
    assert_success,
    assert_valid,
    validation_errors,
)
from tests.spec_examples import ERROR, Example, changed, example_id, ok, without
from tests.spec_examples_trading import TRADING_INVALID, TRADING_VALID

# --- hand-written full bodies ---------------------------------------------------------------------

COLUMN = {"id": "balance", "title": "Balance", "tooltip": "Cash", "alignment": "right"}
FULL_COLUMN = {**COLUMN, "isCapitalize": False}
TABLE = {"id": "summary", "title": "Summary", "columns": [FULL_COLUMN]}
DURATION = {
    "id": "GTT",
    "title": "Good till time",
    "hasDatePicker": True,
    "hasTimePicker": True,
    "default": True,
    "supportedOrderTypes": ["limit", "stop", "stoplimit", "market"],
}
FULL_CONFIG = {
    "accountSummaryRow": [{"id": "balance", "title": "Balance"}],
    "accountManager": [TABLE],
    "durations": [DURATION, {"id": "DAY", "title": "Day"}],
    "orderCustomFields": [COLUMN],
    "orderHistoryCustomFields": [COLUMN],
    "positionCustomFields": [COLUMN],
    "netPositionCustomFields": [COLUMN],
    "individualPositionCustomFields": [COLUMN],
    "pullingInterval": {
        "quotes": 1000,
        "orders": 500,
        "positions": 1500,
        "accountManager": 1500,
        "balances": 1000.5,
    },
}

# Every AccountFlags flag of 1.4.14, typed in again from the spec (a second transcription).
ALL_FLAGS = {
    "supportBrackets": False,
    "supportOrderBrackets": True,
    "supportAddBracketsToExistingOrder": True,
    "supportMarketBrackets": True,
    "supportPositionBrackets": True,
    "supportPositions": True,
    "supportMultiposition": False,
    "supportClosePosition": True,
    "supportPartialClosePosition": True,
    "supportReversePosition": True,
    "supportNativeReversePosition": False,
    "supportMarketOrders": True,
    "supportLimitOrders": True,
    "supportStopOrders": True,
    "supportStopLimitOrders": True,
    "supportTrailingStop": True,
    "supportGuaranteedStop": True,
    "supportStopOrdersInBothDirections": False,
    "supportStopLimitOrdersInBothDirections": False,
    "supportPartialOrderExecution": True,
    "supportModifyOrder": False,
    "supportModifyOrderPrice": True,
    "supportEditAmount": True,
    "supportModifyBrackets": True,
    "supportModifyDuration": True,
    "supportCryptoExchangeOrderTicket": False,
    "supportDigitalSignature": False,
    "supportPlaceOrderPreview": True,
    "supportModifyOrderPreview": True,
    "showQuantityInsteadOfAmount": False,
    "supportBalances": True,
    "supportOrdersHistory": True,
    "supportExecutions": True,
    "supportLeverage": True,
    "supportLeverageButton": True,
    "supportDOM": True,
    "supportLevel2Data": True,
    "supportPLUpdate": True,
    "supportDisplayBrokerNameInSymbolSearch": True,
    "supportLogout": True,
    "supportCustomAccountSummaryRow": True,
    "supportPositionCustomFields": True,
    "supportOrderCustomFields": True,
    "supportOrderHistoryCustomFields": True,
    "supportTrackLatency": True,
    "supportPositionNetting": False,
    "supportIndividualPositionBrackets": False,
    "supportPartialCloseIndividualPosition": False,
    "supportStrictCheckingLimitOrderPrice": True,
}

COMBO_BOX = {
    "id": "route",
    "title": "Route",
    "saveToSettings": True,
    "mutable": False,
    "forceUserEnterInitialValue": True,
    "items": [{"text": "Smart", "value": "smart"}, {"text": "Direct", "value": "direct"}],
}
CHECKBOX = {
    "id": "extended_hours",
    "title": "Extended hours",
    "saveToSettings": False,
    "help": "Trade outside regular hours",
    "checked": True,
    "mutable": True,
}
DIALOG = {"comboBox": [COMBO_BOX], "checkbox": [CHECKBOX]}

MINIMAL_ACCOUNT = {"id": "A1", "name": "Demo", "type": "demo", "config": {}}
FULL_ACCOUNT = {
    "id": "A2",
    "name": "Live account",
    "type": "live",
    "currency": "JPY",
    "currencySign": "¥",
    "config": ALL_FLAGS,
    "ui": {
        "accountSummaryRow": [{"id": "equity", "title": "Equity"}],
        "accountManager": [TABLE],
        "orderCustomFields": [COLUMN],
        "orderHistoryCustomFields": [COLUMN],
        "positionCustomFields": [COLUMN],
        "netPositionCustomFields": [COLUMN],
        "individualPositionCustomFields": [COLUMN],
        "orderDialogCustomFields": DIALOG,
    },
    "durations": [DURATION],
    "prefix": "NASDAQ",
    "isVerified": True,
}

MINIMAL_INSTRUMENT = {
    "name": "EURUSD",
    "description": "EUR/USD",
    "pipSize": 0.0001,
    "pipValue": 10,
    "minTick": 0.00001,
    "type": "forex",
}
FULL_INSTRUMENT = {
    "name": "BTCUSD",
    "description": "Bitcoin / US Dollar",
    "minQty": 0.001,
    "maxQty": 100,
    "qtyStep": 0.001,
    "pipSize": 0.5,
    "pipValue": 0.5,
    "minTick": 0.5,
    "lotSize": 1,
    "baseCurrency": "BTC",
    "quoteCurrency": "USD",
    "marginRate": 0.5,
    "hasQuotes": False,
    "units": "BTC",
    "variableMinTick": "0.01 10 0.02 25 0.05",
    "type": "spot",
    "typespecs": "crypto,cfd",
    "ui": {
        "orderDialogCustomFields": DIALOG,
        "validationRules": [
            {"id": rule, "options": {"min": 10, "max": 20.5}}
            for rule in ("stopPercent", "limitPercent", "slPercent", "tpPercent", "gsPercent")
        ],
    },
}

MAPPING = {
    "symbols": [{"f": ["AAPL"], "s": "NASDAQ:AAPL"}, {"f": ["ESZ2026"], "s": "CME_MINI:ESZ2026"}],
    "fields": ["brokerSymbol"],
}


TOKEN = ok({"access_token": "7133au-cba5a72-842029c", "expiration": 1548661401})
CONFIG = ok(FULL_CONFIG)
ACCOUNTS = ok([MINIMAL_ACCOUNT, FULL_ACCOUNT])
INSTRUMENTS = ok([MINIMAL_INSTRUMENT, FULL_INSTRUMENT])
GROUPS = ok({"groups": [{"id": "broker_stocks"}, {"id": "broker_forex"}]})
PERMISSIONS = ok({"groups": ["broker_stocks"]})

# /symbol_info: a futures contract, a stock with extended hours, a forex pair, a crypto pair.
SYMBOL_INFO = {
    "s": "ok",
    "symbol": ["NQH2027", "SAP", "GBPUSD", "ETHUSD"],
    "description": ["Nasdaq 100 Mar 2027", "SAP SE", "British Pound / US Dollar", "Ether"],
    "currency": ["USD", "EUR", "USD", "USD"],
    "base-currency": [None, None, "GBP", "ETH"],
    "exchange-listed": ["CME", "XETR", "FX", "COINS"],
    "exchange-traded": ["CME", "XETR", "FX", "COINS"],
    "minmovement": [25, 1, 1, 1],
    "minmovement2": [0, 0, 10, 0],
    "fractional": [False, False, False, False],
    "pricescale": [100, 100, 100000, 100],
    "root": ["NQ", None, None, None],
    "root-description": ["Nasdaq 100 E-mini", None, None, None],
    "has-intraday": [True, True, True, True],
    "has-no-volume": [False, False, True, False],
    "type": ["futures", "stock", "forex", "spot"],
    "typespecs": [None, "cfd", None, "crypto,cfd"],
    "volume-type": [None, None, None, "quote"],
    "is-cfd": [False, True, False, True],
    "ticker": ["NQH2027", "SAP", "GBPUSD", "ETH/USD"],
    "timezone": ["America/Chicago", "Europe/Berlin", "America/New_York", "Etc/UTC"],
    "session-regular": ["1700-1600:23456", "0900-1730:23456", "1700-1700:23456", "24x7"],
    "session-extended": [None, "0800-2200:23456", None, None],
    "session-premarket": [None, "0800-0900:23456", None, None],
    "session-postmarket": [None, "1730-2200:23456", None, None],
    "has-daily": [True, True, True, False],
    "has-weekly-and-monthly": [False, False, False, True],
    "pointvalue": [20, 1, 1, 1.5],
    "expiration": [20270319, None, None, None],
    "bar-source": ["trade", "trade", "mid", "trade"],
    "bar-transform": ["none", "none", "openprev", "prevopen"],
    "bar-fillgaps": [False, False, True, False],
    "isin": [None, "DE0007164600", None, None],
    "wkn": [None, "716460", None, None],
}
MINIMAL_SYMBOL_INFO = {
    "s": "ok",
    "symbol": ["SPX"],
    "description": ["S&P 500 Index"],
    "currency": [None],
    "exchange-listed": ["INDEX"],
    "exchange-traded": ["INDEX"],
    "minmovement": [1],
    "pricescale": [100],
    "timezone": ["America/New_York"],
    "type": ["index"],
    "session-regular": ["0930-1600:23456"],
}

HISTORY = {
    "s": "ok",
    "t": [1700000040, 1700000100],
    "o": [1.07, 1.08],
    "h": [1.071, 1.081],
    "l": [1.069, 1.079],
    "c": [1.0705, 1.08],
    "v": [12, 3],
}
QUOTES = ok(
    [
        {
            "s": "ok",
            "n": "EURUSD",
            "v": {"ask": 1.1, "bid": 1.09, "buyPipValue": 10, "sellPipValue": 10},
        }
    ]
)
DEPTH = ok({"asks": [[45.1, 100], [48.4, 120]], "bids": [[24.7, 80], [35.6, 30]]})

VALID: list[Example] = [
    Example("getHistory", "bars", HISTORY),
    Example(
        "getHistory",
        "empty arrays (1.4.14: no data in range)",
        {"s": "ok", "t": [], "o": [], "h": [], "l": [], "c": [], "v": []},
    ),
    Example("getQuotes", "one quote", QUOTES),
    Example(
        "getQuotes",
        "a per-symbol error",
        ok([{"s": "error", "n": "XYZ", "v": {"ask": 0, "bid": 0}}]),
    ),
    Example("getDepth", "levels", DEPTH),
    Example("getDepth", "empty book", ok({"asks": [], "bids": []})),
    Example("authorize", "token", TOKEN),
    Example(
        "authorize", "integer-valued float expiration", changed(TOKEN, ("d", "expiration"), 1e9)
    ),
    Example("logout", "bare success", {"s": "ok"}),
    Example("getConfiguration", "empty config", ok({})),
    Example("getConfiguration", "every config key", CONFIG),
    Example("getAccounts", "minimal and full accounts", ACCOUNTS),
    Example(
        "getAccounts",
        "checkbox is not strict",
        changed(ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "checkbox", 0, "x"), 1),
    ),
    Example(
        "getAccounts",
        "checkbox list may be empty",
        changed(ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "checkbox"), []),
    ),
    Example("getInstruments", "no instruments", ok([])),
    Example("getInstruments", "minimal and full instruments", INSTRUMENTS),
    Example("getInstruments", "deprecated type cfd", changed(INSTRUMENTS, ("d", 0, "type"), "cfd")),
    Example("getMapping", "mapping", MAPPING),
    Example("getMapping", "neither key is required", {}),
    Example("getMapping", "no symbols", {"symbols": [], "fields": ["brokerSymbol"]}),
    Example("getGroups", "groups", GROUPS),
    Example("getGroups", "groups key is optional", ok({})),
    Example("getGroups", "no groups", ok({"groups": []})),
    Example("getPermissions", "permissions", PERMISSIONS),
    Example("getPermissions", "no permission", ok({"groups": []})),
    Example("getSymbolInfo", "every field", SYMBOL_INFO),
    Example("getSymbolInfo", "required fields only", MINIMAL_SYMBOL_INFO),
    Example("getSymbolInfo", "currency null as a whole", changed(SYMBOL_INFO, ("currency",), None)),
    Example(
        "getSymbolInfo",
        "legacy fields are harmless",
        changed(MINIMAL_SYMBOL_INFO, ("supported-resolutions",), [["1", "D"]]),
    ),
    Example(
        "getSymbolInfo",
        "integer-valued float pricescale",
        changed(SYMBOL_INFO, ("pricescale", 0), 100.0),
    ),
    *TRADING_VALID,
    *(
        Example(operation, "ErrorResponse", ERROR)
        for operation in RESPONSES
        if operation not in WITHOUT_ERROR_BRANCH
    ),
]

INVALID: list[Example] = [
    Example("getHistory", "missing volume", without(HISTORY, ("v",))),
    Example("getHistory", "an envelope key as well", {**HISTORY, "d": {}}),
    Example("getHistory", "a time as a string", changed(HISTORY, ("t",), ["1700000040"])),
    Example("getQuotes", "no quotes", ok([])),
    Example("getQuotes", "quote without bid", ok([{"s": "ok", "n": "EURUSD", "v": {"ask": 1.1}}])),
    Example(
        "getQuotes",
        "extra key in a quote",
        ok([{"s": "ok", "n": "EURUSD", "v": {"ask": 1.1, "bid": 1.0, "last": 1.05}}]),
    ),
    Example("getDepth", "a level with three numbers", ok({"asks": [[45.1, 100, 1]], "bids": []})),
    Example("getDepth", "bids missing", ok({"asks": []})),
    # authorize / ErrorResponse / SuccessResponse
    Example("authorize", "no d", {"s": "ok"}),
    Example("authorize", "expiration missing", without(TOKEN, ("d", "expiration"))),
    Example("authorize", "access_token missing", without(TOKEN, ("d", "access_token"))),
    Example("authorize", "extra key in AccessToken", changed(TOKEN, ("d", "token_type"), "Bearer")),
    Example("authorize", "extra top-level key", changed(TOKEN, ("errmsg",), "")),
    Example("authorize", "expiration as string", changed(TOKEN, ("d", "expiration"), "1548661401")),
    Example("authorize", "fractional expiration", changed(TOKEN, ("d", "expiration"), 1.5), True),
    Example("authorize", "status neither ok nor error", changed(TOKEN, ("s",), "success")),
    Example("authorize", "error without errmsg", {"s": "error"}),
    Example("authorize", "error with extra key", {**ERROR, "code": 401}),
    Example("authorize", "errmsg not a string", {"s": "error", "errmsg": 401}),
    Example("authorize", "body is a list", [TOKEN]),
    Example("logout", "payload on bare success", {"s": "ok", "d": {}}),
    Example("logout", "no status", {}),
    # getConfiguration
    Example("getConfiguration", "no d", {"s": "ok"}),
    Example("getConfiguration", "extra key in Config", changed(CONFIG, ("d", "theme"), "dark")),
    Example(
        "getConfiguration",
        "empty accountSummaryRow",
        changed(CONFIG, ("d", "accountSummaryRow"), []),
    ),
    Example(
        "getConfiguration",
        "summary row item without title",
        changed(CONFIG, ("d", "accountSummaryRow", 0), {"id": "balance"}),
    ),
    Example(
        "getConfiguration", "empty accountManager", changed(CONFIG, ("d", "accountManager"), [])
    ),
    Example(
        "getConfiguration",
        "table without columns",
        without(CONFIG, ("d", "accountManager", 0, "columns")),
    ),
    Example(
        "getConfiguration",
        "table with empty columns",
        changed(CONFIG, ("d", "accountManager", 0, "columns"), []),
    ),
    Example(
        "getConfiguration",
        "extra key in table",
        changed(CONFIG, ("d", "accountManager", 0, "sortable"), True),
    ),
    Example(
        "getConfiguration",
        "alignment center",
        changed(CONFIG, ("d", "accountManager", 0, "columns", 0, "alignment"), "center"),
    ),
    Example(
        "getConfiguration",
        "removed column field fixedWidth",
        changed(CONFIG, ("d", "orderCustomFields", 0, "fixedWidth"), True),
    ),
    Example(
        "getConfiguration",
        "column without title",
        without(CONFIG, ("d", "positionCustomFields", 0, "title")),
    ),
    Example(
        "getConfiguration",
        "empty orderHistoryCustomFields",
        changed(CONFIG, ("d", "orderHistoryCustomFields"), []),
    ),
    Example(
        "getConfiguration",
        "empty netPositionCustomFields",
        changed(CONFIG, ("d", "netPositionCustomFields"), []),
    ),
    Example(
        "getConfiguration",
        "isCapitalize as string",
        changed(CONFIG, ("d", "individualPositionCustomFields", 0, "isCapitalize"), "yes"),
    ),
    Example("getConfiguration", "empty durations", changed(CONFIG, ("d", "durations"), [])),
    Example(
        "getConfiguration", "duration without id", without(CONFIG, ("d", "durations", 0, "id"))
    ),
    Example(
        "getConfiguration",
        "unknown order type in duration",
        changed(CONFIG, ("d", "durations", 0, "supportedOrderTypes"), ["fok"]),
    ),
    Example(
        "getConfiguration",
        "empty supportedOrderTypes",
        changed(CONFIG, ("d", "durations", 0, "supportedOrderTypes"), []),
    ),
    Example(
        "getConfiguration",
        "extra key in duration",
        changed(CONFIG, ("d", "durations", 1, "expiry"), 0),
    ),
    Example(
        "getConfiguration",
        "quotes interval above 1000",
        changed(CONFIG, ("d", "pullingInterval", "quotes"), 1001),
    ),
    Example(
        "getConfiguration",
        "positions interval above 1500",
        changed(CONFIG, ("d", "pullingInterval", "positions"), 1501),
    ),
    Example(
        "getConfiguration",
        "unknown pulling interval",
        changed(CONFIG, ("d", "pullingInterval", "depth"), 500),
    ),
    Example(
        "getConfiguration",
        "interval as string",
        changed(CONFIG, ("d", "pullingInterval", "orders"), "500"),
    ),
    # getAccounts
    Example("getAccounts", "no accounts", ok([])),
    Example("getAccounts", "account without config", without(ACCOUNTS, ("d", 0, "config"))),
    Example("getAccounts", "account without type", without(ACCOUNTS, ("d", 0, "type"))),
    Example("getAccounts", "account type paper", changed(ACCOUNTS, ("d", 0, "type"), "paper")),
    Example("getAccounts", "extra key in account", changed(ACCOUNTS, ("d", 0, "balance"), 1)),
    Example(
        "getAccounts",
        "unknown flag",
        changed(ACCOUNTS, ("d", 0, "config", "supportEverything"), True),
    ),
    Example(
        "getAccounts",
        "flag as string",
        changed(ACCOUNTS, ("d", 1, "config", "supportGuaranteedStop"), "true"),
    ),
    Example(
        "getAccounts",
        "flag as number",
        changed(ACCOUNTS, ("d", 1, "config", "supportLevel2Data"), 1),
    ),
    Example("getAccounts", "extra key in ui", changed(ACCOUNTS, ("d", 1, "ui", "durations"), [])),
    Example(
        "getAccounts",
        "pullingInterval is not per account",
        changed(ACCOUNTS, ("d", 1, "ui", "pullingInterval"), {}),
    ),
    Example("getAccounts", "empty durations", changed(ACCOUNTS, ("d", 1, "durations"), [])),
    Example(
        "getAccounts", "isVerified as string", changed(ACCOUNTS, ("d", 1, "isVerified"), "yes")
    ),
    Example("getAccounts", "prefix as null", changed(ACCOUNTS, ("d", 1, "prefix"), None)),
    Example(
        "getAccounts",
        "extra key in order dialog fields",
        changed(ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "textInput"), []),
    ),
    Example(
        "getAccounts",
        "empty comboBox list",
        changed(ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "comboBox"), []),
    ),
    Example(
        "getAccounts",
        "comboBox without items",
        without(ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "comboBox", 0, "items")),
    ),
    Example(
        "getAccounts",
        "comboBox with empty items",
        changed(ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "comboBox", 0, "items"), []),
    ),
    Example(
        "getAccounts",
        "comboBox without title",
        without(ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "comboBox", 0, "title")),
    ),
    Example(
        "getAccounts",
        "extra key in comboBox",
        changed(ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "comboBox", 0, "help"), "x"),
    ),
    Example(
        "getAccounts",
        "extra key in comboBox item",
        changed(
            ACCOUNTS,
            ("d", 1, "ui", "orderDialogCustomFields", "comboBox", 0, "items", 0, "default"),
            True,
        ),
    ),
    Example(
        "getAccounts",
        "comboBox item value not a string",
        changed(
            ACCOUNTS,
            ("d", 1, "ui", "orderDialogCustomFields", "comboBox", 0, "items", 0, "value"),
            1,
        ),
    ),
    Example(
        "getAccounts",
        "checkbox without id",
        without(ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "checkbox", 0, "id")),
    ),
    Example(
        "getAccounts",
        "checkbox checked as string",
        changed(
            ACCOUNTS, ("d", 1, "ui", "orderDialogCustomFields", "checkbox", 0, "checked"), "true"
        ),
    ),
    # getInstruments
    Example("getInstruments", "d not a list", ok({})),
    Example("getInstruments", "no pipValue", without(INSTRUMENTS, ("d", 0, "pipValue"))),
    Example("getInstruments", "no description", without(INSTRUMENTS, ("d", 0, "description"))),
    Example("getInstruments", "no type", without(INSTRUMENTS, ("d", 0, "type"))),
    Example("getInstruments", "type fund", changed(INSTRUMENTS, ("d", 0, "type"), "fund")),
    Example("getInstruments", "type in capitals", changed(INSTRUMENTS, ("d", 0, "type"), "Forex")),
    Example(
        "getInstruments", "minTick as string", changed(INSTRUMENTS, ("d", 0, "minTick"), "0.1")
    ),
    Example(
        "getInstruments", "hasQuotes as string", changed(INSTRUMENTS, ("d", 1, "hasQuotes"), "no")
    ),
    Example(
        "getInstruments",
        "typespecs as list",
        changed(INSTRUMENTS, ("d", 1, "typespecs"), ["crypto"]),
    ),
    Example(
        "getInstruments",
        "mapping field in instrument",
        changed(INSTRUMENTS, ("d", 0, "tradingviewSymbol"), "FX:EURUSD"),
    ),
    Example(
        "getInstruments",
        "extra key in instrument ui",
        changed(INSTRUMENTS, ("d", 1, "ui", "durations"), []),
    ),
    Example(
        "getInstruments",
        "empty validationRules",
        changed(INSTRUMENTS, ("d", 1, "ui", "validationRules"), []),
    ),
    Example(
        "getInstruments",
        "unknown validation rule",
        changed(INSTRUMENTS, ("d", 1, "ui", "validationRules", 0, "id"), "qtyPercent"),
    ),
    Example(
        "getInstruments",
        "validation rule without max",
        without(INSTRUMENTS, ("d", 1, "ui", "validationRules", 2, "options", "max")),
    ),
    Example(
        "getInstruments",
        "validation rule without options",
        without(INSTRUMENTS, ("d", 1, "ui", "validationRules", 3, "options")),
    ),
    Example(
        "getInstruments",
        "extra key in validation rule options",
        changed(INSTRUMENTS, ("d", 1, "ui", "validationRules", 4, "options", "step"), 1),
    ),
    Example(
        "getInstruments",
        "extra key in validation rule",
        changed(INSTRUMENTS, ("d", 1, "ui", "validationRules", 1, "enabled"), True),
    ),
    Example(
        "getInstruments",
        "empty comboBox list in instrument dialog",
        changed(INSTRUMENTS, ("d", 1, "ui", "orderDialogCustomFields", "comboBox"), []),
    ),
    # getMapping
    Example(
        "getMapping", "two broker symbols", changed(MAPPING, ("symbols", 0, "f"), ["A", "B"]), True
    ),
    Example("getMapping", "no broker symbol", changed(MAPPING, ("symbols", 0, "f"), [])),
    Example("getMapping", "f as string", changed(MAPPING, ("symbols", 0, "f"), "AAPL")),
    Example("getMapping", "mapping without s", without(MAPPING, ("symbols", 0, "s"))),
    Example("getMapping", "extra key in mapping", changed(MAPPING, ("symbols", 1, "d"), "x")),
    Example("getMapping", "wrong field name", changed(MAPPING, ("fields",), ["symbol"])),
    Example("getMapping", "two fields", changed(MAPPING, ("fields",), ["brokerSymbol"] * 2)),
    Example("getMapping", "empty fields", changed(MAPPING, ("fields",), [])),
    Example("getMapping", "wrapped in an envelope", {"s": "ok", **MAPPING}),
    Example("getMapping", "ErrorResponse is not a mapping", ERROR),
    # getGroups
    Example("getGroups", "no d", {"s": "ok"}),
    Example("getGroups", "groups as strings", ok({"groups": ["broker_stocks"]})),
    Example("getGroups", "group without id", changed(GROUPS, ("d", "groups", 0), {})),
    Example("getGroups", "extra key in group", changed(GROUPS, ("d", "groups", 0, "name"), "x")),
    Example("getGroups", "extra key in d", changed(GROUPS, ("d", "permissions"), [])),
    # getPermissions
    Example("getPermissions", "no groups", ok({})),
    Example("getPermissions", "groups as objects", ok({"groups": [{"id": "broker_stocks"}]})),
    Example("getPermissions", "extra key in d", changed(PERMISSIONS, ("d", "user"), "demo")),
    Example("getPermissions", "d as list", ok(["broker_stocks"])),
    # getSymbolInfo
    Example("getSymbolInfo", "no symbol", without(SYMBOL_INFO, ("symbol",))),
    Example("getSymbolInfo", "no currency", without(MINIMAL_SYMBOL_INFO, ("currency",))),
    Example("getSymbolInfo", "no session", without(SYMBOL_INFO, ("session-regular",))),
    Example("getSymbolInfo", "no symbols at all", changed(SYMBOL_INFO, ("symbol",), [])),
    Example("getSymbolInfo", "symbol as scalar", changed(SYMBOL_INFO, ("symbol",), "SAP")),
    Example("getSymbolInfo", "symbols wrapped in d", changed(SYMBOL_INFO, ("d",), {})),
    Example("getSymbolInfo", "errmsg on success", changed(SYMBOL_INFO, ("errmsg",), "")),
    Example("getSymbolInfo", "status not ok", changed(SYMBOL_INFO, ("s",), "success")),
    Example("getSymbolInfo", "description null", changed(SYMBOL_INFO, ("description", 1), None)),
    Example("getSymbolInfo", "type fund", changed(SYMBOL_INFO, ("type", 1), "fund")),
    Example(
        "getSymbolInfo",
        "time zone outside the list",
        changed(SYMBOL_INFO, ("timezone", 1), "Europe/Zurich"),
    ),
    Example(
        "getSymbolInfo",
        "fractional minmovement",
        changed(SYMBOL_INFO, ("minmovement", 0), 0.25),
        True,
    ),
    Example(
        "getSymbolInfo", "pricescale as string", changed(SYMBOL_INFO, ("pricescale", 0), "100")
    ),
    Example("getSymbolInfo", "unknown typespec", changed(SYMBOL_INFO, ("typespecs", 1), "etf")),
    Example(
        "getSymbolInfo", "unknown volume type", changed(SYMBOL_INFO, ("volume-type", 3), "lots")
    ),
    Example(
        "getSymbolInfo", "unknown bar source", changed(SYMBOL_INFO, ("bar-source", 0), "close")
    ),
    Example(
        "getSymbolInfo",
        "unknown bar transform",
        changed(SYMBOL_INFO, ("bar-transform", 0), "shift"),
    ),
    Example("getSymbolInfo", "flag as string", changed(SYMBOL_INFO, ("has-daily", 0), "true")),
    Example("getSymbolInfo", "ticker null", changed(SYMBOL_INFO, ("ticker", 0), None)),
    Example(
        "getSymbolInfo", "expiration as string", changed(SYMBOL_INFO, ("expiration", 0), "20270319")
    ),
    Example("getSymbolInfo", "root as number", changed(SYMBOL_INFO, ("root", 0), 7)),
    *TRADING_INVALID,
]


@pytest.mark.parametrize(
    "schema", [*RESPONSES.values(), *SUCCESS.values(), *STREAM_MESSAGES.values()]
)
def test_schemas_are_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)


def test_every_operation_has_good_and_bad_examples() -> None:
    assert {e.operation for e in VALID} == set(RESPONSES)
    assert {e.operation for e in INVALID} == set(RESPONSES)
    assert set(SUCCESS) == set(RESPONSES)


@pytest.mark.parametrize("example", VALID, ids=example_id)
def test_valid_examples_pass(example: Example) -> None:
    assert_valid(example.operation, example.body)


@pytest.mark.parametrize("example", INVALID, ids=example_id)
def test_invalid_examples_fail(example: Example) -> None:
    with pytest.raises(AssertionError, match=example.operation):
        assert_valid(example.operation, example.body)


@pytest.mark.parametrize("example", [e for e in VALID if e.body is not ERROR], ids=example_id)
def test_success_examples_are_successes(example: Example) -> None:
    assert_success(example.operation, example.body)


@pytest.mark.parametrize("operation", sorted(set(RESPONSES) - WITHOUT_ERROR_BRANCH))
def test_success_schema_rejects_an_error_response(operation: str) -> None:
    assert_valid(operation, ERROR)
    with pytest.raises(AssertionError, match=r"\$\.s: 'error' is not one of \['ok'\]"):
        assert_success(operation, ERROR)


@pytest.mark.parametrize("example", INVALID, ids=example_id)
def test_each_invalid_example_has_exactly_one_defect(example: Example) -> None:
    errors = validation_errors(example.operation, example.body)
    assert len(errors) == 1, errors
    if example.at is not None:
        assert errors[0].startswith(f"{example.at}: "), errors


def test_flag_list_matches_a_second_transcription() -> None:
    assert list(ACCOUNT_FLAG_DEFAULTS) == list(ALL_FLAGS)
    assert len(ALL_FLAGS) == 49


def test_every_error_is_listed_with_its_path() -> None:
    body = changed(ACCOUNTS, ("d", 0, "type"), "paper")
    body = changed(body, ("d", 1, "config", "supportDOM"), "yes")
    body = without(body, ("d", 1, "name"))
    errors = validation_errors("getAccounts", body)
    assert len(errors) == 3, errors
    with pytest.raises(AssertionError) as raised:
        assert_valid("getAccounts", body)
    message = str(raised.value)
    assert "$.d[0].type: 'paper' is not one of ['live', 'demo']" in message
    assert "$.d[1].config.supportDOM: 'yes' is not of type 'boolean'" in message
    assert "$.d[1]: 'name' is a required property" in message


def test_an_error_response_is_explained_as_one() -> None:
    errors = validation_errors("getConfiguration", {"s": "error", "errmsg": "x", "code": 1})
    assert errors == [
        "$: Additional properties are not allowed ('code' was unexpected) (as ErrorResponse)"
    ]
