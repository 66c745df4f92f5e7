"""A test's end of a FIX session: the counterparty that sends what a real engine never would.

:class:`Peer` writes hand-encoded frames on one end of a socket pair and parses what the
session answers; :class:`Recorder` is the session's application, recording every callback;
:class:`Link` is one running session with both. Used by tests/test_fix_session.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.fix._session import Session
from connectors.fix._wire import BEGIN_STRING, Framer, Garbled, Message, Tag, encode
from gateway.store.session_log import SessionLog
from tests.conftest import FakeClock

ME, THEM = "GATEWAY", "BROKER"
WAIT = 10.0  # the longest any condition is waited for: reaching it is a failure
SENDING_TIME = "20270115-08:00:00.000"
LOGON = [(Tag.EncryptMethod, "0"), (Tag.HeartBtInt, "30")]
Fields = Sequence[tuple[int, str]]


def eventually(check: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll until ``check`` holds: the session answers on its own thread."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@dataclass
class Recorder:
    """The Application: records every callback; refuses logons or resends when told to."""

    refuse: str | None = None
    resend_types: frozenset[str] = frozenset({"D"})
    fail: bool = False
    logons: int = 0
    logouts: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    rejected: list[tuple[Message | None, str]] = field(default_factory=list)
    seen_logons: list[Message] = field(default_factory=list)

    def on_logon(self, session: Session) -> None:
        self.logons += 1
        self._maybe_fail()

    def on_logout(self, session: Session, reason: str) -> None:
        self.logouts.append(reason)

    def on_message(self, session: Session, message: Message) -> None:
        self.messages.append(message)
        self._maybe_fail()

    def on_rejected(self, session: Session, sent: Message | None, text: str) -> None:
        self.rejected.append((sent, text))
        self._maybe_fail()

    def _maybe_fail(self) -> None:
        if self.fail:
            raise RuntimeError("a handler's bug")

    def resend(self, message: Message) -> bool:
        return message.type in self.resend_types

    def authenticate(self, logon: Message) -> str | None:
        self.seen_logons.append(logon)
        return self.refuse


class Peer:
    """The counterparty's end of the socket pair, writing hand-encoded frames."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(0.05)
        self.framer = Framer()
        self.inbox: list[Message] = []
        self.cursor = 0  # expect() never matches a message before the last one it returned
        self.next_seq = 1
        self.closed = False

    def frame(
        self,
        msg_type: str,
        seq: int | str | None,
        body: Fields = (),
        *,
        sender: str = THEM,
        target: str = ME,
        begin: str = BEGIN_STRING,
        header: Fields = (),
    ) -> bytes:
        fields = [(Tag.MsgType, msg_type), (Tag.SenderCompID, sender), (Tag.TargetCompID, target)]
        if seq is not None:
            fields.append((Tag.MsgSeqNum, str(seq)))
        fields += [(Tag.SendingTime, SENDING_TIME), *header]
        return encode(fields, body, begin)

    def send(self, msg_type: str, body: Fields = (), seq: int | None = None, **kw: Any) -> int:
        """Send a frame numbered ``seq`` (default: the peer's own next number)."""
        number = self.next_seq if seq is None else seq
        self.next_seq = max(self.next_seq, number + 1)
        self.sock.sendall(self.frame(msg_type, number, body, **kw))
        return number

    def _read(self) -> None:
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return
        if data == b"":
            self.closed = True
            return
        self.framer.feed(data)
        for item in self.framer.messages():
            assert not isinstance(item, Garbled), item  # the session never sends garbage
            self.inbox.append(item)

    def expect(self, msg_type: str) -> Message:
        """The next message of ``msg_type`` the session sends (waited for)."""
        deadline = time.monotonic() + WAIT
        while True:
            for index in range(self.cursor, len(self.inbox)):
                if self.inbox[index].type == msg_type:
                    self.cursor = index + 1
                    return self.inbox[index]
            if self.closed or time.monotonic() > deadline:
                raise AssertionError(f"no {msg_type!r} came: {[m.type for m in self.inbox]}")
            self._read()

    def until_closed(self) -> list[str]:
        """Wait for the session to drop the link; the types of everything it sent."""
        deadline = time.monotonic() + WAIT
        while not self.closed:
            assert time.monotonic() < deadline, "the session kept the connection open"
            self._read()
        return [m.type for m in self.inbox]

    def types(self) -> list[str]:  # what came so far (anything sent earlier is in by now)
        self._read()
        return [m.type for m in self.inbox]


@dataclass
class Link:
    """A running session, its application, its store and the test's end of the link."""

    session: Session
    app: Recorder
    store: SessionLog
    clock: FakeClock
    peer: Peer
    thread: threading.Thread
    result: list[str]

    def reason(self) -> str:
        """Why the connection ended, as run() returned it (waited for)."""
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the session is still running"
        [reason] = self.result
        assert self.app.logouts == [reason]  # the application is told the same reason
        assert self.session.state == "disconnected"
        return reason

    def logon(self, *body: tuple[int, str], interval: str = "30") -> Message:
        """Log on as the counterparty of an acceptor; the Logon it answers with."""
        self.peer.send("A", [(Tag.EncryptMethod, "0"), (Tag.HeartBtInt, interval), *body])
        reply = self.peer.expect("A")
        # The state turns active before the application is told and the number is stored.
        eventually(lambda: self.app.logons == 1 and self.numbers()[1] == 2)
        assert self.session.state == "active" and self.session.logged_on.is_set()
        return reply

    def numbers(self) -> tuple[int, int]:  # (next out, next in) as stored
        stored = self.store.load()
        return stored.next_out, stored.next_in


Connect = Callable[..., Link]
