"""Servers under test as subprocesses: started on free loopback ports, always stopped."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.hello import PATH as HELLO_PATH
from gateway.serving import GUNICORN_DEFAULTS, WORKER_CLASSES

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The repository root: the servers' working directory and first entry of their path."""

DEMO_CONFIG = REPO_ROOT / "examples" / "demo" / "gateway.yaml"
"""The configuration the gateway under test is copied from."""

HOST = "127.0.0.1"
"""Every server listens on loopback only."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def worker_setting(workers: int) -> str:
    """The gunicorn workers ``gateway serve`` runs by default, in words, for the reports."""
    kind = {path: name for name, path in WORKER_CLASSES.items()}[GUNICORN_DEFAULTS["worker_class"]]
    plural = "worker" if workers == 1 else "workers"
    if kind == "threads":
        return f"threads, {workers} {plural} × {GUNICORN_DEFAULTS['threads']} threads"
    return (
        f"{kind}, {workers} {plural} × up to {GUNICORN_DEFAULTS['worker_connections']} connections"
    )


def throwaway_demo_config(directory: Path, source: Path = DEMO_CONFIG) -> Path:
    """Copy the demo configuration into ``directory`` with its SQLite store there too.

    The repository's ``demo.db`` is never touched: the copy's ``store.url`` is an absolute
    ``sqlite:///`` URL of a file in ``directory``. The copy has no market-data feed and so no
    paper venue: this suite measures request handling, and a feed would make ``gateway serve``
    run one worker where the hello app runs several (the market and trading suites measure
    those).
    """
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping at the top")
    data.pop("connectors", None)
    data.pop("market", None)
    data.pop("trading", None)  # its venue is one of the connectors removed above
    store = data.get("store")
    url = f"sqlite:///{(directory / 'bench.db').resolve()}"
    data["store"] = {**(store if isinstance(store, dict) else {}), "url": url}
    target = directory / "gateway.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def hello_command(port: int, workers: int) -> list[str]:
    """The command serving the hello app (see :mod:`bench.hello`)."""
    return [
        sys.executable,
        "-m",
        "bench.hello",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
    ]


def gateway_command(config: Path, port: int, workers: int) -> list[str]:
    """``gateway serve``, exactly as an operator runs it."""
    return [
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        str(config),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
    ]


@dataclass
class Server:
    """A running server: its port, its gunicorn master process and its log file."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server wrote (stdout and stderr), for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    return env


def start(name: str, argv: Sequence[str], port: int, log_dir: Path) -> Server:
    """Start a server in its own session (so Ctrl-C reaches us, and we stop it)."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv),
            cwd=REPO_ROOT,
            env=_server_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name=name, port=port, process=process, log_path=log_path)


def wait_ready(server: Server, probe_path: str, timeout: float = 30.0) -> None:
    """Return once the server answers any HTTP response on ``probe_path``."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with status {server.process.returncode} before it was "
                f"ready:\n{server.log_tail()}"
            )
        conn = http.client.HTTPConnection(HOST, server.port, timeout=2.0)
        try:
            conn.request("GET", probe_path)
            conn.getresponse().read()
            return
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{server.name} did not answer on port {server.port} within {timeout:g} s:"
                    f"\n{server.log_tail()}"
                ) from None
            time.sleep(0.1)
        finally:
            conn.close()


def stop(server: Server, timeout: float = 10.0) -> None:
    """Stop the server's gunicorn master and its workers; kill them if they linger."""
    process = server.process
    if process.poll() is None:
        # SIGINT is gunicorn's quick shutdown: workers are stopped without a graceful wait.
        process.send_signal(signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    # The server's session is a process group led by its master (pgid == pid): whatever is
    # left of it (a worker the master did not reap, or the master itself) is killed by id.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def serving(
    name: str, argv: Sequence[str], port: int, log_dir: Path, probe_path: str = "/"
) -> Iterator[Server]:
    """Start a server, wait until it answers and stop it on leaving, whatever happens."""
    server = start(name, argv, port, log_dir)
    try:
        wait_ready(server, probe_path)
        yield server
    finally:
        stop(server)


def serve_hello(port: int, workers: int, log_dir: Path) -> AbstractContextManager[Server]:
    """The hello app on ``port``, as :func:`serving`."""
    return serving("hello", hello_command(port, workers), port, log_dir, HELLO_PATH)


def serve_gateway(
    config: Path, port: int, workers: int, log_dir: Path
) -> AbstractContextManager[Server]:
    """``gateway serve config`` on ``port``, as :func:`serving` (any answer, even 404, is ready)."""
    return serving("gateway", gateway_command(config, port, workers), port, log_dir, "/")
