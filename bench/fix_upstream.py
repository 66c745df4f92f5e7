"""``python -m bench.fix_upstream``: a FIX 4.4 market-data upstream that plays synthetic ticks.

It accepts one session (the gateway's ``fix`` connector) on our own session layer, answers each
MarketDataRequest (V) with an empty snapshot (W), and once every symbol of ``--symbols`` is
subscribed plays the ticks of :mod:`bench.market_config` as incremental refreshes (X): tick *k*
at ``--start`` + *k* / ``--rate``, a trade (one entry, size *k*) or a quote (bid and ask entries,
sizes *k*), exactly the ticks a ``csv_replay`` of :func:`bench.market_config.write_ticks` plays
on the same schedule. Messages due in the past go out at once, back to back: with a high rate,
the upstream sends as fast as the gateway reads (TCP pushes back), so the gateway's intake is
what is measured.

``--sink`` instead connects to nobody: it encodes and writes the same messages into a socket
pair whose other end is only drained, which gives the upstream's own ceiling (what one process
can produce), to check that the upstream is not what limits a measurement.

The session keeps its numbers in memory (:class:`MemoryLog`): the gateway's own session journals
every message it sends in the store first, about 0.5 ms a message on SQLite, which would cap
this upstream near 2,000 messages/s and measure the upstream instead of the gateway. Prints
``ready PORT`` once listening, and ``sent N SECONDS`` when every tick went out.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Callable

from bench.market_config import symbol_names
from connectors.fix._session import Session, SessionSettings
from connectors.fix._transport import Acceptor
from connectors.fix._wire import BEGIN_STRING, Message, Tag, encode, timestamp
from gateway.store.session_log import SessionLog, SessionNumbers

SENDER, TARGET = "VENUE", "GATEWAY"
Body = list[tuple[int, str | int | float]]


def tick_body(k: int, symbols: int) -> Body:
    """The X message of tick ``k`` (the same tick as :func:`bench.market_config.tick_row`)."""
    price = 100 + (k % 100) / 100
    symbol = f"B{k % symbols}"
    if (k // symbols) % 2 == 0:
        entries = [("2", round(price, 2))]
    else:
        entries = [("0", round(price - 0.01, 2)), ("1", round(price + 0.01, 2))]
    body: Body = [(Tag.MDReqID, f"md-{symbol}"), (Tag.NoMDEntries, str(len(entries)))]
    for kind, px in entries:
        body += [
            (Tag.MDUpdateAction, "0"),
            (Tag.MDEntryType, kind),
            (Tag.Symbol, symbol),
            (Tag.MDEntryPx, f"{px:.2f}"),
            (Tag.MDEntrySize, str(k)),
        ]
    return body


def play(
    send: Callable[[Body], object], *, start: float, rate: float, count: int, symbols: int
) -> float:
    """Send ticks ``0 <= k < count`` on schedule; the seconds from the first to the last send."""
    first = None
    for k in range(count):
        due = start + k / rate
        ahead = due - time.time()
        if ahead > 0.001:
            time.sleep(ahead)
        send(tick_body(k, symbols))
        if first is None:
            first = time.time()
    return time.time() - (first or time.time())


class MemoryLog(SessionLog):
    """A session log that keeps the numbers in memory and journals nothing.

    Enough for an upstream whose messages are never resent (market data is gap-filled) and
    whose process lives for one bench run.
    """

    def __init__(self, session_id: str) -> None:  # no database: nothing is stored
        self.session_id = session_id
        self._numbers = SessionNumbers(1, 1, None)

    def load(self) -> SessionNumbers:
        """The numbers so far."""
        return self._numbers

    def record_sent(self, seq: int, payload: bytes | None) -> None:
        """Move the outgoing number on."""
        self._numbers = SessionNumbers(seq + 1, self._numbers.next_in, None)

    def set_next_in(self, seq: int) -> None:
        """Move the incoming number on."""
        self._numbers = SessionNumbers(self._numbers.next_out, seq, None)

    def sent(self, begin: int, end: int | None) -> list[tuple[int, bytes]]:
        """Nothing was journaled: a resend is all gap fill."""
        return []

    def reset(self, period_start: float | None) -> None:
        """Start again at 1 and 1."""
        self._numbers = SessionNumbers(1, 1, period_start)


class Upstream:
    """The session's application: subscriptions, then the ticks on schedule."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.session: Session | None = None
        self.wanted = set(symbol_names(args.symbols))
        self.subscribed: set[str] = set()
        self.ready = threading.Event()

    def authenticate(self, logon: Message) -> str | None:
        """Any Logon is welcome."""
        return None

    def on_logon(self, session: Session) -> None:
        """The gateway subscribes itself."""

    def on_logout(self, session: Session, reason: str) -> None:
        """Logged only (a bench run has one session)."""
        print(f"logout: {reason}", file=sys.stderr, flush=True)

    def resend(self, message: Message) -> bool:
        """Market data is never repeated: a resend is a gap fill."""
        return False

    def on_rejected(self, session: Session, sent: Message | None, text: str) -> None:
        """A refused message means the bench's ticks are wrong: say so."""
        print(f"rejected: {text}", file=sys.stderr, flush=True)

    def on_message(self, session: Session, message: Message) -> None:
        """Each V gets an empty snapshot; the play starts once every symbol is subscribed."""
        if message.type != "V":
            session.reject(message, 11, f"MsgType {message.type} is not supported here")
            return
        for group in message.groups(Tag.NoRelatedSym, Tag.Symbol):
            symbol = group.get(Tag.Symbol, "")
            body: Body = [
                (Tag.MDReqID, message.get(Tag.MDReqID) or ""),
                (Tag.Symbol, symbol),
                (Tag.NoMDEntries, "0"),
            ]
            session.send("W", body)
            self.subscribed.add(symbol)
        if self.wanted <= self.subscribed:
            self.ready.set()


