"""Bad placeOrder bodies: the exact message, and nothing changed.

Quantities, prices, brackets, durations, custom fields and the features an account switches
off or on; then the bodies themselves: their size, their encodings and hostile strings.
Each test starts one paper-trading desk (tests/trading_app.py) and sends it a table of bad
requests (see tests/trading_checks.py): every answer must be the spec's ErrorResponse carrying
the English text of :data:`gateway.errors.CATALOGUE` with its placeholders filled, and must
leave orders, positions, account states and the store's row counts exactly as they were. The
few requests next to them that must succeed (JSON bodies, unknown extra fields, hostile
request ids, what permissive flags allow) are checked too.

The modify, cancel, position and preview requests are in test_trading_validation_changes.py;
the other endpoints and the sweeps over every route in test_trading_validation_endpoints.py.
The gateway bugs these tests found were fixed; each test now guards against its return.
"""

from __future__ import annotations

import json
import urllib.parse

import sqlalchemy as sa

from gateway.config import GatewayConfig
from gateway.conformance.schemas import assert_valid
from tests.trading_app import desk
from tests.trading_checks import (
    ASK,
    BID,
    DURATIONS,
    EUR,
    FORM_TYPE,
    JSON_TYPE,
    LIMIT_RULE,
    NOT_POSITIVE,
    NOW,
    SIDES,
    SL_RULE,
    TYPES,
    USD,
    Call,
    call,
    cancelling,
    check,
    clip,
    conforms,
    error,
    invalid,
    limit,
    market,
    missing,
    placed,
    placing,
    position_id,
    request,
    stop,
    ticket,
    unsupported,
    url_of,
    world,
)

# -- placeOrder -----------------------------------------------------------------------------------

