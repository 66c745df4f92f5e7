"""A real gateway process (gunicorn, via `gateway serve`) on a copy of a configuration."""

from __future__ import annotations

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveGateway:
    """A served gateway: its port, log file, and a JSON GET helper."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log

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
    config: Path, workers: int | None = None, port: int | None = None
) -> Iterator[LiveGateway]:
    """Serve ``config`` until the block ends; fail with the log if it does not come up.

    ``port`` is for a configuration that must know its own URL (OAuth's ``public_url``);
    by default a free one is picked.
    """
    if port is None:
        port = free_port()
    extra = ["--workers", str(workers)] if workers else []
    log = config.parent / f"gateway-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", str(config),
             "--bind", f"127.0.0.1:{port}", *extra],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ},
        )  # fmt: skip
    live = LiveGateway(port, log)
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
