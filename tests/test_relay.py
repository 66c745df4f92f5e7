"""Requests relayed through the store to the lease's holder, on every supported store.

Each transition is one conditional UPDATE: a request is taken by one holder only, and one
withdrawn by its asker (nobody took it in time) is never carried out.
"""

from __future__ import annotations

import threading

import pytest

from gateway.store.database import Database
from gateway.store.relay import Relay
from tests.conftest import FakeClock


@pytest.fixture
def database(any_database: Database) -> Database:
    return any_database


def test_a_request_is_taken_once_and_its_answer_reaches_the_asker(database: Database) -> None:
    asker, holder = Relay(database, "fix:A"), Relay(database, "fix:A")
    request_id = asker.submit("place", {"order": {"qty": 0.1, "route": "désk"}})
    [request] = holder.take()
    assert (request.id, request.kind, request.payload) == (
        request_id,
        "place",
        {"order": {"qty": 0.1, "route": "désk"}},
    )
    assert holder.take() == []  # taken: nobody takes it again
    holder.answer(request_id, None, "V42")
    answer = asker.wait(request_id, take_within=1.0, answer_within=1.0)
    assert (answer.taken, answer.done, answer.refusal, answer.result) == (True, True, None, "V42")


def test_a_refusal_is_the_answer(database: Database) -> None:
    relay = Relay(database, "fix:A")
    request_id = relay.submit("cancel", {"id": "7"})
    [request] = relay.take()
    relay.answer(request.id, "Too late to cancel")
    answer = relay.wait(request_id, take_within=1.0, answer_within=1.0)
    assert answer.done and answer.refusal == "Too late to cancel"


def test_a_request_nobody_takes_is_withdrawn_and_never_carried_out(database: Database) -> None:
    relay = Relay(database, "fix:A")
    request_id = relay.submit("place", {"order": {}})
    answer = relay.wait(request_id, take_within=0.1, answer_within=5.0)
    assert not answer.taken and not answer.done
    assert relay.take() == []  # a holder arriving now finds nothing to do


def test_a_taken_request_without_an_answer_is_left_pending(database: Database) -> None:
    relay = Relay(database, "fix:A")
    request_id = relay.submit("place", {"order": {}})
    relay.take()
    answer = relay.wait(request_id, take_within=0.1, answer_within=0.3)
    assert answer.taken and not answer.done  # the holder works on it: not withdrawn
    relay.answer(request_id, None, "V1")  # a late answer still lands
    assert relay.wait(request_id, 0.1, 0.1).result == "V1"


def test_channels_are_separate_and_two_takers_never_share_a_request(database: Database) -> None:
    ours, theirs = Relay(database, "fix:A"), Relay(database, "fix:B")
    ids = [ours.submit("cancel", {"id": str(n)}) for n in range(20)]
    theirs.submit("cancel", {"id": "other"})
    takers = [Relay(database, "fix:A") for _ in range(4)]
    taken: list[list[int]] = [[] for _ in takers]

    def take(index: int) -> None:
        taken[index] = [r.id for r in takers[index].take()]

    threads = [threading.Thread(target=take, args=(n,)) for n in range(len(takers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = sorted(i for batch in taken for i in batch)
    assert everything == ids  # each once, and none of the other channel's
    assert [r.payload for r in theirs.take()] == [{"id": "other"}]


def test_old_answers_are_pruned(database: Database) -> None:
    clock = FakeClock()
    relay = Relay(database, "fix:A", clock=clock)
    done = relay.submit("cancel", {"id": "1"})
    relay.take()
    relay.answer(done, None)
    waiting = relay.submit("cancel", {"id": "2"})
    clock.advance(301)
    assert relay.prune(300) == 1
    assert [r.id for r in relay.take()] == [waiting]  # a pending request is never pruned