def _sink(args: argparse.Namespace) -> float:
    """Encode and write every tick into a drained socket pair; the seconds it took."""
    ours, theirs = socket.socketpair()

    def drain() -> None:
        while theirs.recv(1 << 20):
            pass

    threading.Thread(target=drain, daemon=True).start()
    numbers = iter(range(1, args.count + 1))

    def send(body: Body) -> None:
        header = [
            (Tag.MsgType, "X"),
            (Tag.SenderCompID, SENDER),
            (Tag.TargetCompID, TARGET),
            (Tag.MsgSeqNum, str(next(numbers))),
            (Tag.SendingTime, timestamp(time.time())),
        ]
        ours.sendall(encode(header, body, BEGIN_STRING))

    seconds = play(send, start=time.time(), rate=args.rate, count=args.count, symbols=args.symbols)
    ours.close()
    theirs.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Listen, wait for the subscriptions, play the ticks, keep the session until killed."""
    p = argparse.ArgumentParser(prog="python -m bench.fix_upstream", description=__doc__)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    p.add_argument("--symbols", type=int, default=4, help="symbols B0, B1, …")
    p.add_argument("--rate", type=float, required=True, help="ticks per second")
    p.add_argument("--count", type=int, required=True, help="ticks to play")
    p.add_argument("--start", type=float, default=0.0, help="wall time of tick 0")
    p.add_argument("--sink", action="store_true", help="measure the upstream alone")
    args = p.parse_args(argv)
    if args.sink:
        print(f"sent {args.count} {_sink(args):.6f}", flush=True)
        return 0
    app = Upstream(args)
    settings = SessionSettings(sender_comp_id=SENDER, target_comp_id=TARGET)
    session = Session(settings, MemoryLog(settings.session_id), app)
    app.session = session
    acceptor = Acceptor(session, "127.0.0.1", args.port)
    acceptor.start()
    print(f"ready {acceptor.port}", flush=True)
    app.ready.wait()

    def send(body: Body) -> None:
        session.send("X", body)

    seconds = play(send, start=args.start, rate=args.rate, count=args.count, symbols=args.symbols)
    print(f"sent {args.count} {seconds:.6f}", flush=True)
    threading.Event().wait()  # until the bench kills this process
    return 0


if __name__ == "__main__":
    sys.exit(main())
