"""Requests relayed through the store to the process that holds a lease.

Exactly one process of a deployment runs a FIX session (``gateway.store.leases``). Another
process sharing the store that is asked to place, change or cancel an order writes the request
here; the holder takes it, carries it out and writes the answer, which the asking process is
polling for. Every step is one conditional UPDATE, so a request is carried out at most once:

* ``pending`` → ``taken`` by exactly one holder (``take``);
* ``taken`` → ``done`` with the holder's answer: a refusal text, or none and a result;
* ``pending`` → ``withdrawn`` by the asker when nobody took it in time (no holder is alive):
  then it is never carried out, and the asker can say so for certain.

Answered and withdrawn requests are deleted after a while (``prune``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gateway.store.database import Database
from gateway.store.tables import relay_requests

__all__ = ["Answer", "Relay", "Request"]

POLL = 0.02
"""Seconds between looks at the store while waiting for an answer."""


@dataclass(frozen=True)
class Request:
    """A request taken by the holder."""

    id: int
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """What became of a relayed request."""

    taken: bool
    """False: nobody took it in time, and it was withdrawn (it will never be carried out)."""
    done: bool = False
    """False with ``taken``: the holder is still working on it (no answer within the wait)."""
    refusal: str | None = None
    result: str | None = None


class Relay:
    """One channel of requests (e.g. one FIX session) in the store."""

    def __init__(
        self, database: Database, channel: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.database = database
        self.channel = channel
        self._clock = clock

    # -- the asking side -------------------------------------------------------------------

    def submit(self, kind: str, payload: Mapping[str, Any]) -> int:
        """Leave a request for the holder; its id."""
        values = {
            "channel": self.channel,
            "kind": kind,
            "payload": json.dumps(payload, ensure_ascii=False),
            "state": "pending",
            "created_at": self._clock(),
        }
        with self.database.engine.begin() as conn:
            result = conn.execute(relay_requests.insert().values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def wait(self, request_id: int, take_within: float, answer_within: float) -> Answer:
        """Wait for the answer to a request.

        It must be taken within ``take_within`` seconds, else it is withdrawn; once taken,
        the answer is waited for up to ``answer_within`` seconds in all.
        """
        start = time.monotonic()
        while True:
            row = self._row(request_id)
            state = None if row is None else row.state
            if row is not None and state == "done":
                return Answer(True, True, row.refusal, row.result)
            waited = time.monotonic() - start
            if state == "pending" and waited >= take_within and self._withdraw(request_id):
                return Answer(taken=False)
            if state != "pending" and waited >= answer_within:
                return Answer(taken=True)
            time.sleep(POLL)

    def _row(self, request_id: int) -> Any:
        query = sa.select(relay_requests).where(relay_requests.c.id == request_id)
        with self.database.engine.connect() as conn:
            return conn.execute(query).first()

    def _withdraw(self, request_id: int) -> bool:
        return self._move(request_id, "pending", state="withdrawn", answered_at=self._clock())

    def _move(self, request_id: int, from_state: str, **values: Any) -> bool:
        """Change a request only if it is still in ``from_state`` (one step, atomic)."""
        with self.database.engine.begin() as conn:
            moved = conn.execute(
                relay_requests.update()
                .where(relay_requests.c.id == request_id)
                .where(relay_requests.c.state == from_state)
                .values(**values)
            ).rowcount
        return bool(moved)

    # -- the holder's side -------------------------------------------------------------------

    def take(self, limit: int = 50) -> list[Request]:
        """Pending requests, oldest first, each now taken by this caller alone."""
        query = (
            sa.select(relay_requests.c.id, relay_requests.c.kind, relay_requests.c.payload)
            .where(relay_requests.c.channel == self.channel)
            .where(relay_requests.c.state == "pending")
            .order_by(relay_requests.c.id)
            .limit(limit)
        )
        with self.database.engine.connect() as conn:
            rows = conn.execute(query).all()
        taken = []
        for row in rows:
            # Another holder (a takeover in progress) or the asker's withdrawal may come first.
            if self._move(int(row.id), "pending", state="taken"):
                taken.append(Request(int(row.id), str(row.kind), json.loads(row.payload)))
        return taken

    def answer(self, request_id: int, refusal: str | None, result: str | None = None) -> None:
        """Record what became of a taken request."""
        self._move(
            request_id,
            "taken",
            state="done",
            refusal=refusal,
            result=result,
            answered_at=self._clock(),
        )

    def prune(self, older_than: float) -> int:
        """Delete requests answered or withdrawn more than ``older_than`` seconds ago."""
        cutoff = self._clock() - older_than
        with self.database.engine.begin() as conn:
            return int(
                conn.execute(
                    relay_requests.delete()
                    .where(relay_requests.c.channel == self.channel)
                    .where(relay_requests.c.state.in_(("done", "withdrawn")))
                    .where(relay_requests.c.answered_at < cutoff)
                ).rowcount
            )
