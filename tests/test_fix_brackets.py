"""Native brackets (``brackets: native``): an order and its legs go to QuickFIX as one list.

The counterparty works the list itself (tests/fix_counterparty.py): the legs wait until the
entry fills, then cancel each other. The gateway must then send nothing of its own for what the
venue does (no NewOrderSingle for an activated leg, no cancel of the other leg), and still
follow every report, so that TradingView sees the same statuses as with core brackets.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import GatewayConfig
from tests.fix_app import FixDesk, eventually, fix_desk, free_port
from tests.fix_counterparty import Counterparty, counterparty


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Counterparty]:
    with counterparty(tmp_path, free_port()) as running:
        yield running


@pytest.fixture
def desk(demo_config: GatewayConfig, venue: Counterparty) -> Iterator[FixDesk]:
    with fix_desk(demo_config, venue, brackets="native") as d:
        yield d


def legs_of(desk: FixDesk, parent: str) -> dict[str, dict[str, Any]]:
    """The parent's brackets by order type: ``limit`` take-profit, ``stop`` stop-loss."""
    return {o["type"]: o for o in desk.orders().values() if o.get("parentId") == parent}


def bought_with_legs(desk: FixDesk, venue: Counterparty, qty: float) -> dict[str, Any]:
    """A filled market buy whose take-profit and stop-loss the venue has activated."""
    parent = desk.place(qty=qty, side="buy", type="market", takeProfit=62000.0, stopLoss=58000.0)
    eventually(lambda: desk.status(parent) == "filled")
    eventually(lambda: {o["status"] for o in legs_of(desk, parent).values()} == {"working"})
    eventually(lambda: len(venue.call("orders")) == 2)  # both legs active at the venue
    return legs_of(desk, parent)


def order_messages(venue: Counterparty) -> list[str]:
    """The types of the order messages the venue received (market data requests aside)."""
    return [kind for kind in venue.received_types() if kind in ("D", "E", "F", "G")]


def test_an_order_and_its_brackets_go_out_as_one_list(desk: FixDesk, venue: Counterparty) -> None:
    parent = desk.place(qty=0.1, side="buy", type="limit", limitPrice=59000.0,
                        takeProfit=62000.0, stopLoss=58000.0)  # fmt: skip
    eventually(lambda: desk.status(parent) == "working")
    legs = legs_of(desk, parent)
    assert {o["status"] for o in legs.values()} == {"inactive"}
    assert order_messages(venue) == ["E"]  # no NewOrderSingle
    [fields] = venue.received("E")
    assert (fields[66], fields[394], fields[68], fields[73]) == (parent, "3", "3", "3")
    assert fields[1385] == "2"  # bracket_list_tags' default: ContingencyType one-triggers-other
    assert venue.call("lists") == [(parent, "2")]
    # The legs wait at the venue under their own ClOrdIDs, as the gateway's order ids.
    [waiting] = venue.call("waiting_legs").values()
    assert {leg["cl_ord_id"]: (leg["ord_type"], leg["side"], leg["qty"]) for leg in waiting} == {
        legs["limit"]["id"]: ("2", "2", 0.1),
        legs["stop"]["id"]: ("3", "2", 0.1),
    }
    assert [leg["price"] or leg["stop"] for leg in waiting] == [62000.0, 58000.0]


def test_the_venue_activates_the_legs_and_cancels_the_other_one(
    desk: FixDesk, venue: Counterparty
) -> None:
    legs = bought_with_legs(desk, venue, 0.1)
    desk.quote("BTCUSD", 62000.0, 62001.0)  # the take-profit fills
    eventually(lambda: desk.status(legs["limit"]["id"]) == "filled")
    eventually(lambda: desk.status(legs["stop"]["id"]) == "cancelled")
    assert desk.positions() == []
    stop = desk.orders()[legs["stop"]["id"]]
    assert stop["message"]["text"] == "One-cancels-other: the other leg filled"  # the venue's
    # The gateway sent the list and nothing else: activation and OCO were the venue's.
    assert order_messages(venue) == ["E"]
    assert venue.call("orders") == {}


def test_cancelling_the_unfilled_order_takes_its_legs_along(
    desk: FixDesk, venue: Counterparty
) -> None:
    parent = desk.place(qty=0.2, side="sell", type="limit", limitPrice=61000.0,
                        takeProfit=59000.0, stopLoss=62000.0)  # fmt: skip
    eventually(lambda: desk.status(parent) == "working")
    assert desk.delete(f"/orders/{parent}", "cancelOrder")["s"] == "ok"
    eventually(lambda: desk.status(parent) == "cancelled")
    assert {o["status"] for o in legs_of(desk, parent).values()} == {"cancelled"}
    [cancel] = venue.received("F")
    assert cancel[41] == parent  # one cancel, of the parent: the venue drops the legs
    assert venue.call("waiting_legs") == {} and venue.call("orders") == {}


