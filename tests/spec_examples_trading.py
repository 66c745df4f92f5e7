"""The trading half of the spec-schema examples: hand-written bodies of the trading operations.

``TRADING_VALID`` and ``TRADING_INVALID`` are part of ``VALID`` and ``INVALID`` in
tests/test_spec_schemas.py (and so of what tools/check_against_openapi.py runs); the bodies
here also build the trading-stream examples of tests/test_spec_schemas_trading.py. Each invalid
example has exactly one defect and says where it is reported (``at``).
"""

from __future__ import annotations

from gateway.conformance.schemas import TRANSACTION_OPERATIONS
from tests.spec_examples import Example, changed, ok, without

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
