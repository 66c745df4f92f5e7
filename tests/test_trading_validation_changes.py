"""Bad modifyOrder, cancelOrder, position and preview requests: the exact message, and
nothing changed.

Unknown, foreign and final orders and positions, the fields a change may not take, partial
closes, the position endpoints each kind of account offers, previews (problems reported as
``errors``) and the confirmIds they hand out, and ids written in non-ASCII digits. Like
test_trading_validation.py, each test sends one paper-trading desk a table of bad requests
(see tests/trading_checks.py): every answer must be exactly the expected one and must leave
orders, positions, account states and the store's row counts as they were.
"""

from __future__ import annotations

from gateway.config import GatewayConfig
from tests.trading_app import desk
from tests.trading_checks import (
    ASK,
    BID,
    DURATIONS,
    EUR,
    LIMIT_RULE,
    NOT_POSITIVE,
    NOW,
    SIDES,
    SL_RULE_POSITION,
    Form,
    call,
    cancelling,
    check,
    error,
    invalid,
    limit,
    market,
    missing,
    modifying,
    placed,
    placing,
    position_id,
    stop,
    text,
    unsupported,
    world,
)

# -- modifyOrder and cancelOrder ------------------------------------------------------------------


def test_modify_and_cancel_refuse_bad_requests(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        order = placed(d, **limit(durationType="DAY"))
        other = placed(d, EUR, **limit())
        same = {"qty": 1000, "limitPrice": 1.07}
        twenty = "9" * 20
        check(
            d,
            [
                modifying("unknown id", "999", same, error("unknown_order", order="999")),
                modifying("id abc", "abc", same, error("unknown_order", order="abc")),
                modifying("id -1", "-1", same, error("unknown_order", order="-1")),
                modifying("id 1.0", "1.0", same, error("unknown_order", order="1.0")),
                modifying("id of 20 digits", twenty, same, error("unknown_order", order=twenty)),
                modifying("DEMO-EUR's order", other, same, error("unknown_order", order=other)),
                cancelling("unknown id", "999", error("unknown_order", order="999")),
                cancelling("id abc", "abc", error("unknown_order", order="abc")),
                cancelling("id of 20 digits", twenty, error("unknown_order", order=twenty)),
                cancelling("DEMO-EUR's order", other, error("unknown_order", order=other)),
                modifying("no qty", order, {"limitPrice": 1.07}, missing("qty")),
                modifying("qty 0", order, same | {"qty": 0}, invalid("qty", NOT_POSITIVE)),
                modifying("qty abc", order, same | {"qty": "abc"}, invalid("qty", "not a number")),
                modifying(
                    "qty < minQty",
                    order,
                    same | {"qty": 500},
                    error("qty_out_of_range", qty=500, min=1000, max=10000000),
                ),
                modifying(
                    "qty off qtyStep",
                    order,
                    same | {"qty": 1500},
                    error("qty_step", qty=1500, step=1000),
                ),
                modifying("no limitPrice", order, {"qty": 1000}, missing("limitPrice")),
                modifying(
                    "limitPrice < 0",
                    order,
                    same | {"limitPrice": -1},
                    invalid("limitPrice", NOT_POSITIVE),
                ),
                modifying(
                    "durationType FOK",
                    order,
                    same | {"durationType": "FOK"},
                    invalid("durationType", DURATIONS),
                ),
                modifying(
                    "GTT without time",
                    order,
                    same | {"durationType": "GTT"},
                    missing("durationDateTime"),
                ),
                modifying(
                    "GTT in the past",
                    order,
                    same | {"durationType": "GTT", "durationDateTime": NOW - 60},
                    invalid("durationDateTime", "in the past"),
                ),
                modifying(
                    "route bogus",
                    order,
                    same | {"route": "bogus"},
                    invalid("route", "expected smart or direct"),
                ),
                modifying(
                    "stopLoss above the limit",
                    order,
                    same | {"stopLoss": 1.075},
                    error(
                        "bracket_side",
                        field="stopLoss",
                        price=1.075,
                        relation="below",
                        what="the order price",
                        reference=1.07,
                    ),
                ),
                modifying(
                    "unknown confirmId", order, same, error("preview_expired"), confirmId="nope"
                ),
            ],
        )


def test_modify_and_cancel_a_final_order(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        filled = placed(d, **market())
        cancelled = placed(d, **limit())
        d.delete(f"/orders/{cancelled}", "cancelOrder")
        same = {"qty": 1000, "limitPrice": 1.07}
        check(
            d,
            [
                modifying(
                    "filled",
                    filled,
                    {"qty": 1000},
                    error("order_final", order=filled, state="filled"),
                ),
                modifying(
                    "cancelled",
                    cancelled,
                    same,
                    error("order_final", order=cancelled, state="cancelled"),
                ),
                cancelling("filled", filled, error("order_final", order=filled, state="filled")),
                cancelling(
                    "cancelled", cancelled, error("order_final", order=cancelled, state="cancelled")
                ),
            ],
        )


def test_modify_with_editing_disabled(demo_config: GatewayConfig) -> None:
    flags = {
        "support_modify_order_price": False,
        "support_edit_amount": False,
        "support_modify_duration": False,
    }
    with desk(demo_config, flags=flags) as d:
        order = placed(d, **limit(durationType="DAY"))
        same = {"qty": 1000, "limitPrice": 1.07, "durationType": "DAY"}
        check(
            d,
            [
                modifying(
                    "price", order, same | {"limitPrice": 1.069}, unsupported("changing the price")
                ),
                modifying("qty", order, same | {"qty": 2000}, unsupported("changing the quantity")),
                modifying(
                    "duration",
                    order,
                    same | {"durationType": "GTC"},
                    unsupported("changing the duration"),
                ),
            ],
        )
        assert d.put(f"/orders/{order}", "modifyOrder", same)["s"] == "ok"


def test_modify_below_the_filled_quantity(demo_config: GatewayConfig) -> None:
    with desk(demo_config, max_fill_qty=1000) as d:
        order = placed(d, **limit(qty=3000, limitPrice=1.083))  # marketable: 1000 a quote
        assert d.orders()[order]["filledQty"] == 1000, d.orders()[order]
        below = invalid("qty", "must be more than the filled quantity")
        check(d, [modifying("qty = filled", order, {"qty": 1000, "limitPrice": 1.083}, below)])


def test_modify_checks_the_stop_side(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        order = placed(d, **stop())
        wrong_side = error(
            "price_side", field="stopPrice", price=1.079, relation="above", current=ASK
        )
        check(
            d,
            [
                modifying(
                    "buy stop under the ask", order, {"qty": 1000, "stopPrice": 1.079}, wrong_side
                )
            ],
        )


def test_modify_checks_the_limit_percent_rule(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        order = placed(d, **limit())
        too_far = error("price_rule", price=0.756, current=ASK, **LIMIT_RULE)
        check(d, [modifying("limit 30% away", order, {"qty": 1000, "limitPrice": 0.756}, too_far)])


def test_modify_refuses_brackets_the_account_lacks(demo_config: GatewayConfig) -> None:
    with desk(demo_config, flags={"support_order_brackets": False}) as d:
        order = placed(d, **limit())
        form = {"qty": 1000, "limitPrice": 1.07, "stopLoss": 1.06, "takeProfit": 1.08}
        check(d, [modifying("brackets", order, form, unsupported("brackets"))])


# -- positions ------------------------------------------------------------------------------------


def test_positions_refuse_bad_requests(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **market())
        placed(d, EUR, **market())
        pos, ind = position_id(d), position_id(d, EUR)
        too_much = error("close_amount", qty=1000)

        def unknown(position: str) -> dict[str, str]:
            return error("unknown_position", position=position)

        def under_bid(field: str, price: float, relation: str) -> dict[str, str]:
            return error(
                "bracket_side",
                field=field,
                price=price,
                relation=relation,
                what="the current price",
                reference=BID,
            )

        check(
            d,
            [
                call(
                    "modifyPosition", "modify unknown", {"stopLoss": 1.07}, unknown("999"), id="999"
                ),
                call("modifyPosition", "modify abc", {"stopLoss": 1.07}, unknown("abc"), id="abc"),
                call("closePosition", "close unknown", None, unknown("999"), id="999"),
                call("closePosition", "close abc", None, unknown("abc"), id="abc"),
                call("closePosition", "close DEMO-EUR's", None, unknown(ind), id=ind),
                call("closePosition", "close too much", {"amount": 2000}, too_much, id=pos),
                call(
                    "closePosition",
                    "close 0",
                    {"amount": 0},
                    invalid("amount", NOT_POSITIVE),
                    id=pos,
                ),
                call(
                    "closePosition",
                    "close < 0",
                    {"amount": -1000},
                    invalid("amount", NOT_POSITIVE),
                    id=pos,
                ),
                call(
                    "closePosition",
                    "close abc",
                    {"amount": "abc"},
                    invalid("amount", "not a number"),
                    id=pos,
                ),
                call(
                    "closePosition",
                    "close inf",
                    {"amount": "inf"},
                    invalid("amount", "not a finite number"),
                    id=pos,
                ),
                call(
                    "modifyPosition", "side hold", {"side": "hold"}, invalid("side", SIDES), id=pos
                ),
                call(
                    "modifyPosition",
                    "SL above",
                    {"stopLoss": 1.09},
                    under_bid("stopLoss", 1.09, "below"),
                    id=pos,
                ),
                call(
                    "modifyPosition",
                    "TP below",
                    {"takeProfit": 1.07},
                    under_bid("takeProfit", 1.07, "above"),
                    id=pos,
                ),
                call(
                    "modifyPosition",
                    "stopLoss 16% away",
                    {"stopLoss": 0.9},
                    error("price_rule", price=0.9, current=BID, **SL_RULE_POSITION),
                    id=pos,
                ),
                call(
                    "modifyPosition",
                    "trailing abc",
                    {"trailingStopPips": "abc"},
                    invalid("trailingStopPips", "not a number"),
                    id=pos,
                ),
                call(
                    "modifyPosition",
                    "guaranteed",
                    {"guaranteedStop": 1.07},
                    unsupported("guaranteed stops"),
                    id=pos,
                ),
                # DEMO-EUR: individual and net positions.
                call(
                    "modifyIndividualPosition",
                    "EUR: modify unknown",
                    {"stopLoss": 1.07},
                    unknown("999"),
                    id="999",
                    account=EUR,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close unknown",
                    None,
                    unknown("999"),
                    id="999",
                    account=EUR,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close DEMO-USD's",
                    None,
                    unknown(pos),
                    id=pos,
                    account=EUR,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close too much",
                    {"amount": 2000},
                    too_much,
                    id=ind,
                    account=EUR,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close 0",
                    {"amount": 0},
                    invalid("amount", NOT_POSITIVE),
                    id=ind,
                    account=EUR,
                ),
                call(
                    "modifyIndividualPosition",
                    "EUR: SL above",
                    {"stopLoss": 1.09},
                    under_bid("stopLoss", 1.09, "below"),
                    id=ind,
                    account=EUR,
                ),
                call(
                    "modifyIndividualPosition",
                    "EUR: trailing",
                    {"trailingStopPips": 50},
                    unsupported("trailing stops"),
                    id=ind,
                    account=EUR,
                ),
                call(
                    "closeNetPosition",
                    "EUR: BTCUSD, none held",
                    None,
                    unknown("BTCUSD"),
                    id="BTCUSD",
                    account=EUR,
                ),
                call(
                    "closeNetPosition",
                    "EUR: AAPL, not tradable",
                    None,
                    unknown("AAPL"),
                    id="AAPL",
                    account=EUR,
                ),
                call(
                    "closeNetPosition", "EUR: NOPE", None, unknown("NOPE"), id="NOPE", account=EUR
                ),
            ],
        )
        d.delete(f"/positions/{pos}", "closePosition")
        d.settle()
        assert d.positions() == []
        check(
            d,
            [
                call("closePosition", "close a closed one", None, unknown(pos), id=pos),
                call(
                    "modifyPosition",
                    "modify a closed one",
                    {"stopLoss": 1.07},
                    unknown(pos),
                    id=pos,
                ),
            ],
        )


def test_position_endpoints_by_account_kind(demo_config: GatewayConfig) -> None:
    """DEMO-USD has positions; the netting DEMO-EUR has net and individual positions."""
    positions = unsupported("the positions endpoints")
    netting = unsupported("net and individual positions")
    sl = {"stopLoss": 1.07}
    with desk(demo_config) as d:
        placed(d, **market())
        placed(d, EUR, **market())
        pos, ind = position_id(d), position_id(d, EUR)
        check(
            d,
            [
                call("getPositions", "EUR", None, positions, account=EUR),
                call("streamPositions", "EUR", None, positions, account=EUR),
                call("modifyPosition", "EUR", sl, positions, id=ind, account=EUR),
                call("closePosition", "EUR", None, positions, id=ind, account=EUR),
                call("getNetPositions", "USD", None, netting),
                call("streamNetPositions", "USD", None, netting),
                call("closeNetPosition", "USD", None, netting, id="EURUSD"),
                call("getIndividualPositions", "USD", None, netting),
                call("streamIndividualPositions", "USD", None, netting),
                call("modifyIndividualPosition", "USD", sl, netting, id=pos),
                call("closeIndividualPosition", "USD", None, netting, id=pos),
            ],
        )


def test_partial_close_respects_the_qty_step(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **market(qty=2000))
        placed(d, EUR, **market(qty=2000))
        pos, ind = position_id(d), position_id(d, EUR)
        check(
            d,
            [
                call(
                    "closePosition",
                    "500",
                    {"amount": 500},
                    error("qty_step", qty=500, step=1000),
                    id=pos,
                ),
                call(
                    "closePosition",
                    "0.5",
                    {"amount": 0.5},
                    error("qty_step", qty=0.5, step=1000),
                    id=pos,
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: 500",
                    {"amount": 500},
                    error("qty_step", qty=500, step=1000),
                    id=ind,
                    account=EUR,
                ),
            ],
        )


# -- previews -------------------------------------------------------------------------------------

PREVIEW_PROBLEMS: list[tuple[str, Form, str]] = [
    ("qty abc", limit(qty="abc"), text("invalid_field", field="qty", reason="not a number")),
    ("no side", limit(side=None), text("missing_field", field="side")),
    ("unknown instrument", limit(instrument="NOPE"), text("unknown_instrument", instrument="NOPE")),
    ("qty off qtyStep", limit(qty=1500), text("qty_step", qty=1500, step=1000)),
    (
        "limitPercent",
        limit(limitPrice=0.756),
        text("price_rule", price=0.756, current=ASK, **LIMIT_RULE),
    ),
    ("modify unknown order", limit(id="999"), text("unknown_order", order="999")),
    ("modify order abc", limit(id="abc"), text("unknown_order", order="abc")),
]


def test_preview_reports_problems_as_errors(demo_config: GatewayConfig) -> None:
    """A bad body previews as ``ok`` with ``errors`` (and no confirmId), not as s:error."""
    with desk(demo_config) as d:
        placed(d, **limit())
        problems = []
        for name, form, message in PREVIEW_PROBLEMS:
            before = world(d)
            answer = d.post("/previewOrder", "previewOrder", form)
            if answer["s"] != "ok" or answer["d"].get("errors") != [message]:
                problems.append(f"{name}: {answer}")
            elif "confirmId" in answer["d"]:
                problems.append(f"{name}: a confirmId for a refused order")
            elif world(d) != before:
                problems.append(f"{name}: changed the world")
        assert not problems, "\n".join(problems)


def test_preview_of_a_final_order(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        filled = placed(d, **market())
        answer = d.post("/previewOrder", "previewOrder", market(id=filled))
        assert answer["d"].get("errors") == [text("order_final", order=filled, state="filled")]


def test_confirm_id_must_match_a_fresh_unused_preview(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:

        def preview(form: Form) -> str:
            answer = d.post("/previewOrder", "previewOrder", form)
            assert "errors" not in answer["d"], answer
            confirm: str = answer["d"]["confirmId"]
            return confirm

        order = placed(d, **limit())
        other = preview(limit(qty=2000))
        used = preview(limit())
        assert d.try_place(query={"confirmId": used}, **limit())["s"] == "ok"
        expired = preview(limit(qty=3000))
        expired_modify = preview(limit(id=order, qty=3000))
        same = {"qty": 1000, "limitPrice": 1.07}
        stale = error("preview_expired")
        check(
            d,
            [
                placing("unknown", limit(), stale, confirmId="nope"),
                placing("another order's", limit(), stale, confirmId=other),
                placing("used already", limit(), stale, confirmId=used),
                placing("on another account", limit(qty=2000), stale, EUR, confirmId=other),
                modifying("modify: unknown", order, same, stale, confirmId="nope"),
            ],
        )
        # The attempts that did not match left the preview of qty 2000 usable.
        assert d.try_place(query={"confirmId": other}, **limit(qty=2000))["s"] == "ok"
        d.clock.advance(61)  # past trading.preview_ttl (60 s)
        check(
            d,
            [
                placing("expired", limit(qty=3000), stale, confirmId=expired),
                modifying(
                    "modify: expired", order, same | {"qty": 3000}, stale, confirmId=expired_modify
                ),
            ],
        )


# -- ids made of digits, but not ASCII ones -------------------------------------------------------


def test_superscript_digits_as_ids(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **market())
        placed(d, EUR, **market())
        check(
            d,
            [
                cancelling("cancel", "²", error("unknown_order", order="²")),
                modifying("modify", "²", {"qty": 1000}, error("unknown_order", order="²")),
                call(
                    "closePosition", "close", None, error("unknown_position", position="²"), id="²"
                ),
                call(
                    "modifyPosition",
                    "modify position",
                    {},
                    error("unknown_position", position="²"),
                    id="²",
                ),
                call(
                    "closeIndividualPosition",
                    "EUR: close",
                    None,
                    error("unknown_position", position="²"),
                    id="²",
                    account=EUR,
                ),
            ],
        )


def test_other_scripts_digits_as_ids(demo_config: GatewayConfig) -> None:
    with desk(demo_config) as d:
        placed(d, **limit())
        assert placed(d, **limit()) == "2"
        check(d, [cancelling("cancel", "٢", error("unknown_order", order="٢"))])
