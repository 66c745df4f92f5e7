"""The reference deployment's files: what the tests cannot run (no image pulls) is still checked.

docker-compose.yml is read as YAML and the files it mounts must exist (but the operator's
certificate); deploy/nginx/nginx.conf
passes `nginx -t` with the site template rendered into its conf.d, as the nginx image does.
"""

from __future__ import annotations

import os
import string
import subprocess
from pathlib import Path

import yaml

from tests.test_cluster_deployment import nginx_binary

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def test_the_compose_file_mounts_files_that_exist_and_raises_the_open_files_limit() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    for name in ("gateway-a", "gateway-b", "nginx"):
        assert services[name]["ulimits"]["nofile"]["soft"] >= 20000, name
    for volume in services["nginx"]["volumes"]:
        source = volume.split(":")[0]
        if source != "./certs":  # the operator's certificate, made as the file's comment says
            assert (DEPLOY / source).is_file(), volume
    command = services["gateway-a"]["command"]
    assert command[:2] == ["gateway", "serve"]  # the reload check needs gateway serve


def test_the_nginx_main_configuration_passes_nginx_own_check(tmp_path: Path) -> None:
    binary = nginx_binary()
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    certificate = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    from gateway.auth.oauth.certificates import make_test_certificate

    key_pem, cert_pem = make_test_certificate("localhost")
    certificate.write_text(cert_pem, encoding="ascii")
    key.write_text(key_pem, encoding="ascii")
    site = string.Template(
        (DEPLOY / "nginx/gateway.conf.template").read_text(encoding="utf-8")
    ).safe_substitute(
        GATEWAY_UPSTREAMS="server 127.0.0.1:1;",
        LISTEN="127.0.0.1:1 ssl",
        TLS_CERT=str(certificate),
        TLS_KEY=str(key),
        LOG_DIR=str(tmp_path),
    )
    (conf_d / "gateway.conf").write_text(site, encoding="utf-8")
    # Only what differs between the image and this machine changes: the user the image has,
    # where files go, and mime.types (Debian's nginx keeps it in the same place as the image).
    user = "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
    main = (DEPLOY / "nginx/nginx.conf").read_text(encoding="utf-8")
    main = (
        main.replace("user  nginx;", f"user  {user};")
        .replace("/var/log/nginx/error.log", str(tmp_path / "error.log"))
        .replace("/var/run/nginx.pid", str(tmp_path / "nginx.pid"))
        .replace("/etc/nginx/conf.d/", f"{conf_d}/")
    )
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = main.replace("http {", "http {\n    " + temp, 1)
    (tmp_path / "nginx.conf").write_text(main, encoding="utf-8")
    check = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert "worker_connections" not in check.stderr  # no warning about the limits either