BAD_ORDERS: list[Call] = [
    placing("no instrument", limit(instrument=None), missing("instrument")),
    placing("blank instrument", limit(instrument=""), missing("instrument")),
    placing("no qty", limit(qty=None), missing("qty")),
    placing("blank qty", limit(qty=""), missing("qty")),
    placing("no side", limit(side=None), missing("side")),
    placing("no type", limit(type=None), missing("type")),
    placing("unknown", limit(instrument="NOPE"), error("unknown_instrument", instrument="NOPE")),
    placing(
        "lower case", limit(instrument="eurusd"), error("unknown_instrument", instrument="eurusd")
    ),
    placing("side hold", limit(side="hold"), invalid("side", SIDES)),
    placing("side in capitals", limit(side="BUY"), invalid("side", SIDES)),
    placing("type iceberg", limit(type="iceberg"), invalid("type", TYPES)),
    placing("qty 0", limit(qty=0), invalid("qty", NOT_POSITIVE)),
    placing("qty negative", limit(qty=-1000), invalid("qty", NOT_POSITIVE)),
    placing("qty NaN", limit(qty="NaN"), invalid("qty", "not a finite number")),
    placing("qty inf", limit(qty="inf"), invalid("qty", "not a finite number")),
    placing("qty -inf", limit(qty="-inf"), invalid("qty", "not a finite number")),
    placing("qty abc", limit(qty="abc"), invalid("qty", "not a number")),
    placing("qty hex", limit(qty="0x10"), invalid("qty", "not a number")),
    placing(
        "qty < minQty", limit(qty=500), error("qty_out_of_range", qty=500, min=1000, max=10000000)
    ),
    placing(
        "qty > maxQty",
        limit(qty=2e7),
        error("qty_out_of_range", qty=20000000, min=1000, max=10000000),
    ),
    placing("qty off qtyStep", limit(qty=1500), error("qty_step", qty=1500, step=1000)),
    placing(
        "BTCUSD qty < minQty",
        ticket("BTCUSD", side="buy", type="market", qty=0.0005),
        error("qty_out_of_range", qty=0.0005, min=0.001, max=1000000000),
    ),
    placing(
        "BTCUSD qty off qtyStep",
        ticket("BTCUSD", side="buy", type="market", qty=0.0015),
        error("qty_step", qty=0.0015, step=0.001),
    ),
    placing("no limitPrice", limit(limitPrice=None), missing("limitPrice")),
    placing("blank limitPrice", limit(limitPrice=""), missing("limitPrice")),
    placing("limitPrice < 0", limit(limitPrice=-1.07), invalid("limitPrice", NOT_POSITIVE)),
    placing("limitPrice abc", limit(limitPrice="abc"), invalid("limitPrice", "not a number")),
    placing(
        "AAPL limitPrice off tick",
        ticket("AAPL", side="buy", type="limit", qty=1, limitPrice=189.005),
        error("price_tick", field="limitPrice", price=189.005, tick=0.01),
    ),
    placing(
        "ESZ2026 limitPrice off tick",
        ticket("ESZ2026", side="buy", type="limit", qty=1, limitPrice=5990.1),
        error("price_tick", field="limitPrice", price=5990.1, tick=0.25),
    ),
    placing(
        "BTCUSD stopPrice off tick",
        ticket("BTCUSD", side="buy", type="stop", qty=0.001, stopPrice=61000.2),
        error("price_tick", field="stopPrice", price=61000.2, tick=0.5),
    ),
    placing("stop, no stopPrice", stop(stopPrice=None), missing("stopPrice")),
    placing(
        "stoplimit, no stopPrice",
        stop(type="stoplimit", stopPrice=None, limitPrice=1.082),
        missing("stopPrice"),
    ),
    placing("stoplimit, no limitPrice", stop(type="stoplimit"), missing("limitPrice")),
    placing(
        "buy stop under the ask",
        stop(stopPrice=1.079),
        error("price_side", field="stopPrice", price=1.079, relation="above", current=ASK),
    ),
    placing(
        "buy stop at the ask",
        stop(stopPrice=ASK),
        error("price_side", field="stopPrice", price=ASK, relation="above", current=ASK),
    ),
    placing(
        "sell stop over the bid",
        stop(side="sell", stopPrice=1.081),
        error("price_side", field="stopPrice", price=1.081, relation="below", current=BID),
    ),
    placing(
        "buy stoplimit under the ask",
        stop(type="stoplimit", stopPrice=1.079, limitPrice=1.0795),
        error("price_side", field="stopPrice", price=1.079, relation="above", current=ASK),
    ),
    placing(
        "limit 30% away (limitPercent)",
        limit(limitPrice=0.756),
        error("price_rule", price=0.756, current=ASK, **LIMIT_RULE),
    ),
    placing(
        "limit 0.01% away (limitPercent)",
        limit(limitPrice=1.08),
        error("price_rule", price=1.08, current=ASK, **LIMIT_RULE),
    ),
    placing(
        "stopLoss above a buy limit",
        limit(stopLoss=1.075),
        error(
            "bracket_side",
            field="stopLoss",
            price=1.075,
            relation="below",
            what="the order price",
            reference=1.07,
        ),
    ),
    placing(
        "takeProfit below a buy limit",
        limit(takeProfit=1.065),
        error(
            "bracket_side",
            field="takeProfit",
            price=1.065,
            relation="above",
            what="the order price",
            reference=1.07,
        ),
    ),
    placing(
        "takeProfit at the limit",
        limit(takeProfit=1.07),
        error(
            "bracket_side",
            field="takeProfit",
            price=1.07,
            relation="above",
            what="the order price",
            reference=1.07,
        ),
    ),
    placing(
        "stopLoss below a sell limit",
        limit(side="sell", limitPrice=1.09, stopLoss=1.085),
        error(
            "bracket_side",
            field="stopLoss",
            price=1.085,
            relation="above",
            what="the order price",
            reference=1.09,
        ),
    ),
    placing(
        "stopLoss 16% away (slPercent)",
        limit(stopLoss=0.9),
        error("price_rule", price=0.9, current=1.07, **SL_RULE),
    ),
    placing("stopLoss abc", limit(stopLoss="abc"), invalid("stopLoss", "not a number")),
    placing("takeProfit < 0", limit(takeProfit=-1), invalid("takeProfit", NOT_POSITIVE)),
    placing(
        "trailing past 0", limit(trailingStopPips=20000), invalid("trailingStopPips", "too large")
    ),
    placing("guaranteedStop", limit(guaranteedStop=1.065), unsupported("guaranteed stops")),
    placing("durationType FOK", limit(durationType="FOK"), invalid("durationType", DURATIONS)),
    placing("GTT without time", limit(durationType="GTT"), missing("durationDateTime")),
    placing(
        "GTT in the past",
        limit(durationType="GTT", durationDateTime=NOW - 1),
        invalid("durationDateTime", "in the past"),
    ),
    placing(
        "GTT now",
        limit(durationType="GTT", durationDateTime=NOW),
        invalid("durationDateTime", "in the past"),
    ),
    placing(
        "GTT abc",
        limit(durationType="GTT", durationDateTime="abc"),
        invalid("durationDateTime", "not a number"),
    ),
    placing("route bogus", limit(route="bogus"), invalid("route", "expected smart or direct")),
    placing(
        "AAPL extended_hours maybe",
        ticket("AAPL", side="buy", type="market", qty=1, extended_hours="maybe"),
        invalid("extended_hours", "expected true or false"),
    ),
    placing(
        "requestId of 65 characters",
        limit(),
        invalid("requestId", "longer than 64 characters"),
        requestId="r" * 65,
    ),
    placing(
        "more than the margin",
        market(qty=10_000_000),  # 1e7 * 1.0801 / 30
        error("insufficient_margin", required="360,033.33", available="100,000.00", currency="USD"),
    ),
    # DEMO-EUR: EURUSD and BTCUSD only, no stop-limit orders, no trailing stops.
    placing(
        "EUR: AAPL",
        ticket("AAPL", side="buy", type="market", qty=1),
        error("unknown_instrument", instrument="AAPL"),
        EUR,
    ),
    placing(
        "EUR: ESZ2026",
        ticket("ESZ2026", side="buy", type="market", qty=1),
        error("unknown_instrument", instrument="ESZ2026"),
        EUR,
    ),
    placing(
        "EUR: stoplimit",
        stop(type="stoplimit", limitPrice=1.082),
        error("order_type_disabled", type="stoplimit"),
        EUR,
    ),
    placing("EUR: trailing", limit(trailingStopPips=50), unsupported("trailing stops"), EUR),
]


