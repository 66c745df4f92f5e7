"""Both ends of a relayed venue: a process asks through the store, the venue's holder answers.

Used by every venue that one process of a deployment runs (a FIX session, the paper venue of a
cluster): ``ask`` is what a process without the venue does with a place, modify or cancel;
``serve`` is the holder's thread that carries them out on the venue, a few at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gateway.plugins.records import Rejected, load_change, load_order
from gateway.plugins.roles import BracketVenue
from gateway.store.relay import Relay, Request

log = logging.getLogger("gateway.relay")

POLL = 0.05
"""The holder's wait between looks at the store while requests come."""
IDLE_POLL = 0.2
"""The longest wait between looks, reached after a quiet second (well inside a take window)."""
WORKERS = 4
"""Relayed requests carried out at once."""
KEEP = 300.0
"""Seconds answered requests stay in the store (for inspection) before they are deleted."""


def ask(
    relay: Relay,
    kind: str,
    payload: dict[str, Any],
    *,
    take_within: float,
    answer_within: float,
    unavailable: str,
) -> str:
    """Hand a request to the holder; its result.

    ``Rejected`` with the holder's refusal, or with ``unavailable`` when no holder took the
    request in time (it is then never carried out).
    """
    request_id = relay.submit(kind, payload)
    answer = relay.wait(request_id, take_within, take_within + answer_within)
    if not answer.taken:
        raise Rejected(unavailable)
    if answer.refusal is not None:
        raise Rejected(answer.refusal)
    return answer.result or ""  # taken but not answered in time: pending, as a venue's own


def serve(
    relay: Relay,
    venue: Any,
    stopping: threading.Event,
    *,
    name: str,
    failure: str,
    may_take: Callable[[], bool] = lambda: True,
) -> None:
    """The holder's loop, until ``stopping``.

    It takes requests while ``may_take()``, carries them out on ``venue`` (``failure`` answers
    an unexpected error) and prunes old ones.
    """
    pruned = 0.0
    wait = POLL
    with ThreadPoolExecutor(WORKERS, thread_name_prefix=f"relay:{name}") as pool:
        while not stopping.wait(wait):
            # Idle, the store is asked less often (most deployments have no other process);
            # busy, at once again.
            wait = min(wait * 2, IDLE_POLL)
            try:
                if not may_take():
                    continue
                for request in relay.take():
                    wait = POLL
                    pool.submit(carry_out, relay, request, venue, name, failure)
                if time.monotonic() - pruned > KEEP:
                    relay.prune(KEEP)
                    pruned = time.monotonic()
            except SQLAlchemyError as exc:  # the store is away: the askers time out
                log.warning("%s: cannot read relayed requests: %s", name, type(exc).__name__)


def carry_out(relay: Relay, request: Request, venue: Any, name: str, failure: str) -> None:
    """Carry one request out on ``venue`` and record the answer."""
    refusal: str | None = None
    result: str | None = None
    data = request.payload
    try:
        if request.kind == "place":
            result = str(venue.place(load_order(data["order"])))
        elif request.kind == "place_bracket" and isinstance(venue, BracketVenue):
            legs = [load_order(leg) for leg in data["legs"]]
            result = str(venue.place_bracket(load_order(data["parent"]), legs))
        elif request.kind == "modify":
            venue.modify(str(data["id"]), load_change(data["change"]))
        elif request.kind == "cancel":
            venue.cancel(str(data["id"]))
        else:
            refusal = f"Unknown relayed request {request.kind[:40]!r}."
    except Rejected as exc:
        refusal = exc.message
    except Exception:  # the payload is data from another process: never trusted to be well-formed
        log.exception("%s: relayed request %s failed", name, request.id)
        refusal = failure
    try:
        relay.answer(request.id, refusal, result)
    except SQLAlchemyError as exc:
        log.warning("%s: cannot answer relayed request %s: %s", name, request.id, exc)
