"""nginx on loopback for the benchmarks: in front of servers under test, or answering alone.

:class:`Nginx` renders the reference deployment's own site file
(``deploy/nginx/gateway.conf.template``) as the nginx image renders it (only its variables are
replaced), over TLS; the scale suite and the deployment test use it. :class:`StaticNginx` answers
one fixed body over plain HTTP: the HTTP ceiling of :mod:`bench.ceiling`. Both run the nginx on
PATH (or the one given) in a directory of their own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import string
import subprocess
import time
from contextlib import suppress
from pathlib import Path

from bench.servers import HOST, REPO_ROOT, free_port
from gateway.auth.oauth.certificates import make_test_certificate

TEMPLATE = REPO_ROOT / "deploy" / "nginx" / "gateway.conf.template"
MISSING = "nginx is not installed (Debian: apt-get install nginx)"


def binary() -> str | None:
    """The nginx executable (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("nginx")
    if found is None and Path("/usr/sbin/nginx").exists():
        found = "/usr/sbin/nginx"
    return found


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as files in ``directory``."""
    key_pem, certificate_pem = make_test_certificate(HOST, ip_addresses=[HOST])
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_text(certificate_pem, encoding="ascii")
    key_path.write_text(key_pem, encoding="ascii")
    return cert_path, key_path


class _Process:
    """An nginx master in the foreground with ``http`` as its http block, listening on ``port``."""

    def __init__(
        self, exe: str, directory: Path, http: str, port: int, worker_processes: int = 1
    ) -> None:
        self.directory, self.port = directory, port
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = " ".join(
            f"{kind}_temp_path {directory / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = directory / "nginx.conf"
        conf.write_text(
            f"{user}worker_processes {worker_processes};\npid {directory / 'nginx.pid'};\n"
            f"error_log {directory / 'error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            f"http {{ {temp} {http} }}\n",
            encoding="utf-8",
        )
        check = subprocess.run(
            [exe, "-t", "-p", str(directory), "-c", str(conf)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its configuration:\n{check.stderr}")
        self.process = subprocess.Popen(
            [exe, "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._up():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (directory / "error.log").read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"nginx did not start:\n{log}")
            time.sleep(0.05)

    def _up(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex((HOST, self.port)) == 0

    def stop(self) -> None:
        """Stop nginx (gracefully, then for good)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class Nginx(_Process):
    """nginx serving the reference site for ``upstreams`` (ports on loopback), over TLS.

    ``extra`` is more configuration inside ``http {}`` (the scale suite's static ceiling).
    """

    def __init__(self, directory: Path, upstreams: list[int], extra: str = "") -> None:
        exe = binary()
        if exe is None:
            raise RuntimeError(MISSING)
        directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.cert, self.key = certificate(directory)
        site = string.Template(TEMPLATE.read_text(encoding="utf-8")).safe_substitute(
            GATEWAY_UPSTREAMS=" ".join(f"server {HOST}:{u};" for u in upstreams),
            LISTEN=f"{HOST}:{port} ssl",
            TLS_CERT=str(self.cert),
            TLS_KEY=str(self.key),
            LOG_DIR=str(directory),
        )
        (directory / "gateway.conf").write_text(site, encoding="utf-8")
        super().__init__(exe, directory, f"include {directory / 'gateway.conf'}; {extra}", port)


class StaticNginx(_Process):
    """nginx answering ``GET path`` with ``body`` (JSON) itself, over plain HTTP on loopback.

    Keep-alive as gunicorn's (``keepalive`` seconds, no cap on requests per connection) and the
    access log on, as for the hello app it is compared with, so that what differs is the server.
    ``exe`` is the nginx to run (default: :func:`binary`).
    """

    def __init__(
        self,
        directory: Path,
        path: str,
        body: str,
        *,
        workers: int = 1,
        keepalive: int = 75,
        exe: str | None = None,
    ) -> None:
        exe = exe or binary()
        if exe is None:
            raise RuntimeError(MISSING)
        if not Path(exe).is_file():
            raise RuntimeError(f"nginx: {exe}: no such file")
        if "'" in body or "\\" in body:
            raise ValueError("the body must not hold quotes or backslashes (nginx's string)")
        directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.path = path
        site = (
            f"access_log {directory / 'access.log'}; keepalive_timeout {keepalive}s; "
            # nginx closes a keep-alive connection after 1000 requests by default; gunicorn
            # never does, and reconnecting would count against nginx.
            "keepalive_requests 1000000000; "
            f"server {{ listen {HOST}:{port}; "
            f"location = {path} {{ default_type application/json; return 200 '{body}'; }} }}"
        )
        super().__init__(exe, directory, site, port, worker_processes=workers)