def test_place_order_refuses_bad_bodies(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **limit())  # something to leave alone
        check(d, BAD_ORDERS)


def test_place_order_respects_disabled_features(demo_config: GatewayConfig) -> None:
    flags = {
        "support_stop_limit_orders": False,
        "support_market_orders": False,
        "support_order_brackets": False,
        "support_strict_checking_limit_order_price": True,
    }
    brackets = unsupported("brackets")
    with desk(demo_config, flags=flags) as d:
        check(
            d,
            [
                placing(
                    "stoplimit",
                    stop(type="stoplimit", limitPrice=1.082),
                    error("order_type_disabled", type="stoplimit"),
                ),
                placing("market", market(), error("order_type_disabled", type="market")),
                placing(
                    "market, qty abc",
                    market(qty="abc"),
                    error("order_type_disabled", type="market"),
                ),
                placing("takeProfit", limit(takeProfit=1.08), brackets),
                placing("stopLoss", limit(stopLoss=1.065), brackets),
                placing("trailingStopPips", limit(trailingStopPips=50), brackets),
                placing("guaranteedStop", limit(guaranteedStop=1.065), brackets),
                placing(
                    "strict: buy limit over the ask",
                    limit(limitPrice=1.083),
                    error(
                        "price_side",
                        field="limitPrice",
                        price=1.083,
                        relation="at or below",
                        current=ASK,
                    ),
                ),
                placing(
                    "strict: sell limit under the bid",
                    limit(side="sell", limitPrice=1.077),
                    error(
                        "price_side",
                        field="limitPrice",
                        price=1.077,
                        relation="at or above",
                        current=BID,
                    ),
                ),
            ],
        )
        placed(d, **limit())  # a limit on the right side still goes through


