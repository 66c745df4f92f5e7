"""The FIX session layer on its own: logon, numbers, resends, timers and hostile frames.

Most tests run one :class:`Session` on a socket pair whose other end the test holds, playing a
counterparty that sends what a real engine never would: no MsgSeqNum, foreign comp ids, another
BeginString, broken lengths and checksums. Answers are parsed back from the wire; numbers are
read from a real SQLite store. The session's clock is a ``FakeClock``: timers fire when a test
moves it. One test connects two sessions through the real Initiator and Acceptor over TCP. The
counterparty's end (Peer, Recorder, Link) is in tests/fix_session_peer.py.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.fix._session import NotLoggedOn, Session, SessionSettings
from connectors.fix._transport import Acceptor, Initiator
from connectors.fix._wire import BEGIN_STRING, Tag, checksum
from gateway.store.database import Database
from gateway.store.session_log import SessionLog
from tests.conftest import FakeClock
from tests.fix_session_peer import (
    LOGON,
    ME,
    SENDING_TIME,
    THEM,
    WAIT,
    Connect,
    Link,
    Peer,
    Recorder,
    eventually,
)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    yield db
    db.dispose()


@pytest.fixture
def connect(database: Database) -> Iterator[Connect]:
    """Start a session on a socket pair: ``connect(initiate=False, app=..., **settings)``."""
    links: list[Link] = []

    def start(
        initiate: bool = False,
        app: Recorder | None = None,
        clock: FakeClock | None = None,
        **settings: Any,
    ) -> Link:
        settings = {"sender_comp_id": ME, "target_comp_id": THEM, **settings}
        config = SessionSettings(**settings)
        store = SessionLog(database, config.session_id)
        clock = clock or FakeClock()
        recorder = app or Recorder()
        session = Session(config, store, recorder, clock=clock)
        ours, theirs = socket.socketpair()
        result: list[str] = []
        thread = threading.Thread(
            target=lambda: result.append(session.run(ours, initiate)), daemon=True
        )
        link = Link(session, recorder, store, clock, Peer(theirs), thread, result)
        links.append(link)
        thread.start()
        # run() reads the clock as it starts: a test moving the clock must come after that.
        eventually(lambda: session.state == "logging_on")
        return link

    yield start
    for link in links:
        link.peer.sock.close()
        link.thread.join(WAIT)


def test_two_sessions_log_on_exchange_messages_and_log_out_over_tcp(database: Database) -> None:
    venue_app, gateway_app = Recorder(), Recorder()
    venue_settings = SessionSettings(THEM, ME)
    venue = Session(venue_settings, SessionLog(database, venue_settings.session_id), venue_app)
    acceptor = Acceptor(venue, "127.0.0.1", 0)
    acceptor.start()
    ours = SessionSettings(ME, THEM, username="gw", password="secret")
    gateway = Session(ours, SessionLog(database, ours.session_id), gateway_app)
    owner = threading.Event()
    owner.set()
    initiator = Initiator(
        gateway, "127.0.0.1", acceptor.port, backoff=(0.1, 1.0), may_run=owner.is_set
    )
    initiator.start()
    try:
        eventually(lambda: gateway.logged_on.is_set() and venue.logged_on.is_set())
        [logon] = venue_app.seen_logons
        assert (logon.get(Tag.Username), logon.get(Tag.Password)) == ("gw", "secret")
        assert gateway.send("D", [(Tag.ClOrdID, "c-1")]) == 2
        venue.send("8", [(Tag.ClOrdID, "c-1"), (Tag.ExecType, "0")])
        eventually(lambda: len(venue_app.messages) == 1 and len(gateway_app.messages) == 1)
        assert venue_app.messages[0].get(Tag.ClOrdID) == "c-1"
        assert gateway_app.messages[0].get(Tag.ExecType) == "0"
        # Losing ownership logs out from the session's own thread (a Logout started from
        # another thread: test_the_answer_to_our_logout_is_not_taken_for_theirs).
        owner.clear()
        eventually(lambda: len(venue_app.logouts) == 1 and len(gateway_app.logouts) == 1)
    finally:
        initiator.stop()
        acceptor.stop()
    leaving = "this process no longer owns the session"
    assert gateway_app.logouts == [leaving]
    assert venue_app.logouts == [f"the counterparty logged out: {leaving}"]
    assert initiator.connects == 1  # not dialled again without ownership
    # Logon, order, Logout each way: both stores agree that 4 comes next.
    for store in (gateway.store, venue.store):
        assert (store.load().next_out, store.load().next_in) == (4, 4)
    # Only application messages are journaled for a resend.
    assert [seq for seq, _ in gateway.store.sent(1, None)] == [2]


# -- logon ----------------------------------------------------------------------------------------


def test_a_logon_is_answered_in_kind(connect: Connect) -> None:
    link = connect(heartbeat=45)
    reply = dict(link.logon(interval="20").pairs)
    assert reply[Tag.SenderCompID] == ME and reply[Tag.TargetCompID] == THEM
    # The initiator's interval, not the acceptor's own setting, is repeated and kept.
    assert reply[Tag.MsgSeqNum] == "1" and reply[Tag.HeartBtInt] == "20"
    assert reply[Tag.BeginString] == BEGIN_STRING
    assert link.numbers() == (2, 2)
    link.clock.advance(20)
    assert link.peer.expect("0").seq() == 2


def test_a_logon_numbered_too_low_is_refused_before_it_is_answered(
    connect: Connect, database: Database
) -> None:
    earlier = SessionLog(database, SessionSettings(ME, THEM).session_id)
    earlier.load()
    earlier.set_next_in(5)  # the counterparty already sent 1 to 4 in this session
    link = connect()
    link.peer.send("A", LOGON, seq=2)
    assert link.peer.until_closed() == ["5"]  # no Logon back
    assert link.reason() == "MsgSeqNum too low, expecting 5 but received 2"
    assert link.app.logons == 0 and link.app.seen_logons == []
    assert not link.session.logged_on.is_set()


def test_a_second_logon_in_a_session_is_rejected_and_not_reported(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("A", LOGON)
    reject = link.peer.expect("3")
    assert (reject.get(Tag.RefSeqNum), reject.get(Tag.Text)) == ("2", "already logged on")
    eventually(lambda: link.numbers() == (3, 3))  # its number is used up
    assert link.app.logons == 1 and link.session.state == "active"
    assert link.peer.types() == ["A", "3"]


def test_a_first_message_other_than_a_logon_ends_the_connection(connect: Connect) -> None:
    link = connect()
    link.peer.send("0")
    logout = link.peer.expect("5")
    assert logout.get(Tag.Text) == "the first message must be a Logon, not '0'"
    assert link.peer.until_closed() == ["5"]
    assert link.reason() == "the first message must be a Logon, not '0'"
    assert link.app.logons == 0
    assert link.numbers() == (2, 1)  # the heartbeat did not count


def test_a_logon_refused_by_authenticate_is_answered_with_a_logout(connect: Connect) -> None:
    link = connect(app=Recorder(refuse="unknown user"))
    link.peer.send("A", [*LOGON, (Tag.Username, "mallory")])
    assert link.peer.until_closed() == ["5"]  # no Logon back
    assert link.peer.inbox[0].get(Tag.Text) == "unknown user"
    assert link.reason() == "unknown user"
    assert [m.get(Tag.Username) for m in link.app.seen_logons] == ["mallory"]
    assert link.app.logons == 0 and not link.session.logged_on.is_set()


@pytest.mark.parametrize("interval", [None, "-5", "soon"])
def test_a_logon_without_a_valid_heartbeat_interval_is_refused(
    connect: Connect, interval: str | None
) -> None:
    link = connect()
    body = [(Tag.EncryptMethod, "0")] + ([] if interval is None else [(Tag.HeartBtInt, interval)])
    link.peer.send("A", body)
    assert link.peer.until_closed() == ["5"]
    assert link.reason() == "HeartBtInt missing or invalid"
    assert link.app.seen_logons == []  # refused before anyone was asked


def test_no_logon_within_the_timeout_drops_the_connection(connect: Connect) -> None:
    link = connect(logon_timeout=10.0)
    link.clock.advance(10.5)
    assert link.peer.until_closed() == []
    assert link.reason() == "no Logon within the logon timeout"


@pytest.mark.parametrize(("text", "shown"), [("not today", "not today"), (None, "no reason given")])
def test_the_initiator_reports_a_refused_logon_with_the_counterpartys_text(
    connect: Connect, text: str | None, shown: str
) -> None:
    link = connect(initiate=True, username="gw", password="secret", heartbeat=20)
    logon = dict(link.peer.expect("A").pairs)
    sent = [Tag.Username, Tag.Password, Tag.HeartBtInt, Tag.ResetSeqNumFlag]
    assert [logon.get(tag) for tag in sent] == ["gw", "secret", "20", None]
    link.peer.send("5", [] if text is None else [(Tag.Text, text)])
    assert link.peer.until_closed() == ["A"]  # the refusal is not answered
    assert link.reason() == f"the counterparty refused the logon: {shown}"
    assert link.app.logons == 0


def test_an_initiator_resetting_on_logon_starts_both_numbers_from_one(connect: Connect) -> None:
    link = connect(initiate=True, reset_on_logon=True)
    logon = link.peer.expect("A")
    assert logon.get(Tag.ResetSeqNumFlag) == "Y" and logon.seq() == 1
    link.peer.send("A", [*LOGON, (Tag.ResetSeqNumFlag, "Y")])
    eventually(lambda: link.session.state == "active" and link.numbers() == (2, 2))


def test_a_logon_with_reset_clears_the_numbers_and_the_journal(
    connect: Connect, database: Database
) -> None:
    stale = SessionLog(database, SessionSettings(ME, THEM).session_id)
    stale.load()  # creates the session's row: numbers are only updated on an existing one
    stale.record_sent(6, b"an order of the old sequence")
    stale.set_next_in(9)
    assert (stale.load().next_out, stale.load().next_in) == (7, 9)
    link = connect()
    reply = link.logon((Tag.ResetSeqNumFlag, "Y"))
    assert reply.get(Tag.ResetSeqNumFlag) == "Y" and reply.seq() == 1
    assert link.numbers() == (2, 2)
    assert link.store.sent(1, None) == []


def test_a_logon_with_reset_in_the_middle_of_a_session_is_confirmed(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("0")
    link.peer.send("0")
    eventually(lambda: link.session.next_in == 4)
    link.peer.send("A", [*LOGON, (Tag.ResetSeqNumFlag, "Y")], seq=1)
    confirm = link.peer.expect("A")
    assert confirm.get(Tag.ResetSeqNumFlag) == "Y" and confirm.seq() == 1
    eventually(lambda: link.numbers() == (2, 2))
    assert link.session.state == "active"


# -- hostile headers --------------------------------------------------------------------------


@pytest.mark.parametrize("seq", [None, "abc", "-3"])
def test_a_message_without_a_usable_msgseqnum_ends_the_session(
    connect: Connect, seq: str | None
) -> None:
    link = connect()
    link.logon()
    link.peer.sock.sendall(link.peer.frame("0", seq))
    logout = link.peer.expect("5")
    assert logout.get(Tag.Text) == "MsgSeqNum missing or not a number"
    link.peer.until_closed()
    assert link.reason() == "MsgSeqNum missing or not a number"
    assert link.numbers() == (3, 2)  # nothing consumed


@pytest.mark.parametrize(("sender", "target"), [("MALLORY", ME), (THEM, "SOMEONE_ELSE")])
def test_foreign_comp_ids_are_rejected_and_end_the_session(
    connect: Connect, sender: str, target: str
) -> None:
    link = connect()
    link.logon()
    link.peer.send("0", sender=sender, target=target)
    reject = dict(link.peer.expect("3").pairs)
    assert reject[Tag.SessionRejectReason] == "9"  # CompID problem
    assert (reject[Tag.RefSeqNum], reject[Tag.RefMsgType]) == ("2", "0")
    assert link.peer.expect("5").get(Tag.Text) == "CompID problem"
    link.peer.until_closed()
    assert link.reason() == "CompID problem"
    assert link.numbers() == (4, 2)


def test_another_begin_string_is_refused_before_the_logon_is_considered(connect: Connect) -> None:
    link = connect()
    link.peer.send("A", LOGON, begin="FIX.4.2")
    assert link.peer.until_closed() == ["5"]
    [logout] = link.peer.inbox
    assert logout.get(Tag.Text) == "BeginString 'FIX.4.2' is not expected"
    assert logout.get(Tag.BeginString) == BEGIN_STRING
    assert link.reason() == "BeginString 'FIX.4.2' is not expected"
    assert link.app.seen_logons == []


# -- garbled frames --------------------------------------------------------------------------


def _reframe(raw: bytes, length_delta: int = 0, checksum_delta: int = 0) -> bytes:
    """``raw`` with its BodyLength and CheckSum changed (each recomputed, then moved)."""
    head, _, rest = raw.partition(b"\x019=")
    length, _, body = rest.partition(b"\x01")
    body = body[: body.rindex(b"10=")]
    start = head + b"\x019=" + str(int(length) + length_delta).encode() + b"\x01" + body
    return start + b"10=%03d\x01" % ((checksum(start) + checksum_delta) % 256)


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "checksum": lambda raw: _reframe(raw, checksum_delta=1),
    "body length short": lambda raw: _reframe(raw, length_delta=-4),
    "body length long": lambda raw: _reframe(raw, length_delta=3),
    "noise first": lambda raw: b"garbage\x01" + raw[:20],
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_garbled_frame_is_ignored_without_consuming_a_number(
    connect: Connect, corrupt: Callable[[bytes], bytes]
) -> None:
    link = connect()
    link.logon()
    assert _reframe(link.peer.frame("8", 2)) == link.peer.frame("8", 2)  # the helper is exact
    link.peer.sock.sendall(corrupt(link.peer.frame("8", 2, [(Tag.ClOrdID, "garbled")])))
    # The same number again, intact: in sequence, so the garbled one used up nothing.
    link.peer.send("8", [(Tag.ClOrdID, "intact")], seq=2)
    link.peer.send("1", [(Tag.TestReqID, "after")])
    assert link.peer.expect("0").get(Tag.TestReqID) == "after"
    assert [m.get(Tag.ClOrdID) for m in link.app.messages] == ["intact"]
    assert link.peer.types() == ["A", "0"]  # no ResendRequest, no Reject, no Logout
    eventually(lambda: link.session.next_in == 4)  # counted just after the answer went out
    assert link.session.state == "active"


# -- numbers ------------------------------------------------------------------------------------


def test_a_test_request_is_answered_with_its_test_req_id(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("1", [(Tag.TestReqID, "ping-7")])
    heartbeat = link.peer.expect("0")
    assert heartbeat.get(Tag.TestReqID) == "ping-7" and heartbeat.seq() == 2
    # A TestRequest's number is stored lazily, at the next timer tick.
    eventually(lambda: link.numbers() == (3, 3))


def test_a_possdup_duplicate_is_dropped(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("8", [(Tag.ClOrdID, "first")])
    again = [(Tag.PossDupFlag, "Y"), (Tag.OrigSendingTime, SENDING_TIME)]
    link.peer.send("8", [(Tag.ClOrdID, "repeat")], seq=2, header=again)
    link.peer.send("1", [(Tag.TestReqID, "sync")])  # answered only after the duplicate
    link.peer.expect("0")
    assert [m.get(Tag.ClOrdID) for m in link.app.messages] == ["first"]
    eventually(lambda: link.numbers() == (3, 4))  # the TestRequest is stored lazily
    assert link.session.state == "active"


def test_a_number_too_low_without_possdup_ends_the_session(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("8", [(Tag.ClOrdID, "first")])
    link.peer.send("8", [(Tag.ClOrdID, "replayed")], seq=2)
    text = "MsgSeqNum too low, expecting 3 but received 2"
    assert link.peer.expect("5").get(Tag.Text) == text
    link.peer.until_closed()
    assert link.reason() == text
    assert [m.get(Tag.ClOrdID) for m in link.app.messages] == ["first"]
    assert link.numbers() == (3, 3)


def test_a_gap_is_asked_for_once_and_held_messages_follow_in_order(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("8", [(Tag.ClOrdID, "four")], seq=4)
    request = dict(link.peer.expect("2").pairs)
    assert (request[Tag.BeginSeqNo], request[Tag.EndSeqNo]) == ("2", "0")
    link.peer.send("8", [(Tag.ClOrdID, "three")], seq=3)  # still in the gap: no second request
    fill = [(Tag.GapFillFlag, "Y"), (Tag.NewSeqNo, "3")]
    link.peer.send("4", fill, seq=2, header=[(Tag.PossDupFlag, "Y")])
    eventually(lambda: link.numbers() == (3, 5))
    assert [m.get(Tag.ClOrdID) for m in link.app.messages] == ["three", "four"]
    assert link.peer.types().count("2") == 1
    # The gap is closed: a new one is asked for again.
    link.peer.send("0", seq=7)
    assert link.peer.expect("2").get(Tag.BeginSeqNo) == "5"


def test_a_gap_fill_that_goes_backwards_is_rejected(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("4", [(Tag.GapFillFlag, "Y"), (Tag.NewSeqNo, "2")], seq=2)
    reject = dict(link.peer.expect("3").pairs)
    assert reject[Tag.SessionRejectReason] == "5" and reject[Tag.RefSeqNum] == "2"
    assert reject[Tag.Text] == "NewSeqNo must be above MsgSeqNum"
    eventually(lambda: link.numbers() == (3, 3))  # its own number is used up


def test_a_sequence_reset_moves_the_expected_number_either_way_up(connect: Connect) -> None:
    link = connect()
    link.logon()
    # Reset mode (no GapFillFlag): MsgSeqNum does not matter, NewSeqNo is the next number.
    link.peer.send("4", [(Tag.NewSeqNo, "10")], seq=2)
    eventually(lambda: link.numbers() == (2, 10))
    link.peer.send("1", [(Tag.TestReqID, "after reset")], seq=10)
    assert link.peer.expect("0").get(Tag.TestReqID) == "after reset"
    assert "2" not in link.peer.types()  # numbers 2 to 9 are not missing
    link.peer.send("4", [(Tag.NewSeqNo, "5")], seq=11)
    backwards = dict(link.peer.expect("3").pairs)
    assert backwards[Tag.SessionRejectReason] == "5"
    assert backwards[Tag.Text] == "NewSeqNo 5 is below the expected 11"
    link.peer.send("4", [], seq=11)
    missing = dict(link.peer.expect("3").pairs)
    assert (missing[Tag.SessionRejectReason], missing[Tag.Text]) == ("1", "NewSeqNo missing")
    assert link.session.state == "active" and link.session.next_in == 11


def test_a_sequence_reset_past_a_held_message_skips_it(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("8", [(Tag.ClOrdID, "held")], seq=5)
    link.peer.expect("2")
    link.peer.send("4", [(Tag.NewSeqNo, "6")], seq=2)
    link.peer.send("8", [(Tag.ClOrdID, "six")], seq=6)
    eventually(lambda: link.session.next_in == 7)
    assert [m.get(Tag.ClOrdID) for m in link.app.messages] == ["six"]


def test_a_sequence_reset_onto_a_held_message_delivers_it(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("8", [(Tag.ClOrdID, "five")], seq=5)
    link.peer.expect("2")
    # The counterparty answers the ResendRequest by skipping to the number already held.
    link.peer.send("4", [(Tag.NewSeqNo, "5")], seq=2)
    link.peer.send("8", [(Tag.ClOrdID, "six")], seq=6)
    eventually(lambda: link.session.next_in == 7, timeout=2.0)
    assert [m.get(Tag.ClOrdID) for m in link.app.messages] == ["five", "six"]


# -- resends and rejects ---------------------------------------------------------------------------


def test_a_resend_request_repeats_orders_and_gap_fills_the_rest(connect: Connect) -> None:
    link = connect()
    link.logon()
    sent = [
        link.session.send("D", [(Tag.ClOrdID, "a")]),
        link.session.send("8", [(Tag.ClOrdID, "declined")]),  # the app does not resend 8
        link.session.send("D", [(Tag.ClOrdID, "b")]),
    ]
    assert sent == [2, 3, 4]
    originals = [link.peer.expect(t) for t in ("D", "8", "D")]
    link.peer.send("2", [(Tag.BeginSeqNo, "1"), (Tag.EndSeqNo, "0")])
    answer = [link.peer.expect(t) for t in ("4", "D", "4", "D")]
    assert [m.seq() for m in answer] == [1, 2, 3, 4]
    assert [m.get(Tag.NewSeqNo) for m in answer] == ["2", None, "4", None]
    assert all(m.flag(Tag.PossDupFlag) for m in answer)
    assert all(m.flag(Tag.GapFillFlag) for m in answer[::2])
    assert [m.get(Tag.ClOrdID) for m in answer[1::2]] == ["a", "b"]
    assert [m.get(Tag.OrigSendingTime) for m in answer[1::2]] == [
        originals[0].get(Tag.SendingTime),
        originals[2].get(Tag.SendingTime),
    ]
    # A range ending on a declined message ends with a gap fill past it.
    link.peer.send("2", [(Tag.BeginSeqNo, "3"), (Tag.EndSeqNo, "3")])
    tail = link.peer.expect("4")
    assert (tail.seq(), tail.get(Tag.NewSeqNo)) == (3, "4")
    # A range beyond what was sent is answered with nothing.
    link.peer.send("2", [(Tag.BeginSeqNo, "9"), (Tag.EndSeqNo, "0")])
    link.peer.send("1", [(Tag.TestReqID, "sync")])
    assert link.peer.expect("0").seq() == 5  # resends reused their numbers: 5 is next
    assert link.peer.types()[-2:] == ["4", "0"]
    assert link.numbers()[0] == 6


def test_rejects_reach_the_application_with_the_message_they_refer_to(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.session.send("D", [(Tag.ClOrdID, "refused")])
    link.peer.send("3", [(Tag.RefSeqNum, "2"), (Tag.Text, "tag 99 not allowed")])
    link.peer.send("j", [(Tag.RefSeqNum, "77"), (Tag.BusinessRejectReason, "3")])
    eventually(lambda: len(link.app.rejected) == 2 and len(link.app.messages) == 1)
    (sent, text), (unknown, default) = link.app.rejected
    assert sent is not None and sent.get(Tag.ClOrdID) == "refused" and text == "tag 99 not allowed"
    assert unknown is None and default == "rejected"  # 77 was never sent
    assert [m.type for m in link.app.messages] == ["j"]  # a business reject is also a message


def test_failing_handlers_do_not_end_the_session(connect: Connect) -> None:
    # on_logon, on_message and on_rejected all raise: each is logged, the session goes on.
    link = connect(app=Recorder(fail=True))
    link.logon()
    link.peer.send("8", [(Tag.ClOrdID, "boom")])
    link.peer.send("3", [(Tag.RefSeqNum, "1"), (Tag.Text, "boom too")])
    link.peer.send("1", [(Tag.TestReqID, "still there")])
    assert link.peer.expect("0").get(Tag.TestReqID) == "still there"
    eventually(lambda: link.numbers()[1] == 5)  # the failed messages count as seen
    assert len(link.app.messages) == 1 and len(link.app.rejected) == 1
    assert link.session.state == "active"


def test_the_application_can_reject_a_message_at_session_level(connect: Connect) -> None:
    link = connect()
    link.logon()
    link.peer.send("8", [(Tag.ClOrdID, "odd")])
    eventually(lambda: len(link.app.messages) == 1)
    why = "MsgType not supported here"
    link.session.reject(link.app.messages[0], 11, why)
    reject = dict(link.peer.expect("3").pairs)
    assert (reject[Tag.RefSeqNum], reject[Tag.RefMsgType], reject[Tag.Text]) == ("2", "8", why)
    assert reject[Tag.SessionRejectReason] == "11"


def test_an_unreadable_journal_entry_is_gap_filled_and_rejected_without_it(
    connect: Connect, database: Database
) -> None:
    # A journal row that is not a FIX frame (a damaged store) must not stop a resend.
    damaged = SessionLog(database, SessionSettings(ME, THEM).session_id)
    damaged.load()  # creates the session's row: numbers are only updated on an existing one
    damaged.record_sent(1, b"not a frame")
    link = connect()
    assert link.logon().seq() == 2
    link.peer.send("2", [(Tag.BeginSeqNo, "1"), (Tag.EndSeqNo, "1")])
    fill = link.peer.expect("4")
    assert (fill.seq(), fill.get(Tag.NewSeqNo), fill.get(Tag.GapFillFlag)) == (1, "2", "Y")
    link.peer.send("3", [(Tag.RefSeqNum, "1"), (Tag.Text, "what was that")])
    eventually(lambda: link.app.rejected == [(None, "what was that")])


def test_a_failed_write_ends_the_connection_but_keeps_the_message(connect: Connect) -> None:
    link = connect()
    link.logon()
    # The counterparty stops reading (the link half broke): our next write fails.
    link.peer.sock.shutdown(socket.SHUT_RD)
    assert link.session.send("D", [(Tag.ClOrdID, "in flight")]) == 2
    assert link.reason() == "the connection failed while sending"
    # Journaled before the write: a resend after the reconnect finds it.
    assert [seq for seq, _ in link.store.sent(1, None)] == [2]
    assert link.numbers() == (3, 2)


# -- logout and timers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "text", "reason", "next_in"),
    [
        (2, "end of day", "the counterparty logged out: end of day", 3),
        (9, None, "the counterparty logged out", 2),  # beyond a gap: no ResendRequest first
    ],
)
def test_a_logout_is_answered_and_reported_with_its_text(
    connect: Connect, seq: int, text: str | None, reason: str, next_in: int
) -> None:
    link = connect()
    link.logon()
    link.peer.send("5", [] if text is None else [(Tag.Text, text)], seq=seq)
    answer = link.peer.expect("5")
    assert answer.get(Tag.Text) is None and answer.seq() == 2
    assert link.peer.until_closed() == ["A", "5"]
    assert link.reason() == reason
    assert link.numbers() == (3, next_in)


@pytest.mark.parametrize("answered", [True, False])
def test_leaving_the_session_sends_the_reason_and_waits_for_the_answer(
    connect: Connect, answered: bool
) -> None:
    link = connect(logout_timeout=2.0)
    link.logon()
    link.session.keep = lambda: "the session's scheduled time is over"
    logout = link.peer.expect("5")
    assert logout.get(Tag.Text) == "the session's scheduled time is over"
    eventually(lambda: link.session.state == "logging_out")  # set just after the send
    with pytest.raises(NotLoggedOn):
        link.session.send("D", [(Tag.ClOrdID, "too late")])
    if answered:
        link.peer.send("5")
    else:
        link.clock.advance(2.5)  # the logout timeout, on the session's clock
    link.peer.until_closed()
    assert link.reason() == "the session's scheduled time is over"
    assert link.peer.types().count("5") == 1  # their answer is not answered again


def test_logout_closes_the_link_itself_when_no_answer_comes(connect: Connect) -> None:
    link = connect(logout_timeout=0.3)
    link.logon()
    link.session.logout("maintenance")  # waits on the real clock, 0.3 s
    assert link.peer.expect("5").get(Tag.Text) == "maintenance"
    link.peer.until_closed()
    assert link.reason() == "maintenance"


class HeldClock(FakeClock):
    """Holds ``hold`` at the reading ``_write`` takes just after a write, until ``reader`` blocks.

    There the Logout is on the wire and ``logout()`` still has the send lock: the reader thread
    reads the answer and blocks on that lock, in ``_send_admin`` (answering it as their Logout)
    or in ``_disconnect`` (taking it as the answer). Either way the race is decided, every time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.hold: threading.Thread | None = None
        self.reader: threading.Thread | None = None

    def __call__(self) -> float:
        if threading.current_thread() is self.hold and sys._getframe(1).f_code.co_name == "_write":
            self.hold = None  # the first write only: the Logout
            deadline = time.monotonic() + WAIT  # bounded; a miss shows in the assertions
            ident = self.reader.ident if self.reader is not None else None
            while time.monotonic() < deadline:
                frame = sys._current_frames().get(ident or 0)
                if frame is not None and frame.f_code.co_name in ("_send_admin", "_disconnect"):
                    break
                time.sleep(0.005)
        return self.now


