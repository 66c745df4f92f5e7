"""The OAuth2 commands: oauth-client, server-client, test-certificate, test-assertion."""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from joserfc import jwt
from joserfc.jwk import RSAKey

from gateway.auth.oauth.certificates import (
    make_test_certificate,
    public_key_pem,
    thumbprint,
    verify_client_secret,
)
from gateway.cli import main

CLIENT_ID = re.compile(r"^client_id: +(\S+)$", re.MULTILINE)
SECRET = re.compile(r"^client_secret: +(\S+)$", re.MULTILINE)


def _created(out: str, section: str) -> tuple[str, str, dict[str, Any]]:
    """The printed client id, secret and the one configuration entry of the snippet."""
    client_id, secret = CLIENT_ID.search(out), SECRET.search(out)
    assert client_id and secret
    assert "The secret is shown only now" in out
    _, marker, snippet = out.partition(f"Paste under {section}:\n\n")
    assert marker, out
    entries = yaml.safe_load(snippet.split("\n\n")[0])
    assert isinstance(entries, list) and len(entries) == 1
    assert out.count(secret.group(1)) == 1  # shown once, never inside the snippet
    return client_id.group(1), secret.group(1), entries[0]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    key_pem, cert_pem = make_test_certificate("cli-test")
    key, cert = tmp_path / "tv.key", tmp_path / "tv.crt"
    key.write_text(key_pem)
    cert.write_text(cert_pem)
    return key, cert


def test_oauth_client_prints_the_secret_once_and_its_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    uris = ["https://www.tradingview.com/cb", "http://localhost:8080/cb"]
    args = ["oauth-client", "--client-id", "tv-prod", "--redirect-uri", uris[0]]
    assert main([*args, "--redirect-uri", uris[1]]) == 0
    client_id, secret, entry = _created(capsys.readouterr().out, "auth.oauth.clients")
    assert client_id == "tv-prod"
    assert list(entry) == ["client_id", "client_secret_hash", "redirect_uris", "response_types"]
    assert entry["client_id"] == "tv-prod"
    assert entry["redirect_uris"] == uris
    assert entry["response_types"] == ["code"]
    assert re.fullmatch(r"sha256\$[0-9a-f]{64}", entry["client_secret_hash"])
    assert verify_client_secret(entry["client_secret_hash"], secret)
    assert not verify_client_secret(entry["client_secret_hash"], secret[:-1])