def test_place_order_with_permissive_flags(demo_config: GatewayConfig) -> None:
    flags = {
        "support_guaranteed_stop": True,
        "support_stop_orders_in_both_directions": True,
        "support_market_brackets": False,
        "support_close_position": False,
    }
    with desk(demo_config, flags=flags) as d:
        placed(d, **market())
        position = position_id(d)
        closing = unsupported("closing positions")
        check(
            d,
            [
                placing(
                    "guaranteed and stopLoss",
                    limit(guaranteedStop=1.065, stopLoss=1.066),
                    error("bracket_conflict"),
                ),
                placing(
                    "guaranteed and trailing",
                    limit(guaranteedStop=1.065, trailingStopPips=50),
                    error("bracket_conflict"),
                ),
                placing(
                    "market with takeProfit",
                    market(takeProfit=1.09),
                    unsupported("brackets on market orders"),
                ),
                call("closePosition", "close", None, closing, id=position),
                call("closePosition", "close part", {"amount": 1000}, closing, id=position),
            ],
        )
        # Stops work both ways, and then the spec drops stopPercent and limitPercent.
        placed(d, **stop(stopPrice=1.079))
        placed(d, **limit(limitPrice=0.756))
        placed(d, **limit(guaranteedStop=1.065))


def test_tick_size_shown_plainly(demo_config: GatewayConfig) -> None:
    """EURUSD's tick must read 0.00001 in the message (the rule itself is checked above)."""
    with desk(demo_config) as d:
        check(
            d,
            [
                placing(
                    "EURUSD limitPrice off tick",
                    limit(limitPrice=1.070005),
                    error("price_tick", field="limitPrice", price=1.070005, tick="0.00001"),
                ),
            ],
        )


def test_no_price_yet(demo_config: GatewayConfig) -> None:
    no_price = error("no_price", instrument="EURUSD")
    blind = {"currentAsk": None, "currentBid": None}
    with desk(demo_config, quotes=False) as d:
        check(
            d,
            [
                placing("market", market(**blind), no_price),
                placing("brackets", market(takeProfit=1.09, **blind), no_price),
            ],
        )


# -- bodies: size, encodings, hostile strings -----------------------------------------------------


def test_body_too_large(demo_config: GatewayConfig) -> None:
    """1 MB bodies get 413 with the spec's envelope, on every route that reads a body."""
    with desk(demo_config) as d:
        order = placed(d, **limit())
        placed(d, **market())
        position = position_id(d)
        before = world(d)
        body = urllib.parse.urlencode(limit(pad="x" * 1_048_576)).encode()
        ids = {"modifyOrder": order, "modifyPosition": position, "closePosition": position}
        for op in (
            "placeOrder",
            "modifyOrder",
            "previewOrder",
            "modifyPosition",
            "closePosition",
            "setLeverage",
            "trackLatency",
        ):
            c = call(op, op, None, None, id=ids.get(op, ""))
            resp = request(d, c.method, url_of(USD, c.path), body)
            assert resp.status_int == 413, (op, resp.text)
            assert resp.json == error("body_too_large", limit=65536), op
            conforms(op, resp.json)
        assert world(d) == before


UNREADABLE: list[tuple[str, bytes, str, int, dict[str, str]]] = [
    ("malformed JSON", b"{bad", JSON_TYPE, 200, error("invalid_body", reason="malformed JSON")),
    ("JSON array", b"[1]", JSON_TYPE, 200, error("invalid_body", reason="expected a JSON object")),
    ("not UTF-8", b"qty=1\xff", FORM_TYPE, 200, error("invalid_body", reason="not UTF-8")),
    (
        "501 fields",
        b"f=1" + b"&f=1" * 500,
        FORM_TYPE,
        200,
        error("invalid_body", reason="too many fields"),
    ),
    ("XML", b"<order/>", "application/xml", 415, error("unsupported_media_type")),
    (
        "JSON list",
        json.dumps(limit(qty=[1000])).encode(),
        JSON_TYPE,
        200,
        invalid("qty", "expected a single value"),
    ),
    (
        "JSON true qty",
        json.dumps(limit(qty=True)).encode(),
        JSON_TYPE,
        200,
        invalid("qty", "not a number"),
    ),
    ("JSON null qty", json.dumps(limit() | {"qty": None}).encode(), JSON_TYPE, 200, missing("qty")),
]


