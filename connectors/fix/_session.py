"""The FIX 4.4 session layer: logon, heartbeats, sequence numbers, resends, logout.

One :class:`Session` is one pair of comp ids. Its numbers and sent messages live in a
:class:`~gateway.store.session_log.SessionLog`, so a restarted process resumes the sequence. The
same class serves both roles: the gateway's connector is the initiator, the venue simulator the
acceptor.

Threads: :meth:`Session.run` is the connection's thread. It reads, handles session messages,
calls the application for the others, and keeps the heartbeat timers. :meth:`Session.send` may
be called from any thread. ``_send_lock`` numbers, journals and writes each outgoing message
in one step, so numbers go out in order and a resend cannot interleave with new messages.

Rules followed (FIX 4.4 Volume 2, "Session Protocol"):

* a message with a number above the expected one is kept back, and a ResendRequest asks for
  the gap; what was kept is handled once the gap is filled, in sequence;
* a number below the expected one is a duplicate when PossDupFlag is set (dropped), else a
  fatal error (Logout, disconnect);
* a resend repeats application messages with PossDupFlag and OrigSendingTime, and replaces
  session messages (and anything the application declines) by SequenceReset-GapFill;
* a garbled message (length, checksum) is ignored without consuming a number;
* the incoming number is stored *after* the application handled the message: a crash in
  between brings the message back (the application must be idempotent), never loses it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from connectors.fix._wire import (
    ADMIN_TYPES,
    BEGIN_STRING,
    Framer,
    Garbled,
    Message,
    Tag,
    encode,
    timestamp,
)
from connectors.fix._wire import parse as parse_frame
from gateway.cooperative import pause
from gateway.store.session_log import SessionLog

log = logging.getLogger("gateway.connectors.fix")

Body = Sequence[tuple[int, str | int | float]]
State = Literal["disconnected", "logging_on", "active", "logging_out"]
_LIGHT = frozenset({"0", "1", "W", "X", "Y"})
"""Messages whose incoming number is stored lazily (see ``_save_in``)."""
TICK = 0.2
"""Seconds between timer checks while the link is idle."""


class NotLoggedOn(Exception):  # noqa: N818 - names the state
    """The session cannot send application messages now."""


@dataclass(frozen=True)
class SessionSettings:
    """What identifies a session and how it behaves."""

    sender_comp_id: str
    target_comp_id: str
    heartbeat: int = 30
    username: str | None = None
    password: str | None = None
    reset_on_logon: bool = False
    logon_timeout: float = 10.0
    logout_timeout: float = 2.0
    begin_string: str = BEGIN_STRING

    @property
    def session_id(self) -> str:
        """The store's key: BeginString and both comp ids."""
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"


class Application(Protocol):
    """What a session tells its owner."""

    def on_logon(self, session: Session) -> None:
        """The session is active (after our Logon was answered, or theirs accepted)."""

    def on_logout(self, session: Session, reason: str) -> None:
        """The session ended or the link dropped."""

    def on_message(self, session: Session, message: Message) -> None:
        """An application message, in sequence (possibly a PossDup resend: be idempotent)."""

    def on_rejected(self, session: Session, sent: Message | None, text: str) -> None:
        """The counterparty refused a message we sent (session Reject or Business Reject)."""

    def resend(self, message: Message) -> bool:
        """Whether to repeat a sent application message on request (else it is gap-filled)."""

    def authenticate(self, logon: Message) -> str | None:
        """Acceptor side: None to accept a Logon, else the reason to refuse it."""


