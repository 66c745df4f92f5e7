"""The ``market`` section: which connectors feed market data, and the pipeline's tunables."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config._convert import option
from gateway.config.types import Duration


def _heartbeat(value: Duration) -> str | None:
    if not 1 <= value.seconds <= 30:
        return "must be between 1s and 30s (TradingView expects one every 5s by default)"
    return None


def _buffer(value: int) -> str | None:
    return "must be at least 65536 bytes" if value < 65536 else None


def _levels(value: int) -> str | None:
    return "must be between 1 and 50" if not 1 <= value <= 50 else None


@dataclass(frozen=True)
class Market:
    """Market data: feeds, streaming and history settings."""

    feeds: tuple[str, ...] = option(
        (), doc="Connectors with the market_data role whose ticks and bars are served."
    )
    heartbeat: Duration = option(
        Duration(5),
        doc="Heartbeat after this much silence on /streaming (and pings on /stream/quotes).",
        check=_heartbeat,
    )
    stream_buffer_bytes: int = option(
        4 * 1024 * 1024,
        doc="Per-connection buffer; a client that falls this far behind is dropped.",
        check=_buffer,
    )
    backfill: Duration = option(
        Duration(7 * 86400), doc="How far back recorded bars are imported at start."
    )
    depth_levels: int = option(
        10,
        doc="Levels of synthetic depth around the quote when the feed sends none.",
        check=_levels,
    )
    max_tick_age: Duration | None = option(
        None,
        doc="/readyz reports not ready when no tick arrived for this long while the market of "
        "a symbol is open; left out: the feeds' freshness is shown but not judged.",
        check=lambda v: None if v is None or v.seconds > 0 else "must be longer than 0 seconds",
    )
