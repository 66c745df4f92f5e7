"""Self-tests of gateway/conformance/schemas_trading.py: trading operations and trading streams.

The trading operations' response examples (tests/spec_examples_trading.py) run with the others
in tests/test_spec_schemas.py; here are the tests proper to the trading half, and the examples
of one trading-stream message each: ``STREAM_VALID`` and ``STREAM_INVALID``, plain data that
tools/check_against_openapi.py also runs through the official OpenAPI file. Each invalid
message has exactly one defect and says where it is reported (``at``).
"""

from __future__ import annotations

import json

import pytest

from gateway.conformance.schemas import (
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
from tests.spec_examples import ERROR, Example, changed, example_id, ok, without
from tests.spec_examples_trading import (
    ACCOUNT_STATE,
    FILLED_ORDER,
    INDIVIDUAL_POSITION,
    LIMIT_ORDER,
    MINIMAL_INDIVIDUAL_POSITION,
    NET_POSITION,
    ORDERS,
    POSITION,
    SHORT_POSITION,
    STATE,
    STOP_LOSS,
    TRADING_INVALID,
    TRADING_VALID,
    TRAILING_STOP,
)

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


@pytest.mark.parametrize("example", STREAM_VALID, ids=example_id)
def test_valid_stream_messages_pass(example: Example) -> None:
    assert_stream_message(example.operation, example.body)


@pytest.mark.parametrize("example", STREAM_INVALID, ids=example_id)
def test_invalid_stream_messages_fail(example: Example) -> None:
    with pytest.raises(AssertionError, match=example.operation):
        assert_stream_message(example.operation, example.body)


@pytest.mark.parametrize("example", STREAM_INVALID, ids=example_id)
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
