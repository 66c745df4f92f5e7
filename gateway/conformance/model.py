"""Checks, their outcomes, and what they share while a run goes on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from gateway.conformance.client import Client


class CheckFailed(Exception):  # noqa: N818 - the outcome of a check, as users read it
    """A check did not pass; the message is the reason shown to the user."""


class CheckSkipped(Exception):  # noqa: N818 - likewise
    """A check cannot run here (one it needs failed, nothing to test); the message says why."""


Status = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Outcome:
    """What one check gave."""

    suite: str
    name: str
    status: Status
    reason: str
    seconds: float


@dataclass
class Context:
    """What the checks of one run share: the client, and what earlier checks found."""

    client: Client
    login: str | None = None
    password: str | None = None
    token_given: bool = False
    clock: Callable[[], float] = time.time
    groups: list[str] = field(default_factory=list)
    symbols: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each symbol of /symbol_info by the name data requests use (its ticker, else symbol)."""
    stream_seconds: float = 150.0
    """How long the streaming checks record (TradingView records for hours)."""
    progress: Callable[[str], None] = lambda _text: None
    """Where the long checks report how far they are."""
    recording: Any = None
    """What ``streaming.record`` recorded, for the streaming checks after it."""
    recent_bars: dict[str, list[int]] = field(default_factory=dict)
    """Times of each symbol's recent one-minute bars, read once per run (history checks)."""
    history_wait: float = 120.0
    """How long ``history.noDataChanges`` waits before asking again (TradingView: 2 minutes)."""
    account: str | None = None
    """The account the trading checks use (default: the first of /accounts)."""
    symbol: str | None = None
    """The instrument the trading scenario trades (default: chosen from /instruments)."""
    fill_seconds: float = 15.0
    """How long the trading scenario waits for a market order to fill, an order to change."""
    trading: Any = None
    """The trading checks' shared state (``trading_setup.TradingRun``)."""
    failed: set[str] = field(default_factory=set)
    """Names of the checks that failed so far (later checks may depend on them)."""

    def require(self, *names: str) -> None:
        """Skip the calling check when one of the checks it builds on failed."""
        broken = [name for name in names if name in self.failed]
        if broken:
            raise CheckSkipped(f"needs {', '.join(broken)}, which failed")


CheckFunction = Callable[[Context], None]


@dataclass(frozen=True)
class Check:
    """A named check of a suite."""

    suite: str
    name: str
    run: CheckFunction