class Session:
    """One FIX session over successive connections."""

    def __init__(
        self,
        settings: SessionSettings,
        store: SessionLog,
        app: Application,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Nothing is read from the store before the first connection."""
        self.settings = settings
        self.store = store
        self.app = app
        self.clock = clock
        self.state: State = "disconnected"
        self._send_lock = threading.RLock()
        self._sock: socket.socket | None = None
        self._next_out = 1
        self._next_in = 1
        self._held: dict[int, Message] = {}
        self._resend_until = 0  # a gap was asked for up to here (0: none pending)
        self._last_sent = 0.0
        self._last_received = 0.0
        self._test_sent: float | None = None
        self._connected_at = 0.0
        self._logout_sent: float | None = None
        self._closing = False
        self._close_reason = ""
        self._initiator = False
        self._unsaved_in = False
        self._heartbeat = settings.heartbeat
        """Seconds between heartbeats on this connection (an acceptor takes the initiator's)."""
        self.thread: threading.Thread | None = None
        self.logged_on = threading.Event()
        self.keep: Callable[[], str | None] = lambda: None
        """Checked at every timer tick: a reason here logs the session out (its schedule
        ended, the process lost ownership, it is stopping)."""

    # -- numbers --------------------------------------------------------------------------

    @property
    def next_out(self) -> int:
        """The number the next outgoing message gets."""
        return self._next_out

    @property
    def next_in(self) -> int:
        """The number expected from the counterparty next."""
        return self._next_in

    def load(self) -> None:
        """Read the numbers from the store.

        Done at each connection: another process may have owned the session in between.
        """
        numbers = self.store.load()
        self._next_out, self._next_in = numbers.next_out, numbers.next_in

    # -- the connection ---------------------------------------------------------------------

    def run(self, sock: socket.socket, initiate: bool) -> str:
        """Serve one connection until it ends; returns why it ended."""
        self.load()
        self.thread = threading.current_thread()
        self._sock = sock
        self._closing = False
        self._close_reason = ""
        self._initiator = initiate
        self._heartbeat = self.settings.heartbeat
        self._held.clear()
        self._resend_until = 0
        self._test_sent = None
        self._logout_sent = None
        now = self.clock()
        self._connected_at = self._last_received = self._last_sent = now
        self.state = "logging_on"
        sock.settimeout(TICK)
        framer = Framer()
        reason = "the connection closed"
        try:
            if initiate:
                self._send_logon(reset=self.settings.reset_on_logon)
            while not self._closing:
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    data = None
                except OSError as exc:
                    reason = f"the connection failed: {exc}"
                    break
                if data == b"":
                    reason = "the counterparty closed the connection"
                    break
                if data:
                    framer.feed(data)
                    for item in framer.messages():
                        if isinstance(item, Garbled):
                            log.warning("%s: garbled message ignored: %s", self.name, item)
                            continue
                        self._last_received = self.clock()
                        self._receive(item)
                        pause()  # a burst of messages must not hold a gevent worker
                        if self._closing:
                            break
                why = self._timers()
                if why is not None:
                    reason = why
                    break
            if self._closing and self._close_reason:
                reason = self._close_reason
        except OSError as exc:
            reason = f"the connection failed: {exc}"
        finally:
            self._disconnect()
            self._save_in()
        self.app.on_logout(self, reason)
        return reason

    @property
    def name(self) -> str:
        """For logs: the session's comp ids."""
        return f"{self.settings.sender_comp_id}->{self.settings.target_comp_id}"

    def _disconnect(self) -> None:
        with self._send_lock:
            self.state = "disconnected"
            self.logged_on.clear()
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self, reason: str) -> None:
        """Drop the connection now (the reader thread finishes and reports ``reason``)."""
        self._close_reason = reason
        self._closing = True
        with self._send_lock:
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def logout(self, text: str = "") -> None:
        """Send Logout, wait for the counterparty's answer (or the timeout), disconnect."""
        self._begin_logout(text)
        deadline = time.monotonic() + self.settings.logout_timeout
        while self._sock is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        if self._sock is not None:
            self.close(text or "logged out")

    def _begin_logout(self, text: str) -> None:
        with self._send_lock:
            if self.state not in ("active", "logging_on"):
                return
            # Noted before the Logout is written: the counterparty's answer may be read on the
            # session's thread before this one returns, and must be taken as the answer.
            self.state = "logging_out"
            self.logged_on.clear()
            self._logout_sent = self.clock()
            self._close_reason = text or "logged out"
            with contextlib.suppress(NotLoggedOn, OSError):
                self._send_admin("5", [(Tag.Text, text)] if text else [])

    # -- sending ------------------------------------------------------------------------------

    def send(self, msg_type: str, body: Body) -> int:
        """Send an application message; returns its number. Raises NotLoggedOn."""
        with self._send_lock:
            if self.state != "active":
                raise NotLoggedOn(self.state)
            return self._send(msg_type, body, journal=True)

    def _send_admin(self, msg_type: str, body: Body) -> int:
        with self._send_lock:
            if self._sock is None:
                raise NotLoggedOn(self.state)
            return self._send(msg_type, body, journal=False)

    def _header(self, msg_type: str, seq: int) -> list[tuple[int, str]]:
        return [
            (Tag.MsgType, msg_type),
            (Tag.SenderCompID, self.settings.sender_comp_id),
            (Tag.TargetCompID, self.settings.target_comp_id),
            (Tag.MsgSeqNum, str(seq)),
            (Tag.SendingTime, timestamp(self.clock())),
        ]

    def _send(self, msg_type: str, body: Body, journal: bool) -> int:
        seq = self._next_out
        raw = encode(self._header(msg_type, seq), body, self.settings.begin_string)
        # Journaled before it is written: whatever the counterparty may ask again is stored.
        self.store.record_sent(seq, raw if journal else None)
        self._next_out = seq + 1
        self._write(raw)
        return seq

    def _write(self, raw: bytes) -> None:
        sock = self._sock
        if sock is None:
            raise NotLoggedOn("disconnected")
        try:
            sock.sendall(raw)
        except OSError:
            # The message is journaled: the counterparty asks for it after the reconnect.
            self.close("the connection failed while sending")
            return
        self._last_sent = self.clock()

    def write_raw(self, raw: bytes) -> None:
        """Put bytes on the wire as they are (tests: garbled and hand-made messages)."""
        with self._send_lock:
            self._write(raw)

    def _send_logon(self, reset: bool) -> None:
        body: list[tuple[int, str | int | float]] = [
            (Tag.EncryptMethod, "0"),
            (Tag.HeartBtInt, str(self._heartbeat)),
        ]
        if reset:
            body.append((Tag.ResetSeqNumFlag, "Y"))
        if self.settings.username:
            body.append((Tag.Username, self.settings.username))
        if self.settings.password:
            body.append((Tag.Password, self.settings.password))
        with self._send_lock:
            if reset:
                self.store.reset(self.store.load().period_start)
                self._next_out = self._next_in = 1
            self._send("A", body, journal=False)

    # -- receiving -----------------------------------------------------------------------------

    def _receive(self, msg: Message) -> None:
        seq = msg.seq()
        if seq is None:
            self._fatal("MsgSeqNum missing or not a number")
            return
        if msg.get(Tag.BeginString) != self.settings.begin_string:
            self._fatal(f"BeginString {msg.get(Tag.BeginString)!r} is not expected")
            return
        if (
            msg.get(Tag.SenderCompID) != self.settings.target_comp_id
            or msg.get(Tag.TargetCompID) != self.settings.sender_comp_id
        ):
            self._reject(msg, 9, "CompID problem")
            self._fatal("CompID problem")
            return
        if self.state == "logging_on" and msg.type == "5" and self._initiator:
            text = msg.get(Tag.Text) or "no reason given"
            self._close_reason = f"the counterparty refused the logon: {text}"
            self._closing = True
            return
        if self.state == "logging_on" and msg.type != "A":
            self._fatal(f"the first message must be a Logon, not {msg.type!r}")
            return
        # A Logon numbered below the expected number is refused (below) before it is answered
        # or taken as a logon, unless it starts the numbers over.
        low_logon = msg.type == "A" and seq < self._next_in and not msg.flag(Tag.ResetSeqNumFlag)
        if msg.type == "A" and not low_logon and not self._logon(msg):
            return
        if msg.type == "4" and not msg.flag(Tag.GapFillFlag):
            self._sequence_reset(msg)
            return
        expected = self._next_in
        if seq > expected:
            if msg.type == "5":
                # Their logout ends the session anyway; the gap does not matter any more.
                self._handle(msg)
                return
            if msg.type != "A":
                self._held[seq] = msg
            if self._resend_until == 0:
                self._ask_resend(expected, seq)
            return
        if seq < expected:
            if msg.flag(Tag.PossDupFlag) or (msg.type == "A" and msg.flag(Tag.ResetSeqNumFlag)):
                return  # a duplicate of what was handled
            self._fatal(f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return
        self._in_sequence(msg)
        self._release_held()

    def _release_held(self) -> None:
        """Handle the messages held back for a gap that is now filled, in order."""
        while self._next_in in self._held and not self._closing:
            self._in_sequence(self._held.pop(self._next_in))
        if self._resend_until and self._next_in > self._resend_until:
            self._resend_until = 0

    def _in_sequence(self, msg: Message) -> None:
        seq = msg.seq() or 0
        if msg.type == "4":  # SequenceReset-GapFill: the numbers up to NewSeqNo are skipped
            new = _int(msg.get(Tag.NewSeqNo))
            if new is None or new <= seq:
                self._reject(msg, 5, "NewSeqNo must be above MsgSeqNum")
                self._advance_in(seq + 1)
                return
            self._advance_in(new)
            return
        self._handle(msg)
        self._advance_in(seq + 1, durable=msg.type not in _LIGHT)

    def _advance_in(self, seq: int, durable: bool = True) -> None:
        if seq > self._next_in:
            self._next_in = seq
            self._unsaved_in = True
        if durable:
            self._save_in()

    def _save_in(self) -> None:
        # Market data and heartbeats are stored lazily (each timer tick): losing the last
        # second of them to a crash costs a resend request, not a lost message.
        if self._unsaved_in:
            self._unsaved_in = False
            self.store.set_next_in(self._next_in)

    def _ask_resend(self, begin: int, seen: int) -> None:
        # One request for everything from the gap on (EndSeqNo 0: up to the newest); no
        # second one while it is being answered.
        self._resend_until = seen
        log.info("%s: gap, asking for %d onwards", self.name, begin)
        self._send_admin("2", [(Tag.BeginSeqNo, str(begin)), (Tag.EndSeqNo, "0")])

    def _handle(self, msg: Message) -> None:
        kind = msg.type
        if kind == "0":
            if self._test_sent is not None and msg.get(Tag.TestReqID) is not None:
                self._test_sent = None
        elif kind == "1":
            self._send_admin("0", [(Tag.TestReqID, msg.get(Tag.TestReqID) or "")])
        elif kind == "2":
            self._resend(msg)
        elif kind == "3":
            self._refused(msg, msg.get(Tag.RefSeqNum), msg.get(Tag.Text) or "rejected")
        elif kind == "5":
            text = msg.get(Tag.Text) or ""
            if self.state != "logging_out":
                with contextlib.suppress(NotLoggedOn):
                    self._send_admin("5", [])
                self._close_reason = f"the counterparty logged out{': ' + text if text else ''}"
            self._closing = True
        elif kind == "A":
            pass  # handled before the sequence check
        elif kind == "j":
            self._refused(msg, msg.get(Tag.RefSeqNum), msg.get(Tag.Text) or "rejected")
            self._application(msg)
        else:
            self._application(msg)

    def _application(self, msg: Message) -> None:
        try:
            self.app.on_message(self, msg)
        except Exception:
            # A handler's bug must not take the session down; the message counts as seen.
            log.exception("%s: handling message %s failed", self.name, msg.seq())

    def _refused(self, msg: Message, ref_seq: str | None, text: str) -> None:
        sent: Message | None = None
        ref = _int(ref_seq)
        if ref is not None:
            stored = self.store.sent(ref, ref)
            if stored:
                try:
                    sent = parse_frame(stored[0][1])
                except Garbled:
                    sent = None
        log.warning("%s: the counterparty refused message %s: %s", self.name, ref_seq, text)
        try:
            self.app.on_rejected(self, sent, text)
        except Exception:
            log.exception("%s: handling a reject failed", self.name)

    def _logon(self, msg: Message) -> bool:
        """A Logon in its turn; False when it ended the session."""
        interval = _int(msg.get(Tag.HeartBtInt))
        if interval is None:
            self._fatal("HeartBtInt missing or invalid")
            return False
        reset = msg.flag(Tag.ResetSeqNumFlag)
        if self.state == "logging_out":
            return True  # the session is ending: the Logon only uses up its number
        if self.state == "active" and not reset:
            # Already logged on: refused at session level, the application hears nothing.
            self._reject(msg, 99, "already logged on")
            return True
        if not self._initiator and self.state == "logging_on":
            refused = self.app.authenticate(msg)
            if refused is not None:
                self._fatal(refused)
                return False
            # The initiator chooses the interval; the acceptor's Logon repeats it.
            self._heartbeat = interval
            self._send_logon(reset=reset)
        elif reset and self.state != "logging_on":
            # The counterparty starts over mid-session: so do we, and confirm.
            self.store.reset(self.store.load().period_start)
            self._next_out = self._next_in = 1
            self._send_logon(reset=True)
        if reset:
            self._next_in = 1
        self.state = "active"
        self.logged_on.set()
        log.info(
            "%s: logged on (next out %d, next in %d)", self.name, self._next_out, self._next_in
        )
        try:
            self.app.on_logon(self)
        except Exception:
            log.exception("%s: the logon handler failed", self.name)
        return True

    def _sequence_reset(self, msg: Message) -> None:
        new = _int(msg.get(Tag.NewSeqNo))
        if new is None:
            self._reject(msg, 1, "NewSeqNo missing")
            return
        if new < self._next_in:
            self._reject(msg, 5, f"NewSeqNo {new} is below the expected {self._next_in}")
            return
        self._held = {k: v for k, v in self._held.items() if k >= new}
        self._advance_in(new)
        self._release_held()

    def _resend(self, request: Message) -> None:
        begin = _int(request.get(Tag.BeginSeqNo)) or 1
        end = _int(request.get(Tag.EndSeqNo)) or 0
        with self._send_lock:
            last = self._next_out - 1
            end = last if end == 0 or end > last else end
            if begin > end:
                return
            log.info("%s: resending %d to %d", self.name, begin, end)
            gap_from: int | None = None
            stored_by_seq = dict(self.store.sent(begin, end))
            for seq in range(begin, end + 1):
                raw = stored_by_seq.get(seq)
                original = _parse_or_none(raw)
                if (
                    original is None
                    or original.type in ADMIN_TYPES
                    or not self.app.resend(original)
                ):
                    if gap_from is None:
                        gap_from = seq
                    continue
                if gap_from is not None:
                    self._gap_fill(gap_from, seq)
                    gap_from = None
                self._write(self._possdup(original, seq))
            if gap_from is not None:
                self._gap_fill(gap_from, end + 1)

    def _gap_fill(self, seq: int, new_seq: int) -> None:
        body = [(Tag.GapFillFlag, "Y"), (Tag.NewSeqNo, str(new_seq))]
        header = [*self._header("4", seq), (Tag.PossDupFlag, "Y")]
        self._write(encode(header, body, self.settings.begin_string))

    def _possdup(self, original: Message, seq: int) -> bytes:
        skip = {
            Tag.BeginString,
            Tag.BodyLength,
            Tag.CheckSum,
            Tag.MsgType,
            Tag.SenderCompID,
            Tag.TargetCompID,
            Tag.MsgSeqNum,
            Tag.SendingTime,
            Tag.PossDupFlag,
            Tag.OrigSendingTime,
        }
        header = [
            *self._header(original.type, seq),
            (Tag.PossDupFlag, "Y"),
            (Tag.OrigSendingTime, original.get(Tag.SendingTime) or timestamp(self.clock())),
        ]
        body = [(tag, value) for tag, value in original.pairs if tag not in skip]
        return encode(header, body, self.settings.begin_string)

    def _reject(self, msg: Message, reason: int, text: str) -> None:
        """A session-level Reject of a message that cannot be processed."""
        body: list[tuple[int, str | int | float]] = [
            (Tag.RefSeqNum, str(msg.seq() or 0)),
            (Tag.RefMsgType, msg.type),
            (Tag.SessionRejectReason, str(reason)),
            (Tag.Text, text),
        ]
        with contextlib.suppress(NotLoggedOn):
            self._send_admin("3", body)

    def reject(self, msg: Message, reason: int, text: str) -> None:
        """Refuse an application message at session level (the application's choice)."""
        self._reject(msg, reason, text)

    def _fatal(self, text: str) -> None:
        log.error("%s: %s; logging out", self.name, text)
        with contextlib.suppress(NotLoggedOn):
            self._send_admin("5", [(Tag.Text, text)])
        self._close_reason = text
        self._closing = True

    # -- timers ----------------------------------------------------------------------------

    def _timers(self) -> str | None:
        self._save_in()
        now = self.clock()
        if self.state == "logging_on":
            if now - self._connected_at > self.settings.logon_timeout:
                return "no Logon within the logon timeout"
            return None
        if self.state == "logging_out":
            if self._logout_sent is not None and now - self._logout_sent > (
                self.settings.logout_timeout
            ):
                return self._close_reason or "logged out"
            return None
        leave = self.keep()
        if leave is not None:
            self._begin_logout(leave)
            return None
        interval = self._heartbeat
        if interval <= 0:
            return None
        if now - self._last_sent >= interval:
            self._send_admin("0", [])
        if self._test_sent is not None:
            if now - self._test_sent >= interval:
                return "the counterparty did not answer a TestRequest"
        elif now - self._last_received >= interval * 1.2:
            self._test_sent = now
            self._send_admin("1", [(Tag.TestReqID, f"TEST-{int(now * 1000)}")])
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


def _parse_or_none(raw: bytes | None) -> Message | None:
    if raw is None:
        return None
    try:
        return parse_frame(raw)
    except Garbled:
        return None