def test_body_encodings(demo_config: GatewayConfig) -> None:
    """JSON bodies work like forms; unreadable ones get a clear error and change nothing."""
    with desk(demo_config) as d:
        url = url_of(USD, "/orders")
        problems = []
        for name, raw, content_type, status, expected in UNREADABLE:
            before = world(d)
            resp = request(d, "POST", url, raw, content_type)
            assert_valid("placeOrder", resp.json)
            if (resp.status_int, resp.json) != (status, expected):
                problems.append(f"{name}: got {resp.status_int} {resp.text}")
            elif world(d) != before:
                problems.append(f"{name}: changed the world")
        assert not problems, "\n".join(problems)

        answer = request(d, "POST", url, json.dumps(limit()).encode(), JSON_TYPE).json
        assert answer["s"] == "ok", answer
        order = d.orders()[answer["d"]["orderId"]]
        assert (order["qty"], order["limitPrice"], order["side"]) == (1000, 1.07, "buy")

        extra = limit(comment="hello", unknownField="x", stopLoss="", takeProfit="")
        answer = d.post("/orders", "placeOrder", extra)
        assert answer["s"] == "ok", answer
        assert not any("parentId" in o for o in d.orders().values()), "blank fields made brackets"


HOSTILE = (
    "\"double\" and 'single' quotes",
    "'; DROP TABLE gw_orders; --",
    "Robert'); DELETE FROM gw_orders WHERE ('1'='1",
    "ユーロ／ドル €",
    "\U0001f4b6\u202eDSURUE",
    "EUR\x00USD",
    "<script>alert(1)</script>",
    "%00%27",
    "x" * 300,
)


def test_hostile_strings(demo_config: GatewayConfig) -> None:
    """Quotes, SQL, unicode and NUL bytes: a clear error or harmless data; the store intact."""
    with desk(demo_config) as d:
        placed(d, **limit())
        as_instrument = [
            placing(
                f"instrument {s[:20]!r}",
                limit(instrument=s),
                # A NUL is refused in any field (PostgreSQL cannot store one).
                invalid("instrument", "contains a NUL character")
                if "\x00" in s
                else error("unknown_instrument", instrument=clip(s)),
            )
            for s in HOSTILE
        ]
        as_order_id = [
            cancelling(
                f"order id {s[:20]!r}",
                urllib.parse.quote(s, safe=""),
                error("unknown_order", order=clip(s)),
            )
            for s in HOSTILE
            if "/" not in s  # a slash separates path segments even when escaped
        ]
        too_long = invalid("requestId", "longer than 64 characters")
        check(
            d,
            [
                *as_instrument,
                *as_order_id,
                placing("requestId", limit(), too_long, requestId=HOSTILE[-1]),
            ],
        )

        # As request ids (all but the last are at most 64 characters) they are plain data:
        # stored, and found again when the same request is retried.
        count = len(d.orders())
        ids = set()
        usable = [s for s in HOSTILE[:-1] if "\x00" not in s]  # NUL: refused everywhere
        for s in usable:
            first = d.try_place(query={"requestId": s}, **limit())
            again = d.try_place(query={"requestId": s}, **limit())
            assert first["s"] == again["s"] == "ok", (s, first, again)
            assert first["d"]["orderId"] == again["d"]["orderId"], s
            ids.add(first["d"]["orderId"])
        assert len(ids) == len(usable)
        with d.gateway.services.database.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT COUNT(*) FROM gw_orders")).scalar_one()
            requests = set(conn.execute(sa.text("SELECT request_id FROM gw_orders")).scalars())
        assert stored == count + len(ids) == len(d.orders())
        assert set(usable) <= requests


def test_durations_beyond_the_store(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        before = world(d)
        for until in ("1e19", "1e30"):
            form = limit(durationType="GTT", durationDateTime=until)
            resp = request(d, "POST", url_of(USD, "/orders"), urllib.parse.urlencode(form).encode())
            assert resp.status_int == 200, resp.text
            assert resp.json["errmsg"].startswith("Invalid value for durationDateTime: "), resp.json
        assert world(d) == before


def test_prices_below_one_tick(demo_config: GatewayConfig) -> None:
    tiny = ticket("AAPL", side="buy", type="limit", qty=1, limitPrice=1e-300)
    off_tick = error("price_tick", field="limitPrice", price="1e-300", tick=0.01)
    with desk(demo_config) as d:
        check(d, [placing("AAPL limitPrice 1e-300", tiny, off_tick)])