def test_oauth_client_defaults_an_id_and_takes_return_to_and_response_types(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["oauth-client", "--redirect-uri", "https://a.example/cb?x=1,2"]
    args += ["--return-to", "https://a.example/bye", "--response-type", "token"]
    assert main([*args, "--response-type", "code", "--response-type", "token"]) == 0
    client_id, _, entry = _created(capsys.readouterr().out, "auth.oauth.clients")
    assert re.fullmatch(r"tv-[0-9a-f]{8}", client_id) and entry["client_id"] == client_id
    assert entry["redirect_uris"] == ["https://a.example/cb?x=1,2"]
    assert entry["logout_return_to"] == ["https://a.example/bye"]
    assert entry["response_types"] == ["token", "code"]
    assert main(args) == 0
    assert _created(capsys.readouterr().out, "auth.oauth.clients")[0] != client_id


@pytest.mark.parametrize(
    ("option", "uri", "message"),
    [
        ("--redirect-uri", "http://tv.example/cb", "must be an absolute https:// URL"),
        ("--redirect-uri", "/cb", "must be an absolute https:// URL"),
        ("--redirect-uri", "ftp://tv.example/cb", "must be an absolute https:// URL"),
        ("--redirect-uri", "https://tv.example/cb#top", "must not contain a #fragment"),
        ("--return-to", "http://tv.example/", "must be an absolute https:// URL"),
    ],
)
def test_oauth_client_refuses_bad_uris(
    option: str, uri: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["oauth-client", "--redirect-uri", "https://tv.example/cb", option, uri]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert f"argument {option}: {uri!r} {message}" in captured.err
    assert captured.out == ""  # no secret was made


def test_oauth_client_refuses_an_id_the_configuration_would(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["oauth-client", "--client-id", "tv prod", "--redirect-uri", "https://a.example/"])
    assert exc.value.code == 2
    assert "'tv prod': must be 1 to 128 letters" in capsys.readouterr().err


def test_server_client_prints_its_entry(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["server-client", "--client-id", "tv-data", "--certificate", str(pair[1])]
    args += ["--subject", "TV-USER-1", "--app-url", "https://www.tradingview.com/"]
    assert main([*args, "--grant-type", "urn:acme:oauth:grant-type:jwt"]) == 0
    out = capsys.readouterr().out
    client_id, secret, entry = _created(out, "auth.oauth.servers")
    assert client_id == "tv-data"
    secret_hash = entry.pop("client_secret_hash")
    assert verify_client_secret(secret_hash, secret)
    assert entry == {
        "client_id": "tv-data",
        "certificate": {"$file": str(pair[1])},
        "subject": "TV-USER-1",
        "app_url": "https://www.tradingview.com/",
        "grant_type": "urn:acme:oauth:grant-type:jwt",
    }
    assert f"\nThe certificate's x5t: {thumbprint(pair[1].read_text())}\n" in out
    assert "relative $file" not in out  # the path given was absolute


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read {path}: No such file or directory"),
        ("garbage", "{path}: not a PEM X.509 certificate"),
        (b"\x30\x82\xff\xfe", "cannot read {path}: binary, not PEM"),
    ],
    ids=["missing", "garbage", "der"],
)
def test_server_client_refuses_an_unusable_certificate(
    content: str | bytes | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cert = tmp_path / "tv.crt"
    if isinstance(content, str):
        cert.write_text(content)
    elif isinstance(content, bytes):
        cert.write_bytes(content)
    args = ["server-client", "--certificate", str(cert), "--subject", "U", "--app-url", "x"]
    assert main([*args, "--grant-type", "urn:a:b"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"gateway: {message.format(path=cert)}\n"
    assert captured.out == ""


def test_server_client_refuses_a_grant_type_that_is_not_a_urn(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["server-client", "--certificate", str(pair[1]), "--subject", "U", "--app-url", "x"]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--grant-type", "personal-jwt"])
    assert exc.value.code == 2
    assert (
        "'personal-jwt': must be a URN such as urn:acme:oauth:grant-type:personal-jwt"
        in capsys.readouterr().err
    )


def test_test_certificate_writes_a_private_key_and_its_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "certs"
    assert main(["test-certificate", str(directory), "--days", "2"]) == 0
    key, cert = directory / "tradingview-demo.key", directory / "tradingview-demo.crt"
    out = capsys.readouterr().out
    assert out.startswith(
        f"private key: {key}\ncertificate: {cert}\nx5t:         {thumbprint(cert.read_text())}\n"
    )
    assert "not for production" in out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----\n")


def test_test_certificate_keeps_an_existing_key_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, cert = tmp_path / "k.key", tmp_path / "k.crt"
    key.write_text("precious")
    key.chmod(0o644)
    assert main(["test-certificate", str(tmp_path), "--name", "k"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"gateway: {key} exists; pass --force to replace it\n"
    assert captured.out == ""
    assert key.read_text() == "precious" and not cert.exists()

    assert main(["test-certificate", str(tmp_path), "--name", "k", "--force"]) == 0
    assert f"private key: {key}\n" in capsys.readouterr().out
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600  # not the mode of the file it replaced


def test_test_certificate_keeps_an_existing_certificate_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tradingview-demo.crt").write_text("registered")
    assert main(["test-certificate", str(tmp_path)]) == 2
    assert "tradingview-demo.crt exists; pass --force" in capsys.readouterr().err
    assert not (tmp_path / "tradingview-demo.key").exists()


def test_test_assertion_prints_only_a_jwt_signed_by_the_key(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["test-assertion", "--key", str(pair[0]), "--cert", str(pair[1])]
    args += ["--client-id", "tv-data", "--subject", "TV-USER-1", "--ttl", "60"]
    args += ["--audience", "https://gw.example/api/oauth/token", "--app-url", "https://tv.example/"]
    before = int(time.time())
    assert main(args) == 0
    after = int(time.time())
    captured = capsys.readouterr()
    assert captured.err == ""
    assertion = captured.out.removesuffix("\n")
    assert captured.out == assertion + "\n" and "\n" not in assertion
    key = RSAKey.import_key(public_key_pem(pair[1].read_text()))
    token = jwt.decode(assertion, key, algorithms=["RS256"])
    assert token.header == {"alg": "RS256", "x5t": thumbprint(pair[1].read_text()), "typ": "JWT"}
    iat = token.claims.pop("iat")
    assert before <= iat <= after
    assert token.claims == {
        "iss": "tv-data",
        "sub": "TV-USER-1",
        "aud": "https://gw.example/api/oauth/token",
        "exp": iat + 60,
        "spurl": "https://tv.example/",
    }


def test_test_assertion_reports_unusable_files(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(key: Path, cert: Path) -> str:
        args = ["test-assertion", "--key", str(key), "--cert", str(cert), "--client-id", "c"]
        assert main([*args, "--subject", "s", "--audience", "a", "--app-url", "u"]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1
        return captured.err

    missing = tmp_path / "missing.key"
    assert run(missing, pair[1]) == f"gateway: cannot read {missing}: No such file or directory\n"
    assert run(pair[0], pair[0]) == f"gateway: {pair[0]}: not a PEM X.509 certificate\n"
    assert run(pair[1], pair[1]) == f"gateway: {pair[1]}: not an unencrypted PEM private key\n"
    other = tmp_path / "other.key"
    other.write_text(make_test_certificate("other")[0])
    assert run(other, pair[1]) == (
        f"gateway: {other}: the private key does not belong to the certificate\n"
    )