def test_changing_the_order_changes_its_waiting_legs_at_the_venue(
    desk: FixDesk, venue: Counterparty
) -> None:
    parent = desk.place(qty=0.1, side="buy", type="limit", limitPrice=59000.0,
                        takeProfit=62000.0, stopLoss=58000.0)  # fmt: skip
    eventually(lambda: desk.status(parent) == "working")
    legs = legs_of(desk, parent)
    form = {"qty": 0.3, "limitPrice": 59000.0, "takeProfit": 62500.0}  # no stop-loss any more
    assert desk.put(f"/orders/{parent}", "modifyOrder", form)["s"] == "ok"
    eventually(lambda: desk.status(legs["stop"]["id"]) == "cancelled")
    now = legs_of(desk, parent)
    assert (now["limit"]["qty"], now["limit"]["limitPrice"]) == (0.3, 62500.0)
    assert now["limit"]["status"] == "inactive"
    [waiting] = venue.call("waiting_legs").values()
    assert [(leg["cl_ord_id"], leg["qty"], leg["price"]) for leg in waiting] == [
        (f"{legs['limit']['id']}.2", 0.3, 62500.0)  # resized with the parent, then moved
    ]
    [cancel] = venue.received("F")
    assert cancel[41] == f"{legs['stop']['id']}.1"  # it had been resized with the parent
    desk.quote("BTCUSD", 58900.0, 59000.0)  # the entry fills; the venue activates what is left
    eventually(lambda: desk.status(parent) == "filled")
    eventually(lambda: desk.status(legs["limit"]["id"]) == "working")
    [active] = venue.call("orders").values()
    assert active["cl_ord_id"] == f"{legs['limit']['id']}.2"


def test_a_refused_list_rejects_the_order_and_ends_its_legs(
    desk: FixDesk, venue: Counterparty
) -> None:
    venue.call("refuse_symbol", "BTC/USD")
    answer = desk.try_place(qty=0.1, side="buy", type="market", takeProfit=62000.0,
                            stopLoss=58000.0)  # fmt: skip
    assert answer["s"] == "error" and "Unknown or halted symbol BTC/USD" in answer["errmsg"]
    [parent] = [o for o in desk.orders().values() if o.get("parentId") is None]
    assert parent["status"] == "rejected"
    assert {o["status"] for o in legs_of(desk, parent["id"]).values()} == {"cancelled"}


def test_a_restarted_gateway_still_reaches_the_waiting_legs(
    demo_config: GatewayConfig, venue: Counterparty
) -> None:
    with fix_desk(demo_config, venue, brackets="native") as first:
        parent = first.place(qty=0.1, side="buy", type="limit", limitPrice=59000.0,
                             takeProfit=62000.0, stopLoss=58000.0)  # fmt: skip
        eventually(lambda: first.status(parent) == "working")
        legs = legs_of(first, parent)
    with fix_desk(demo_config, venue, brackets="native") as second:
        form = {"qty": 0.1, "limitPrice": 59000.0, "takeProfit": 62000.0}
        assert second.put(f"/orders/{parent}", "modifyOrder", form)["s"] == "ok"
        eventually(lambda: second.status(legs["stop"]["id"]) == "cancelled")
        [cancel] = venue.received("F")
        assert cancel[41] == legs["stop"]["id"]
        [waiting] = venue.call("waiting_legs").values()
        # The take-profit was asked for unchanged: it was not sent a replace.
        assert [leg["cl_ord_id"] for leg in waiting] == [legs["limit"]["id"]]
        assert venue.received("G") == []


def test_a_partly_filled_leg_shrinks_the_other_at_the_venue_not_by_a_replace(
    desk: FixDesk, venue: Counterparty
) -> None:
    legs = bought_with_legs(desk, venue, 0.4)
    take_profit = next(
        venue_id
        for venue_id, order in venue.call("orders").items()
        if order["cl_ord_id"] == legs["limit"]["id"]
    )
    venue.call("fill", take_profit, 0.1, 62000.0)
    eventually(lambda: desk.orders()[legs["stop"]["id"]]["qty"] == 0.3)
    assert desk.orders()[legs["limit"]["id"]]["filledQty"] == 0.1
    assert desk.status(legs["stop"]["id"]) == "working"
    [position] = desk.positions()
    assert position["qty"] == 0.3
    venue.call("fill", take_profit, 0.3, 62000.0)
    eventually(lambda: desk.status(legs["stop"]["id"]) == "cancelled")
    assert desk.positions() == []
    assert order_messages(venue) == ["E"]  # the venue resized and cancelled: no G, no F
