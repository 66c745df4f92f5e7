"""nginx in front of servers under test, configured from deploy/nginx's template.

The reference deployment's own site file (``deploy/nginx/gateway.conf.template``) is rendered as
the nginx image renders it (only its variables are replaced) and run by the nginx on PATH, in a
directory of its own, on loopback. The scale suite and the deployment test both use it.
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


class Nginx:
    """nginx serving the reference site for ``upstreams`` (ports on loopback), over TLS.

    ``extra`` is more configuration inside ``http {}`` (the scale suite's static ceiling).
    """

    def __init__(self, directory: Path, upstreams: list[int], extra: str = "") -> None:
        exe = binary()
        if exe is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        self.cert, self.key = certificate(directory)
        site = string.Template(TEMPLATE.read_text(encoding="utf-8")).safe_substitute(
            GATEWAY_UPSTREAMS=" ".join(f"server {HOST}:{port};" for port in upstreams),
            LISTEN=f"{HOST}:{self.port} ssl",
            TLS_CERT=str(self.cert),
            TLS_KEY=str(self.key),
            LOG_DIR=str(directory),
        )
        (directory / "gateway.conf").write_text(site, encoding="utf-8")
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = " ".join(
            f"{kind}_temp_path {directory / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = directory / "nginx.conf"
        conf.write_text(
            f"{user}worker_processes 1;\npid {directory / 'nginx.pid'};\n"
            f"error_log {directory / 'error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            f"http {{ {temp} include {directory / 'gateway.conf'}; {extra} }}\n",
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
