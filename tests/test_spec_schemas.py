"""Self-tests of tests/spec_schemas.py: the schemas accept good bodies and can fail on bad ones.

Every example is hand-written from the specification's text. ``VALID`` and ``INVALID`` (responses)
and ``STREAM_VALID`` and ``STREAM_INVALID`` (one trading-stream message each) are plain data so
that tools/check_against_openapi.py can also run them through the official OpenAPI file and
report where our transcription and the official schema disagree. Each invalid example has
exactly one defect; the trading ones also say where it is reported (``at``).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest
from jsonschema import Draft202012Validator

from tests.spec_schemas import (
    ACCOUNT_FLAG_DEFAULTS,
    RESPONSES,
    STREAM_MESSAGES,
    SUCCESS,
    TRANSACTION_OPERATIONS,
    WITHOUT_ERROR_BRANCH,
    assert_stream_message,
    assert_success,
    assert_valid,
    stream_message_errors,
    validation_errors,
)


class Example(NamedTuple):
    """One response body for one operation."""

    operation: str
    why: str
    body: Any
    ours_only: bool = False
    """Invalid only under our schema: a rule the spec states in prose, not in its OpenAPI schema."""
    official_rejects: bool = False
    """Valid only under our schema: the OpenAPI schema contradicts the spec's text there."""
    at: str | None = None
    """Where the one error of an invalid example is reported (a JSON path), when it is checked."""


ERROR = {"s": "error", "errmsg": "Invalid login or password."}

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


def _copy(body: Any) -> Any:
    """A deep copy sharing nothing (``copy.deepcopy`` would keep shared sub-dicts shared)."""
    return json.loads(json.dumps(body))


