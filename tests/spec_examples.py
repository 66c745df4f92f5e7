"""Helpers of the spec-schema self-tests, shared by tests/test_spec_schemas*.py.

``Example`` is one hand-written body for one operation (or one trading-stream message); the
example tables are plain lists of them, so that tools/check_against_openapi.py can run them
through the official OpenAPI file as well. ``changed`` and ``without`` derive an example with
exactly one defect from a full body.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class Example(NamedTuple):
    """One response body for one operation."""

    operation: str
    why: str
    body: Any
    ours_only: bool = False
    """Invalid only under our schema: a rule the spec states in prose, not in its OpenAPI schema."""
    official_rejects: bool = False
    """Valid only under our schema: the OpenAPI schema contradicts the spec's text there."""
    at: str | None = None
    """Where the one error of an invalid example is reported (a JSON path), when it is checked."""


ERROR = {"s": "error", "errmsg": "Invalid login or password."}


def _copy(body: Any) -> Any:
    """A deep copy sharing nothing (``copy.deepcopy`` would keep shared sub-dicts shared)."""
    return json.loads(json.dumps(body))


def changed(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A deep copy of ``body`` with the item at ``path`` replaced by ``value``."""
    result = _copy(body)
    target = result
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return result


def without(body: Any, path: tuple[str | int, ...]) -> Any:
    """A deep copy of ``body`` without the item at ``path``."""
    result = _copy(body)
    target = result
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return result


def ok(payload: Any) -> dict[str, Any]:
    """The usual success envelope."""
    return {"s": "ok", "d": payload}


def example_id(example: Example) -> str:
    """The pytest id of an example: its operation and why it is (in)valid."""
    return f"{example.operation}: {example.why}"
