"""The ``cluster`` section: the Redis bus that lets several processes and instances serve."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.config._convert import option
from gateway.config.types import Duration, Secret

_SCHEMES = ("redis://", "rediss://", "unix://")


def _redis_url(value: Secret | None) -> str | None:
    if value is None:
        return None
    if not value.reveal().startswith(_SCHEMES):
        # The value may hold a password: the message names the schemes, not the value.
        return "must be a Redis URL starting with redis://, rediss:// or unix://"
    return None


def _prefix(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
        return "must be 1 to 64 letters, digits or _ . : -"
    return None


def _lease(value: Duration) -> str | None:
    if not 2 <= value.seconds <= 60:
        return "must be between 2s and 60s"
    return None


@dataclass(frozen=True)
class Cluster:
    """Several worker processes and instances sharing one store and one Redis."""

    redis: Secret | None = option(
        None,
        doc="Redis URL of the bus that carries ticks and account changes between processes "
        "(redis://host:6379/0, rediss:// for TLS); a reference such as {$env: REDIS_URL} keeps "
        "its password out of the file. With it, `gateway serve` runs several workers; left "
        "out, one process serves market data and upstream sessions.",
        check=_redis_url,
    )
    channel_prefix: str = option(
        "gateway",
        doc="Prefix of the bus's Redis channels: gateways of different brokers sharing a Redis "
        "each need their own.",
        check=_prefix,
    )
    feed_lease: Duration = option(
        Duration(6),
        doc="The feeds run in one process of the cluster; when it dies, another takes them over "
        "within this long.",
        check=_lease,
    )