def changed(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A deep copy of ``body`` with the item at ``path`` replaced by ``value``."""
    result = _copy(body)
    target = result
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return result


def without(body: Any, path: tuple[str | int, ...]) -> Any:
    """A deep copy of ``body`` without the item at ``path``."""
    result = _copy(body)
    target = result
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return result


def ok(payload: Any) -> dict[str, Any]:
    """The usual success envelope."""
    return {"s": "ok", "d": payload}


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

# --- trading half: hand-written full bodies -------------------------------------------------------

CUSTOM = [{"id": "commission", "value": "1.25"}]
HINT = {"text": "You can add brackets to this position", "type": "information"}

ACCOUNT_STATE = {
    "balance": 41757.91,
    "unrealizedPl": 1053.02,
    "equity": 42810.93,
    "amData": [[["41757.91", "1053.02", "42810.93"]], [["EURUSD", "1000"], ["XAUUSD", "5"]]],
    "accountSummaryRowData": ["41757.91", "42810.93", "1053.02"],
    "marginAvailable": 39000.5,
}
STATE = ok(ACCOUNT_STATE)

LIMIT_ORDER = {
    "id": "O-17",
    "instrument": "EURUSD",
    "qty": 1000,
    "side": "buy",
    "type": "limit",
    "limitPrice": 1.1,
    "status": "working",
}
FULL_ORDER = {
    "id": "O-18",
    "instrument": "BTCUSD",
    "qty": 2,
    "side": "sell",
    "type": "stoplimit",
    "filledQty": 0.5,
    "avgPrice": 43010.5,
    "limitPrice": 43000,
    "stopPrice": 43050,
    "duration": {"type": "GTT", "datetime": 1767225600},
    "lastModified": 1700000100,
    "customFields": CUSTOM,
    "message": {"text": "Partly filled at the open", "type": "information"},
    "status": "working",
}
STOP_LOSS = {  # bracket of O-17, waiting for its parent to fill
    "id": "O-19",
    "instrument": "EURUSD",
    "qty": 1000,
    "side": "sell",
    "type": "stop",
    "stopPrice": 1.09,
    "parentId": "O-17",
    "parentType": "order",
    "status": "inactive",
}
TRAILING_STOP = {  # bracket of position P-1
    "id": "O-20",
    "instrument": "EURUSD",
    "qty": 1000,
    "side": "sell",
    "type": "stop",
    "stopPrice": 1.095,
    "trailingStopPips": 20,
    "isTrailingStop": True,
    "isGuaranteedStop": False,
    "parentId": "P-1",
    "parentType": "position",
    "status": "working",
}
REJECTED_ORDER = {
    "id": "O-21",
    "instrument": "XAUUSD",
    "qty": 500,
    "side": "buy",
    "type": "market",
    "message": {"text": "Rejected: the market is closed", "type": "error"},
    "status": "rejected",
}
GUARANTEED_STOP = {
    "id": "O-22",
    "instrument": "GBPUSD",
    "qty": 1000,
    "side": "buy",
    "type": "stop",
    "stopPrice": 1.3,
    "isGuaranteedStop": True,
    "status": "placing",
}
ORDERS = ok([LIMIT_ORDER, FULL_ORDER, STOP_LOSS, TRAILING_STOP, REJECTED_ORDER, GUARANTEED_STOP])
FILLED_ORDER = {**LIMIT_ORDER, "filledQty": 1000, "avgPrice": 1.1, "status": "filled"}
ORDERS_HISTORY = ok([FILLED_ORDER, {**STOP_LOSS, "status": "cancelled"}, REJECTED_ORDER])

PLACED = ok({"orderId": "O-17"})
PREVIEW = ok(
    {
        "confirmId": "C-5813",
        "sections": [
            {
                "header": "Estimated",
                "rows": [
                    {"title": "Commission", "value": "2.50 USD"},
                    {"title": "Price", "value": "1.10000"},
                ],
            },
            {
                "rows": [
                    {"title": "Margin", "value": "36.67 USD"},
                    {"title": "Duration", "value": "DAY"},
                ]
            },
        ],
        "warnings": ["The market opens in 10 minutes."],
        "errors": ["Not enough margin for the take-profit order."],
    }
)

POSITION = {
    "id": "P-1",
    "instrument": "EURUSD",
    "qty": 1000,
    "side": "buy",
    "avgPrice": 1.1347,
    "unrealizedPl": 19.47,
    "message": HINT,
    "customFields": CUSTOM,
}
SHORT_POSITION = {"id": "P-2", "instrument": "XAUUSD", "qty": 5, "side": "sell", "avgPrice": 2310.5}
POSITIONS = ok([POSITION, SHORT_POSITION])

NET_POSITION = {
    "id": "np1",
    "instrument": "EURUSD",
    "qty": 90,
    "longQty": 100,
    "shortQty": 10,
    "avgPrice": 1.1247,
    "customFields": CUSTOM,
    "message": HINT,
}
NET_POSITIONS = ok([NET_POSITION, {"id": "np2", "instrument": "GBPUSD", "qty": 10}])

INDIVIDUAL_POSITION = {
    "id": "ip1",
    "instrument": "EURUSD",
    "date": "1700000040123",
    "qty": 50,
    "side": "buy",
    "price": 1.1347,
    "unrealizedPl": 55.4,
    "customFields": CUSTOM,
    "message": HINT,
}
MINIMAL_INDIVIDUAL_POSITION = {
    "id": "ip2",
    "instrument": "EURUSD",
    "date": "1700000100456",
    "qty": 40,
    "side": "sell",
    "price": 1.12,
}
INDIVIDUAL_POSITIONS = ok([INDIVIDUAL_POSITION, MINIMAL_INDIVIDUAL_POSITION])

EXECUTIONS = ok(
    [
        {
            "id": "E-1",
            "instrument": "EURUSD",
            "price": 1.1,
            "time": 1700000040,
            "qty": 1000,
            "side": "buy",
            "orderId": "O-17",
            "isClose": False,
            "positionId": "P-1",
            "commission": 2.5,
        },
        {
            "id": "E-2",
            "instrument": "EURUSD",
            "price": 1.1052,
            "time": 1700003600,
            "qty": 400,
            "side": "sell",
            "orderId": "O-23",
            "isClose": True,
        },
    ]
)

BALANCES = ok(
    [
        {
            "symbol": "BTC",
            "longName": "Bitcoin",
            "total": 1.5,
            "available": 1.2,
            "reserved": 0.3,
            "btcValue": 1.5,
            "value": 96000,
            "valueCurrency": "USD",
        },
        {"symbol": "USDT", "total": 2500, "available": 2500},
    ]
)

LEVERAGE = ok({"title": "Adjust leverage", "leverage": 5, "min": 1, "max": 20, "step": 1})
SET_LEVERAGE = ok({"leverage": 10})
LEVERAGE_PREVIEW = ok(
    {
        "infos": ["Required margin at 10x: 0.15 BTC", "Borrowing limit: 1.2 BTC"],
        "warnings": ["High leverage increases the risk of liquidation."],
        "errors": ["Leverage above 20x is not allowed."],
    }
)

TRADING_VALID: list[Example] = [
    Example("getState", "every field", STATE),
    Example("getState", "required fields only", ok({"balance": 10000, "unrealizedPl": 0})),
    Example(
        "getState", "tables and rows may be empty", changed(STATE, ("d", "amData"), [[], [[]]])
    ),
    Example("getOrders", "orders of every kind", ORDERS),
    Example("getOrders", "no orders", ok([])),
    Example("getOrders", "OrderCommon is not strict", changed(ORDERS, ("d", 0, "comment"), "x")),
    Example(
        "getOrders", "duration without time", changed(ORDERS, ("d", 1, "duration"), {"type": "DAY"})
    ),
    Example(
        "getOrders",
        "duration is not strict in the spec",
        changed(ORDERS, ("d", 1, "duration", "title"), "Good till time"),
    ),
    Example("getOrdersHistory", "final orders", ORDERS_HISTORY),
    Example("getOrdersHistory", "no history", ok([])),
    Example("placeOrder", "new order id", PLACED),
    Example(
        "placeOrder", "with a transaction id", ok({"orderId": "O-17", "transactionId": "T-42"})
    ),
    Example("placeOrder", "both fields are optional", ok({})),
    Example("previewOrder", "sections, warnings and errors", PREVIEW),
    Example("previewOrder", "sections only", ok({"sections": [{"rows": []}]})),
    *(
        example
        for operation in TRANSACTION_OPERATIONS
        for example in (
            Example(operation, "bare success", {"s": "ok"}, official_rejects=True),
            Example(operation, "with a transaction id", ok({"transactionId": "T-42"})),
        )
    ),
    Example("getPositions", "long and short", POSITIONS),
    Example("getPositions", "no positions", ok([])),
    Example("getPositions", "closed, reported with qty 0", changed(POSITIONS, ("d", 1, "qty"), 0)),
    Example("getNetPositions", "net positions", NET_POSITIONS),
    Example("getNetPositions", "no net positions", ok([])),
    Example(
        "getNetPositions",
        "not strict: side, as in the spec's example",
        changed(NET_POSITIONS, ("d", 0, "side"), "buy"),
    ),
    Example("getIndividualPositions", "individual positions", INDIVIDUAL_POSITIONS),
    Example(
        "getIndividualPositions",
        "not strict",
        changed(INDIVIDUAL_POSITIONS, ("d", 1, "avgPrice"), 1.12),
    ),
    Example("getExecutions", "an opening and a closing fill", EXECUTIONS),
    Example("getExecutions", "no executions", ok([])),
    Example("getBalances", "two currencies", BALANCES),
    Example("getBalances", "no balances", ok([])),
    Example("getLeverage", "leverage dialog", LEVERAGE),
    Example("getLeverage", "fractional leverage", changed(LEVERAGE, ("d", "step"), 0.5)),
    Example("setLeverage", "confirmed leverage", SET_LEVERAGE),
    Example(
        "setLeverage",
        "SetLeverageResponse is not strict",
        changed(SET_LEVERAGE, ("requestId",), "42"),
    ),
    Example("previewLeverage", "infos, warnings and errors", LEVERAGE_PREVIEW),
    Example("previewLeverage", "nothing to say", ok({})),
    Example("trackLatency", "bare success", {"s": "ok"}),
]

TRADING_INVALID: list[Example] = [
    # getState
    Example("getState", "no d", {"s": "ok"}, at="$"),
    Example("getState", "no unrealizedPl", without(STATE, ("d", "unrealizedPl")), at="$.d"),
    Example(
        "getState", "extra key in AccountState", changed(STATE, ("d", "currency"), "USD"), at="$.d"
    ),
    Example(
        "getState",
        "balance as string",
        changed(STATE, ("d", "balance"), "41757.91"),
        at="$.d.balance",
    ),
    Example("getState", "empty amData", changed(STATE, ("d", "amData"), []), at="$.d.amData"),
    Example(
        "getState",
        "amData cell as number",
        changed(STATE, ("d", "amData", 0, 0, 0), 41757.91),
        at="$.d.amData[0][0][0]",
    ),
    Example(
        "getState",
        "amData one level short",
        changed(STATE, ("d", "amData"), [["41757.91"]]),
        at="$.d.amData[0][0]",
    ),
    Example(
        "getState",
        "empty accountSummaryRowData",
        changed(STATE, ("d", "accountSummaryRowData"), []),
        at="$.d.accountSummaryRowData",
    ),
    # getOrders
    Example("getOrders", "order without status", without(ORDERS, ("d", 0, "status")), at="$.d[0]"),
    Example(
        "getOrders",
        "order without instrument",
        without(ORDERS, ("d", 0, "instrument")),
        at="$.d[0]",
    ),
    Example(
        "getOrders",
        "unknown status",
        changed(ORDERS, ("d", 0, "status"), "partiallyFilled"),
        at="$.d[0].status",
    ),
    Example(
        "getOrders", "unknown side", changed(ORDERS, ("d", 0, "side"), "short"), at="$.d[0].side"
    ),
    Example(
        "getOrders", "unknown type", changed(ORDERS, ("d", 3, "type"), "trailing"), at="$.d[3].type"
    ),
    Example(
        "getOrders", "qty as string", changed(ORDERS, ("d", 0, "qty"), "1000"), at="$.d[0].qty"
    ),
    Example("getOrders", "id as number", changed(ORDERS, ("d", 0, "id"), 17), at="$.d[0].id"),
    Example(
        "getOrders",
        "unknown parentType",
        changed(ORDERS, ("d", 2, "parentType"), "bracket"),
        at="$.d[2].parentType",
    ),
    Example(
        "getOrders",
        "isTrailingStop as string",
        changed(ORDERS, ("d", 3, "isTrailingStop"), "true"),
        at="$.d[3].isTrailingStop",
    ),
    Example(
        "getOrders",
        "duration without type",
        without(ORDERS, ("d", 1, "duration", "type")),
        at="$.d[1].duration",
    ),
    Example(
        "getOrders",
        "duration datetime as ISO text",
        changed(ORDERS, ("d", 1, "duration", "datetime"), "2026-01-01T00:00:00Z"),
        at="$.d[1].duration.datetime",
    ),
    Example(
        "getOrders",
        "message type capitalized, as in the spec's example",
        changed(ORDERS, ("d", 1, "message", "type"), "Information"),
        at="$.d[1].message.type",
    ),
    Example(
        "getOrders",
        "message without text",
        without(ORDERS, ("d", 4, "message", "text")),
        at="$.d[4].message",
    ),
    Example(
        "getOrders",
        "extra key in message",
        changed(ORDERS, ("d", 4, "message", "code"), 17),
        at="$.d[4].message",
    ),
    Example(
        "getOrders",
        "empty customFields",
        changed(ORDERS, ("d", 1, "customFields"), []),
        at="$.d[1].customFields",
    ),
    Example(
        "getOrders",
        "custom field value as number",
        changed(ORDERS, ("d", 1, "customFields", 0, "value"), 1.25),
        at="$.d[1].customFields[0].value",
    ),
    Example(
        "getOrders",
        "extra key in custom field",
        changed(ORDERS, ("d", 1, "customFields", 0, "title"), "Commission"),
        at="$.d[1].customFields[0]",
    ),
    # getOrdersHistory
    Example(
        "getOrdersHistory",
        "status working",
        changed(ORDERS_HISTORY, ("d", 0, "status"), "working"),
        at="$.d[0].status",
    ),
    Example(
        "getOrdersHistory",
        "status placing",
        changed(ORDERS_HISTORY, ("d", 1, "status"), "placing"),
        at="$.d[1].status",
    ),
    Example(
        "getOrdersHistory",
        "without status",
        without(ORDERS_HISTORY, ("d", 2, "status")),
        at="$.d[2]",
    ),
    Example(
        "getOrdersHistory",
        "unknown type",
        changed(ORDERS_HISTORY, ("d", 0, "type"), "fok"),
        at="$.d[0].type",
    ),
    # placeOrder
    Example("placeOrder", "no d", {"s": "ok"}, at="$"),
    Example("placeOrder", "orderId as number", ok({"orderId": 17}), at="$.d.orderId"),
    Example(
        "placeOrder",
        "transactionId as number (before 1.4.11)",
        ok({"orderId": "O-17", "transactionId": 42}),
        at="$.d.transactionId",
    ),
    Example("placeOrder", "extra key in d", changed(PLACED, ("d", "status"), "working"), at="$.d"),
    Example("placeOrder", "extra top-level key", changed(PLACED, ("requestId",), "42"), at="$"),
    # previewOrder
    Example("previewOrder", "no sections", without(PREVIEW, ("d", "sections")), at="$.d"),
    Example(
        "previewOrder",
        "confirmId as number, as in the spec's example",
        changed(PREVIEW, ("d", "confirmId"), 5813),
        at="$.d.confirmId",
    ),
    Example(
        "previewOrder",
        "row value as number",
        changed(PREVIEW, ("d", "sections", 0, "rows", 0, "value"), 2.5),
        at="$.d.sections[0].rows[0].value",
    ),
    Example(
        "previewOrder",
        "row without title",
        without(PREVIEW, ("d", "sections", 0, "rows", 1, "title")),
        at="$.d.sections[0].rows[1]",
    ),
    Example(
        "previewOrder",
        "extra key in row",
        changed(PREVIEW, ("d", "sections", 1, "rows", 0, "hint"), "x"),
        at="$.d.sections[1].rows[0]",
    ),
    Example(
        "previewOrder",
        "section without rows",
        without(PREVIEW, ("d", "sections", 1, "rows")),
        at="$.d.sections[1]",
    ),
    Example(
        "previewOrder",
        "extra key in section",
        changed(PREVIEW, ("d", "sections", 1, "footer"), "x"),
        at="$.d.sections[1]",
    ),
    Example(
        "previewOrder", "extra key in PreviewOrder", changed(PREVIEW, ("d", "total"), "x"), at="$.d"
    ),
    Example(
        "previewOrder",
        "warnings as text",
        changed(PREVIEW, ("d", "warnings"), "The market opens in 10 minutes."),
        at="$.d.warnings",
    ),
    # the seven operations answering SuccessResponse(WithTransactionId)
    *(
        example
        for operation in TRANSACTION_OPERATIONS
        for example in (
            Example(
                operation,
                "transactionId as number (before 1.4.11)",
                ok({"transactionId": 42}),
                at="$.d.transactionId",
            ),
            Example(operation, "orderId in d", ok({"orderId": "O-17"}), at="$.d"),
            Example(
                operation, "transactionId outside d", {"s": "ok", "transactionId": "T-42"}, at="$"
            ),
            Example(operation, "error without errmsg", {"s": "error"}, at="$"),
        )
    ),
    # getPositions
    Example(
        "getPositions",
        "extra key in Position",
        changed(POSITIONS, ("d", 1, "pl"), 3.5),
        at="$.d[1]",
    ),
    Example(
        "getPositions",
        "unknown side",
        changed(POSITIONS, ("d", 1, "side"), "long"),
        at="$.d[1].side",
    ),
    Example("getPositions", "no avgPrice", without(POSITIONS, ("d", 1, "avgPrice")), at="$.d[1]"),
    Example(
        "getPositions", "qty as string", changed(POSITIONS, ("d", 1, "qty"), "5"), at="$.d[1].qty"
    ),
    Example(
        "getPositions",
        "message type capitalized, as in the spec's example",
        changed(POSITIONS, ("d", 0, "message", "type"), "Information"),
        at="$.d[0].message.type",
    ),
    Example(
        "getPositions",
        "empty customFields",
        changed(POSITIONS, ("d", 0, "customFields"), []),
        at="$.d[0].customFields",
    ),
    # getNetPositions
    Example("getNetPositions", "no qty", without(NET_POSITIONS, ("d", 1, "qty")), at="$.d[1]"),
    Example(
        "getNetPositions",
        "longQty as string",
        changed(NET_POSITIONS, ("d", 0, "longQty"), "100"),
        at="$.d[0].longQty",
    ),
    Example(
        "getNetPositions",
        "empty customFields",
        changed(NET_POSITIONS, ("d", 0, "customFields"), []),
        at="$.d[0].customFields",
    ),
    Example(
        "getNetPositions",
        "extra key in message",
        changed(NET_POSITIONS, ("d", 0, "message", "link"), "x"),
        at="$.d[0].message",
    ),
    # getIndividualPositions
    Example(
        "getIndividualPositions",
        "date as number",
        changed(INDIVIDUAL_POSITIONS, ("d", 0, "date"), 1700000040123),
        at="$.d[0].date",
    ),
    Example(
        "getIndividualPositions",
        "no date",
        without(INDIVIDUAL_POSITIONS, ("d", 1, "date")),
        at="$.d[1]",
    ),
    Example(
        "getIndividualPositions",
        "no price",
        without(INDIVIDUAL_POSITIONS, ("d", 0, "price")),
        at="$.d[0]",
    ),
    Example(
        "getIndividualPositions",
        "unknown side",
        changed(INDIVIDUAL_POSITIONS, ("d", 1, "side"), "short"),
        at="$.d[1].side",
    ),
    Example(
        "getIndividualPositions",
        "message without type",
        without(INDIVIDUAL_POSITIONS, ("d", 0, "message", "type")),
        at="$.d[0].message",
    ),
    # getExecutions
    Example("getExecutions", "no isClose", without(EXECUTIONS, ("d", 1, "isClose")), at="$.d[1]"),
    Example("getExecutions", "no orderId", without(EXECUTIONS, ("d", 0, "orderId")), at="$.d[0]"),
    Example(
        "getExecutions",
        "orderId as number",
        changed(EXECUTIONS, ("d", 0, "orderId"), 17),
        at="$.d[0].orderId",
    ),
    Example(
        "getExecutions",
        "extra key in Execution",
        changed(EXECUTIONS, ("d", 0, "fee"), 2.5),
        at="$.d[0]",
    ),
    Example(
        "getExecutions",
        "side in capitals",
        changed(EXECUTIONS, ("d", 0, "side"), "BUY"),
        at="$.d[0].side",
    ),
    Example(
        "getExecutions",
        "isClose as string",
        changed(EXECUTIONS, ("d", 1, "isClose"), "true"),
        at="$.d[1].isClose",
    ),
    Example(
        "getExecutions",
        "time as ISO text",
        changed(EXECUTIONS, ("d", 0, "time"), "2023-11-14T22:14:00Z"),
        at="$.d[0].time",
    ),
    # getBalances
    Example("getBalances", "no available", without(BALANCES, ("d", 1, "available")), at="$.d[1]"),
    Example("getBalances", "no symbol", without(BALANCES, ("d", 0, "symbol")), at="$.d[0]"),
    Example(
        "getBalances",
        "extra key in balance",
        changed(BALANCES, ("d", 1, "currency"), "USDT"),
        at="$.d[1]",
    ),
    Example(
        "getBalances",
        "total as string",
        changed(BALANCES, ("d", 0, "total"), "1.5"),
        at="$.d[0].total",
    ),
    # getLeverage
    Example("getLeverage", "no step", without(LEVERAGE, ("d", "step")), at="$.d"),
    Example("getLeverage", "no title", without(LEVERAGE, ("d", "title")), at="$.d"),
    Example("getLeverage", "extra key", changed(LEVERAGE, ("d", "options"), [1, 5, 10]), at="$.d"),
    Example(
        "getLeverage",
        "leverage as string",
        changed(LEVERAGE, ("d", "leverage"), "5"),
        at="$.d.leverage",
    ),
    # setLeverage
    Example("setLeverage", "no d", {"s": "ok"}, at="$"),
    Example("setLeverage", "d without leverage", ok({}), at="$.d"),
    Example("setLeverage", "extra key in d", changed(SET_LEVERAGE, ("d", "max"), 20), at="$.d"),
    Example(
        "setLeverage",
        "leverage as string",
        changed(SET_LEVERAGE, ("d", "leverage"), "10"),
        at="$.d.leverage",
    ),
    # previewLeverage
    Example(
        "previewLeverage",
        "empty infos",
        changed(LEVERAGE_PREVIEW, ("d", "infos"), []),
        at="$.d.infos",
    ),
    Example(
        "previewLeverage",
        "errors as text",
        changed(LEVERAGE_PREVIEW, ("d", "errors"), "Leverage above 20x is not allowed."),
        at="$.d.errors",
    ),
    Example(
        "previewLeverage",
        "info as number",
        changed(LEVERAGE_PREVIEW, ("d", "infos", 0), 0.15),
        at="$.d.infos[0]",
    ),
    Example(
        "previewLeverage", "extra key", changed(LEVERAGE_PREVIEW, ("d", "notes"), []), at="$.d"
    ),
    # trackLatency
    Example("trackLatency", "payload on bare success", {"s": "ok", "d": {}}, at="$"),
    Example("trackLatency", "transactionId echoed", {"s": "ok", "transactionId": "T-42"}, at="$"),
    Example("trackLatency", "no status", {}, at="$"),
]

# --- trading streams: one message (one line) each ------------------------------------------------

STREAM_VALID: list[Example] = [
    Example("streamOrders", "snapshot", [LIMIT_ORDER, STOP_LOSS, TRAILING_STOP]),
    Example("streamOrders", "empty snapshot", []),
    Example("streamOrders", "update: the whole changed order", [FILLED_ORDER]),
    Example("streamOrders", "PingMessage is not strict", {"s": "ok", "time": 1700000046}),
    Example("streamPositions", "snapshot", [POSITION, SHORT_POSITION]),
    Example(
        "streamPositions",
        "update with a closed position",
        [{**POSITION, "qty": 2000}, {"id": "P-2", "qty": 0}],
    ),
    Example(
        "streamPositions", "closed position as a whole Position", [{**SHORT_POSITION, "qty": 0}]
    ),
    Example("streamPositions", "closed qty as float zero", [{"id": "P-2", "qty": 0.0}]),
    Example("streamNetPositions", "snapshot", [NET_POSITION]),
    Example("streamNetPositions", "update with a closed net position", [{"id": "np2", "qty": 0}]),
    Example(
        "streamIndividualPositions", "snapshot", [INDIVIDUAL_POSITION, MINIMAL_INDIVIDUAL_POSITION]
    ),
    Example(
        "streamIndividualPositions", "update with a closed position", [{"id": "ip2", "qty": 0}]
    ),
    Example("streamState", "whole AccountState", ACCOUNT_STATE),
    Example("streamState", "required fields only", {"balance": 10000, "unrealizedPl": -12.5}),
    *(
        example
        for operation in STREAM_MESSAGES
        for example in (
            Example(operation, "ping", {"s": "ok"}),
            Example(operation, "ErrorMessage", ERROR),
        )
    ),
]

STREAM_INVALID: list[Example] = [
    Example("streamOrders", "order without status", [without(LIMIT_ORDER, ("status",))], at="$[0]"),
    Example("streamOrders", "unknown status", [{**LIMIT_ORDER, "status": "new"}], at="$[0].status"),
    Example("streamOrders", "one order, not an array", LIMIT_ORDER, at="$"),
    Example("streamOrders", "ping with another status", {"s": "alive"}, at="$.s"),
    Example("streamOrders", "error without errmsg", {"s": "error"}, at="$"),
    Example("streamOrders", "error with extra key", {**ERROR, "code": 401}, at="$"),
    Example(
        "streamPositions",
        "closed position with qty 1",
        [{"id": "P-2", "qty": 1}],
        ours_only=True,
        at="$[0]",
    ),
    Example(
        "streamPositions",
        "closed position with extra key",
        [{"id": "P-2", "qty": 0, "instrument": "XAUUSD"}],
        ours_only=True,
        at="$[0]",
    ),
    Example("streamPositions", "closed position without id", [{"qty": 0}], at="$[0]"),
    Example(
        "streamPositions",
        "extra key in Position",
        [{**POSITION, "pl": 19.47}],
        ours_only=True,
        at="$[0]",
    ),
    Example(
        "streamPositions",
        "unknown side",
        [{**SHORT_POSITION, "side": "short"}],
        ours_only=True,
        at="$[0]",
    ),
    Example("streamPositions", "positions wrapped in d", {"d": [POSITION]}, at="$"),
    Example(
        "streamNetPositions",
        "closed net position with qty 1",
        [{"id": "np2", "qty": 1}],
        ours_only=True,
        at="$[0]",
    ),
    Example(
        "streamNetPositions",
        "net position without instrument",
        [{"id": "np1", "qty": 90, "longQty": 90}],
        ours_only=True,
        at="$[0]",
    ),
    Example(
        "streamIndividualPositions",
        "date as number",
        [{**INDIVIDUAL_POSITION, "date": 1700000040123}],
        ours_only=True,
        at="$[0]",
    ),
    Example(
        "streamIndividualPositions",
        "the spec's own example item: pl instead of unrealizedPl, no date",
        [without({**MINIMAL_INDIVIDUAL_POSITION, "pl": 405.44}, ("date",))],
        ours_only=True,
        at="$[0]",
    ),
    Example(
        "streamIndividualPositions",
        "closed position with qty 1",
        [{"id": "ip2", "qty": 1}],
        ours_only=True,
        at="$[0]",
    ),
    Example(
        "streamState", "extra key in AccountState", {**ACCOUNT_STATE, "currency": "USD"}, at="$"
    ),
    Example("streamState", "partial update", {"balance": 41700.5}, at="$"),
    Example("streamState", "empty amData", {**ACCOUNT_STATE, "amData": []}, at="$.amData"),
    Example("streamState", "AccountState in an array", [ACCOUNT_STATE], at="$"),
]

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


def _id(example: Example) -> str:
    return f"{example.operation}: {example.why}"


@pytest.mark.parametrize(
    "schema", [*RESPONSES.values(), *SUCCESS.values(), *STREAM_MESSAGES.values()]
)
def test_schemas_are_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)


def test_every_operation_has_good_and_bad_examples() -> None:
    assert {e.operation for e in VALID} == set(RESPONSES)
    assert {e.operation for e in INVALID} == set(RESPONSES)
    assert set(SUCCESS) == set(RESPONSES)


@pytest.mark.parametrize("example", VALID, ids=_id)
def test_valid_examples_pass(example: Example) -> None:
    assert_valid(example.operation, example.body)


@pytest.mark.parametrize("example", INVALID, ids=_id)
def test_invalid_examples_fail(example: Example) -> None:
    with pytest.raises(AssertionError, match=example.operation):
        assert_valid(example.operation, example.body)


@pytest.mark.parametrize("example", [e for e in VALID if e.body is not ERROR], ids=_id)
def test_success_examples_are_successes(example: Example) -> None:
    assert_success(example.operation, example.body)


@pytest.mark.parametrize("operation", sorted(set(RESPONSES) - WITHOUT_ERROR_BRANCH))
def test_success_schema_rejects_an_error_response(operation: str) -> None:
    assert_valid(operation, ERROR)
    with pytest.raises(AssertionError, match=r"\$\.s: 'error' is not one of \['ok'\]"):
        assert_success(operation, ERROR)


@pytest.mark.parametrize("example", INVALID, ids=_id)
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


def test_every_trading_operation_has_examples() -> None:
    trading = {e.operation for e in [*TRADING_VALID, *TRADING_INVALID]}
    assert len(trading) == 21
    assert trading <= set(RESPONSES)
    assert {e.operation for e in TRADING_INVALID} == trading
    assert all(e.at is not None for e in [*TRADING_INVALID, *STREAM_INVALID])


def test_the_seven_transaction_answers_share_one_schema() -> None:
    assert len(TRANSACTION_OPERATIONS) == 7
    assert len({json.dumps(SUCCESS[operation]) for operation in TRANSACTION_OPERATIONS}) == 1
    for operation in TRANSACTION_OPERATIONS:
        assert_success(operation, {"s": "ok"})
        assert_success(operation, ok({"transactionId": "T-42"}))


def test_track_latency_has_no_error_branch() -> None:
    assert "trackLatency" in WITHOUT_ERROR_BRANCH
    with pytest.raises(AssertionError, match="trackLatency"):
        assert_valid("trackLatency", ERROR)


def test_order_errors_name_the_order_and_the_field() -> None:
    body = without(ORDERS, ("d", 0, "status"))
    body = changed(body, ("d", 2, "side"), "short")
    assert validation_errors("getOrders", body) == [
        "$.d[0]: 'status' is a required property (as success shape)",
        "$.d[2].side: 'short' is not one of ['buy', 'sell'] (as success shape)",
    ]


# --- trading streams ------------------------------------------------------------------------------


def test_every_stream_has_good_and_bad_examples() -> None:
    assert {e.operation for e in STREAM_VALID} == set(STREAM_MESSAGES)
    assert {e.operation for e in STREAM_INVALID} == set(STREAM_MESSAGES)


@pytest.mark.parametrize("example", STREAM_VALID, ids=_id)
def test_valid_stream_messages_pass(example: Example) -> None:
    assert_stream_message(example.operation, example.body)


@pytest.mark.parametrize("example", STREAM_INVALID, ids=_id)
def test_invalid_stream_messages_fail(example: Example) -> None:
    with pytest.raises(AssertionError, match=example.operation):
        assert_stream_message(example.operation, example.body)


@pytest.mark.parametrize("example", STREAM_INVALID, ids=_id)
def test_each_invalid_stream_message_has_exactly_one_defect(example: Example) -> None:
    errors = stream_message_errors(example.operation, example.body)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{example.at}: "), errors


def test_a_bad_item_is_explained_by_its_closest_alternative() -> None:
    closed = stream_message_errors("streamPositions", [POSITION, {"id": "P-2", "qty": 1}])
    assert closed == [
        "$[1]: {'id': 'P-2', 'qty': 1} is not valid under any of the given schemas "
        "[closest: $[1].qty: 0 was expected] (as data message)"
    ]
    side = stream_message_errors("streamPositions", [{**POSITION, "side": "long"}])
    assert len(side) == 1
    assert side[0].endswith(
        "[closest: $[0].side: 'long' is not one of ['buy', 'sell']] (as data message)"
    )


def test_stream_pings_and_errors_are_explained_as_such() -> None:
    assert stream_message_errors("streamState", {"s": "okay"}) == [
        "$.s: 'okay' is not one of ['ok'] (as PingMessage)"
    ]
    assert stream_message_errors("streamOrders", {"s": "error", "errmsg": 1}) == [
        "$.errmsg: 1 is not of type 'string' (as ErrorMessage)"
    ]


def test_an_enveloped_message_passes_as_a_ping() -> None:
    # A limit of the spec, not of the transcription: PingMessage is open, so a polled-style
    # envelope on a stream is a valid ping. Stream tests must check the message kind themselves.
    assert_stream_message("streamOrders", ok([LIMIT_ORDER]))
    assert_stream_message("streamState", STATE)
