"""A stopping worker ends its streams cleanly (HTTP's last chunk), not cut at graceful_timeout.

Real gunicorn masters (`gateway serve`) with each worker class, real sockets, SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bench.market_config import write_silent_config
from gateway.http.streams import OpenStreams
from tests.live_gateway import serve
from tests.stream_client import StreamClient
from tests.waiting import eventually


def _silent(tmp_path: Path, heartbeat: str) -> Path:
    """A gateway whose feed publishes nothing: its streams carry only heartbeats."""
    config = write_silent_config(
        tmp_path, symbols=2, store_url=f"sqlite:///{tmp_path / 'store.db'}", name="idle.yaml"
    )
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["market"]["heartbeat"] = heartbeat
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return config


def _stop_and_watch(worker_class: str, heartbeat: str, tmp_path: Path) -> tuple[float, list[float]]:
    """Serve, open three idle streams, SIGTERM the master: (when it was sent, each clean end)."""
    config = _silent(tmp_path, heartbeat)
    with serve(config, args=["--worker-class", worker_class]) as gateway:
        clients = [StreamClient("127.0.0.1", gateway.port).open() for _ in range(3)]
        for client in clients:
            client.wait_for_first()
        sent = time.time()
        gateway.process.send_signal(signal.SIGTERM)
        gateway.process.wait(timeout=30)
        assert eventually(lambda: all(c.closed_by_server for c in clients), timeout=10)
        ends = [c.finished_at for c in clients]
        for client in clients:
            client.close()
    log = gateway.log.read_text(encoding="utf-8", errors="replace")
    assert all(end is not None for end in ends), f"a stream was cut, not ended:\n{log}"
    assert "graceful timeout" not in log.lower(), log
    return sent, [end for end in ends if end is not None]


def test_a_stopping_gevent_worker_ends_idle_streams_at_once(tmp_path: Path) -> None:
    # A 30 s heartbeat: a stream that ended at its next line would end after graceful_timeout
    # (20 s) had cut it. Each must end with the last chunk, long before.
    sent, ends = _stop_and_watch("gevent", "30s", tmp_path)
    assert max(ends) - sent < 10, [round(end - sent, 2) for end in ends]


def test_a_stopping_threaded_worker_ends_streams_at_their_next_line(tmp_path: Path) -> None:
    sent, ends = _stop_and_watch("threads", "2s", tmp_path)
    assert max(ends) - sent < 10, [round(end - sent, 2) for end in ends]


def _lines(count: int) -> Iterator[bytes]:
    for n in range(count):
        yield f"{n}\n".encode()


def test_open_streams_end_after_the_line_in_progress_and_close_their_source() -> None:
    streams = OpenStreams()
    closed: list[bool] = []

    def source() -> Iterator[bytes]:
        try:
            yield from _lines(100)
        finally:
            closed.append(True)

    body = streams.follow(source())
    assert next(body) == b"0\n"
    streams.end_all()
    assert list(body) == []
    assert closed == [True]
    # A stream opened while the worker stops sends its first line and ends.
    late = streams.follow(_lines(5))
    assert list(late) == [b"0\n"]


def test_a_stream_that_ends_by_itself_is_passed_through_whole() -> None:
    streams = OpenStreams()
    body = streams.follow(_lines(2))
    assert list(body) == [b"0\n", b"1\n"]


def test_a_password_hash_under_gevent_runs_on_a_native_thread_while_greenlets_run() -> None:
    # In a process gevent has patched (as in a gevent worker): the hash is computed on another
    # native thread, and a greenlet keeps ticking meanwhile instead of waiting for the hash.
    script = """
import gevent.monkey
gevent.monkey.patch_all()
import threading, time, gevent
from gevent.monkey import get_original
from gateway.auth.passwords import hash_password, verify_password
from gateway.cooperative import off_hub, under_gevent
native = get_original("_thread", "get_ident")
stored = hash_password("secret")
ticks = []
def ticker():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.005)
gevent.spawn(ticker)
gevent.sleep(0.05)
before = len(ticks)
ok = verify_password(stored, "secret") and not verify_password(stored, "wrong")
print(under_gevent(), ok, off_hub(native) != native(), len(ticks) - before > 3)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.stdout.split() == ["True", "True", "True", "True"], out.stdout + out.stderr


@pytest.mark.parametrize("worker_class", ["gevent", "threads"])
def test_serve_names_the_worker_class_it_runs(worker_class: str, tmp_path: Path) -> None:
    config = _silent(tmp_path, "5s")
    with serve(config, args=["--worker-class", worker_class]) as gateway:
        gateway.get("/symbol_info", group="BENCH")
    expected = {"gevent": "GeventWorker", "threads": "ThreadWorker"}[worker_class]
    assert f"Using worker: gateway.workers.{expected}" in gateway.log.read_text(encoding="utf-8")


def test_serve_refuses_an_unknown_worker_class(tmp_path: Path) -> None:
    config = _silent(tmp_path, "5s")
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", str(config), "--worker-class", "sync"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    assert "invalid choice: 'sync'" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_container_refuses_an_unknown_worker_class_from_the_environment(
    tmp_path: Path,
) -> None:
    config = _silent(tmp_path, "5s")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "GATEWAY_CONFIG": str(config), "GATEWAY_WORKER_CLASS": "sync; rm -rf /"}
    out = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(root / "config/gunicorn.conf.py"),
         "--bind", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert out.returncode != 0
    assert "GATEWAY_WORKER_CLASS must be one of gevent, threads, not 'sync; rm -rf /'" in (
        out.stdout + out.stderr
    )
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "store.db").exists()  # nothing was served or written
