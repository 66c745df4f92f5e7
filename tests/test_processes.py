"""Two real gateway processes (gunicorn) on one store: tokens and logouts are shared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import DEMO, DEMO_NO_FEED
from tests.live_gateway import free_port
from tests.live_gateway import serve as live_serve
from tests.servers import POSTGRES_URL, require, reset_gateway_tables


def call(
    url: str, data: dict[str, str] | None = None, token: str | None = None
) -> tuple[int, dict[str, object]]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextmanager
def serve(config: Path) -> Iterator[str]:
    """Two workers on ``config``; yields the base URL."""
    with live_serve(config, workers=2) as live:
        yield f"http://127.0.0.1:{live.port}"


def config_with_store(tmp_path: Path, url: str) -> Path:
    text = DEMO_NO_FEED.replace("sqlite:///demo.db", url)
    path = tmp_path / "gateway.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_token_from_one_process_works_on_another_and_logout_is_shared(
    tmp_path: Path, backend: str
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = require(POSTGRES_URL)
        reset_gateway_tables(url)
    config = config_with_store(tmp_path, url)
    with serve(config) as a, serve(config) as b:
        status, body = call(f"{a}/authorize", {"login": "demo", "password": "demo"})
        assert status == 200 and body["s"] == "ok", body
        token = body["d"]["access_token"]  # type: ignore[index]
        for base in (a, b):
            status, body = call(f"{base}/accounts?locale=en", token=token)
            assert (status, body["s"]) == (200, "ok")
        status, body = call(f"{b}/logout", {}, token=token)
        assert (status, body) == (200, {"s": "ok"})
        for base in (a, b):
            status, _ = call(f"{base}/accounts?locale=en", token=token)
            assert status == 401
        # A failed login is logged by the worker, without the password or the login.
        call(f"{a}/authorize", {"login": "mallory", "password": "Guess-0451"})
        logs = "".join(p.read_text() for p in tmp_path.glob("gateway-*.log"))
        assert "gateway.auth: failed login [client 127.0.0.1]" in logs
        assert "Guess-0451" not in logs and "mallory" not in logs
        assert token not in logs
        # Ten tokens in a row across both processes are all different.
        tokens = {
            call(f"{base}/authorize", {"login": "demo", "password": "demo"})[1]["d"]["access_token"]  # type: ignore[index]
            for base in (a, b) * 5
        }
        assert len(tokens) == 10


@pytest.mark.slow
def test_serve_refuses_a_broken_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nbroker: {name: X}\naccounts: []\nusers: []\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", str(bad), "--bind", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{bad}:3:1: accounts: list at least one account (or account_profiles)",
        f"{bad}:4:1: users: nobody can log in: list users, or set auth.identity to a "
        "connector with the identity role",
    ]
    assert "Traceback" not in result.stderr


ROOT = DEMO.parent.parent.parent


@pytest.mark.slow
def test_the_container_command_validates_then_serves(tmp_path: Path) -> None:
    """The Dockerfile's CMD: gunicorn with config/gunicorn.conf.py and GATEWAY_* variables."""
    gunicorn = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "config/gunicorn.conf.py")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nbroker: {name: X}\naccounts: []\n", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "GATEWAY_CONFIG": str(bad), "GATEWAY_BIND": f"127.0.0.1:{port}"}
    result = subprocess.run(
        gunicorn, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert f"{bad}:3:1: accounts: list at least one account (or account_profiles)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr

    good = config_with_store(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    env["GATEWAY_CONFIG"] = str(good)
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(gunicorn, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = call(
                    f"http://127.0.0.1:{port}/authorize", {"login": "demo", "password": "demo"}
                )
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert status == 200 and body["s"] == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