def test_the_answer_to_our_logout_is_not_taken_for_theirs(connect: Connect) -> None:
    clock = HeldClock()
    link = connect(clock=clock)
    link.logon()
    leaving = threading.Thread(target=link.session.logout, args=("maintenance",), daemon=True)
    clock.hold, clock.reader = leaving, link.session.thread
    leaving.start()
    assert link.peer.expect("5").get(Tag.Text) == "maintenance"
    link.peer.send("5")  # the answer, read while logout() still holds the send lock
    leaving.join(WAIT)
    link.peer.until_closed()
    assert link.peer.types().count("5") == 1  # their answer is not answered again
    assert link.reason() == "maintenance"


def test_a_heartbeat_interval_of_zero_turns_the_timers_off(connect: Connect) -> None:
    link = connect(heartbeat=30)
    link.logon(interval="0")
    link.clock.advance(3600)
    link.peer.send("1", [(Tag.TestReqID, "sync")])  # answered after at least one tick
    link.peer.expect("0")
    eventually(lambda: link.numbers()[1] == 3)  # stored at a tick: the tick ran
    assert link.peer.types() == ["A", "0"] and link.session.state == "active"


def test_heartbeats_and_test_requests_follow_the_clock(connect: Connect) -> None:
    link = connect(heartbeat=30)
    link.logon()
    link.clock.advance(30)  # nothing sent for an interval: a Heartbeat
    assert link.peer.expect("0").get(Tag.TestReqID) is None
    link.clock.advance(6)  # nothing received for 1.2 intervals: a TestRequest
    test_id = link.peer.expect("1").get(Tag.TestReqID)
    assert test_id is not None and test_id.startswith("TEST-")
    link.peer.send("0", [(Tag.TestReqID, test_id)])
    eventually(lambda: link.session.next_in == 3)
    # Answered: another interval passes with a Heartbeat, not a disconnect.
    link.clock.advance(30)
    link.peer.expect("0")
    link.peer.send("1", [(Tag.TestReqID, "alive?")])
    assert link.peer.expect("0").get(Tag.TestReqID) == "alive?"
    # Now silent: a TestRequest, then one more interval without an answer ends the link.
    link.clock.advance(36)
    link.peer.expect("1")
    link.clock.advance(30)
    link.peer.until_closed()
    assert link.reason() == "the counterparty did not answer a TestRequest"
