"""Prometheus metrics: what each process counts, summed over the workers of an instance.

gunicorn's workers are separate processes, and a scrape of ``/metrics`` reaches one of them.
``gateway serve`` therefore runs prometheus_client in its multiprocess mode: every worker writes
its values to files in one directory (``PROMETHEUS_MULTIPROC_DIR``, a fresh temporary one unless
the operator names it), and whichever worker answers the scrape reads them all. Without that
variable (tests, an application embedding the gateway) each gateway keeps its own registry.

prometheus_client chooses its mode once, when it is first imported; a worker chooses again after
the fork (:func:`use_worker_mode`), so that what the master imported (it builds a gateway to
check the configuration) decides nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import falcon

log = logging.getLogger("gateway.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Request durations: from a cached /symbol_info (well under a millisecond) to a slow upstream.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def prepare_multiprocess_dir() -> Path:
    """Name (and empty) the directory the workers share, before any worker starts.

    An operator's ``PROMETHEUS_MULTIPROC_DIR`` is kept; otherwise a fresh temporary one. Files
    of an earlier run in it would add old counts to the new ones: they are removed.
    """
    given = os.environ.get(MULTIPROC_ENV)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="gateway-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def use_worker_mode() -> None:
    """In a worker, after the fork: multiprocess values when the directory is named, else not.

    prometheus_client reads the environment once, at its import, and metrics look the choice up
    when they are made: choosing again here applies to every metric made from now on.
    """
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def worker_exited(pid: int) -> None:
    """Gunicorn's ``child_exit``: a dead worker's live gauges no longer count."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def remove_multiprocess_dir(directory: Path) -> None:
    """Remove the temporary directory made by :func:`prepare_multiprocess_dir`."""
    shutil.rmtree(directory, ignore_errors=True)


class Metrics:
    """The gateway's metrics in this process."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

        # The mode in effect (not the environment now: a variable set after the choice would
        # make render() read files no metric of this process writes).
        self.multiprocess = values.ValueClass is not values.MutexValue
        # Multiprocess values live in the shared files; a registry here would only hold this
        # process's, so collection goes through the files (render()).
        registry = None if self.multiprocess else CollectorRegistry()
        self._registry = registry
        self.requests = Histogram(
            "gateway_request_duration_seconds",
            "Time to answer a request (to the first byte, for streams), by route and status.",
            ["route", "method", "status"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.open_streams = Gauge(
            "gateway_open_streams",
            "Streams open now (/streaming, /stream/quotes, the trading streams), by route.",
            ["route"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.last_tick = Gauge(
            "gateway_last_tick_timestamp_seconds",
            "When the last tick reached a pipeline (Unix time, sampled every 5 s): time() minus "
            "this is the feed's silence.",
            multiprocess_mode="livemax",
            registry=registry,
        )
        self.tick_delay = Gauge(
            "gateway_tick_delay_seconds",
            "The last tick's delay: when the gateway took it minus the time the feed stamped.",
            multiprocess_mode="livemax",
            registry=registry,
        )
        self.bus_lag = Gauge(
            "gateway_bus_lag_seconds",
            "Delay of the last message the cluster's bus delivered to a process.",
            multiprocess_mode="livemax",
            registry=registry,
        )
        self.bus_messages = Counter(
            "gateway_bus_messages",
            "Bus messages: received from other processes, refused (not ours), dropped (not "
            "published: Redis away or too slow).",
            ["outcome"],
            registry=registry,
        )
        self.upstream_logged_on = Gauge(
            "gateway_upstream_logged_on",
            "1 while a process of this instance is logged on to the connector's upstream session "
            "(FIX).",
            ["connector"],
            multiprocess_mode="livemax",
            registry=registry,
        )
        self.login_failures = Counter(
            "gateway_login_failures",
            "Logins refused: a wrong login or password, or a throttled client.",
            ["reason"],
            registry=registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text of every worker's values, and its content type."""
        from prometheus_client import (
            CONTENT_TYPE_LATEST,
            CollectorRegistry,
            generate_latest,
            multiprocess,
        )

        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        assert self._registry is not None
        return generate_latest(self._registry), CONTENT_TYPE_LATEST

    def track(self, route: str, stream: Iterable[bytes]) -> Iterator[bytes]:
        """``stream``, counted in ``gateway_open_streams`` while it is open."""
        gauge = self.open_streams.labels(route)
        gauge.inc()
        try:
            yield from stream
        finally:
            gauge.dec()
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # the stream's own clean-up (unsubscribing) runs now, not at GC


class Sampler:
    """Copies values other parts keep into the metrics, every ``interval`` seconds.

    The last tick, the bus's counts and upstream sessions' state, in a thread of its own.
    """

    def __init__(self, sample: Callable[[], None], interval: float = 5.0) -> None:
        self._sample = sample
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sample now, then every ``interval``."""
        self._sample()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self._sample()
            except Exception:  # a metric is never worth a dead thread
                log.exception("sampling the metrics failed")

    def stop(self) -> None:
        """Stop sampling."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class MetricsMiddleware:
    """Times every request and counts the streams it opens.

    Requests are labelled by their route template, never the raw path: ids would explode the
    label set.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Note when the request came."""
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, succeeded: bool
    ) -> None:
        """Observe the duration; wrap a stream so that its lifetime is counted."""
        started = getattr(req.context, "started", None)
        route = req.uri_template or "unmatched"
        if started is not None:
            status = str(resp.status_code)
            self._metrics.requests.labels(route, req.method, status).observe(
                time.perf_counter() - started
            )
        stream = resp.stream
        if isinstance(stream, Iterator):  # a generator: a stream that stays open
            resp.stream = self._metrics.track(route, stream)
