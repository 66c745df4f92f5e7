"""A real gateway process (gunicorn, via `gateway serve`) on a copy of a configuration."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveGateway:
    """A served gateway: its port, log file, and a JSON GET helper."""

    def __init__(self, port: int, log: Path, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.log = log
        self.process = process
        """The gunicorn master."""

    def get(self, path: str, **params: object) -> Any:
        query = urllib.parse.urlencode({k: str(v) for k, v in params.items()})
        url = f"http://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")
        with urllib.request.urlopen(url, timeout=30) as resp:
            return json.loads(resp.read())


def copy_demo(source_dir: Path, tmp_path: Path) -> Path:
    """The demo directory (with its data) in ``tmp_path``, its store inside the copy."""
    target = tmp_path / "demo"
    shutil.copytree(source_dir, target, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
    config = target / "gateway.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("sqlite:///demo.db", "sqlite:///live.db"),
        encoding="utf-8",
    )
    return config


@contextmanager
def serve(
    config: Path,
    workers: int | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[LiveGateway]:
    """Serve ``config`` until the block ends; fail with the log if it does not come up.

    ``port`` is for a configuration that must know its own URL (OAuth's ``public_url``);
    by default a free one is picked.
    """
    if port is None:
        port = free_port()
    extra = [*(["--workers", str(workers)] if workers else []), *args]
    log = config.parent / f"gateway-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", str(config),
             "--bind", f"127.0.0.1:{port}", *extra],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )  # fmt: skip
    live = LiveGateway(port, log, proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                live.get("/mapping")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"gateway did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield live
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the gateway in a process group of its own --------------------------------------------


def _processes() -> Iterator[tuple[int, str, int, int]]:
    """(pid, state, parent pid, process group) of every process /proc shows."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # The command name in parentheses may contain spaces: fields start after the last ")".
        state, ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        yield int(entry.name), state, int(ppid), int(pgrp)


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (zombies excluded: they can no longer write)."""
    return [pid for pid, state, _, pgrp in _processes() if pgrp == pgid and state not in "ZX"]


def children(parent: int) -> list[int]:
    """Live child processes of ``parent`` (a gunicorn master's workers), sorted."""
    return sorted(
        pid for pid, state, ppid, _ in _processes() if ppid == parent and state not in "ZX"
    )


class Served:
    """``gateway serve`` started in a new session: its pid is the group id of all its processes."""

    def __init__(self, config: Path, workers: int | None = None) -> None:
        self.port = free_port()
        self.log = config.parent / f"gateway-{self.port}.log"
        extra = ["--workers", str(workers)] if workers else []
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", str(config),
                 "--bind", f"127.0.0.1:{self.port}", *extra],
                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.pgid = self.process.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once the gateway answers; fail with its log if it does not come up."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                status, _ = call(self.port, "GET", "/mapping")
                if status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gateway did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the master and every worker at once; return when none of them lives."""
        os.killpg(self.pgid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while survivors := group_members(self.pgid):
            assert time.monotonic() < deadline, f"processes survived SIGKILL: {survivors}"
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM); whatever is left of the group is killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)
        self.process.wait()


@contextmanager
def serving(config: Path) -> Iterator[Served]:
    """A ready gateway on ``config``, stopped (or killed) when the block ends."""
    served = Served(config)
    try:
        served.wait_ready()
        yield served
    finally:
        served.stop()


def call(
    port_or_conn: int | http.client.HTTPConnection,
    method: str,
    path: str,
    form: dict[str, str] | None = None,
    token: str | None = None,
) -> tuple[int, Any]:
    """One request; (status, parsed JSON body). Connection errors propagate."""
    if isinstance(port_or_conn, int):
        conn = http.client.HTTPConnection("127.0.0.1", port_or_conn, timeout=30)
    else:
        conn = port_or_conn
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        if isinstance(port_or_conn, int):
            conn.close()


def login(port: int) -> str:
    """A token for demo/demo."""
    status, body = call(port, "POST", "/authorize", {"login": "demo", "password": "demo"})
    assert status == 200 and body["s"] == "ok", body
    token: str = body["d"]["access_token"]
    return token
