"""The gateway command line: check, hash-password, schema, serve's argument checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.auth.passwords import verify_password
from gateway.cli import main
from tests.conftest import DEMO, DEMO_NO_FEED
from tests.test_migrations import HEAD


def test_check_lists_routes_and_connectors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert "OK — Demo Broker, spec 1.4.14" in out
    for line in (
        "POST   /authorize",
        "GET    /accounts/{account_id}/instruments",
        "GET    /mapping",
        "POST   /logout",
        "GET    /streaming",
        "connectors:\n  feed                csv_replay          market_data",
    ):
        assert line in out


def test_check_dump_masks_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(DEMO_NO_FEED.replace("url: sqlite:///demo.db", "url: {$env: GW_TEST_STORE}"))
    import os

    os.environ["GW_TEST_STORE"] = f"sqlite:///{tmp_path}/secret-name.db"
    try:
        assert main(["check", str(config), "--dump"]) == 0
    finally:
        del os.environ["GW_TEST_STORE"]
    out = capsys.readouterr().out
    assert "secret-name" not in out and "$argon2id" not in out
    assert "$env: GW_TEST_STORE" in out
    assert "password_hash: '***'" in out


def test_check_renders_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "gateway.yaml.j2"
    template.write_text(
        DEMO_NO_FEED.replace("name: Demo Broker", "name: Demo Broker {{ var.env | upper }}")
    )
    assert main(["check", str(template), "--var", "env=staging", "--render"]) == 0
    assert "name: Demo Broker STAGING" in capsys.readouterr().out
    assert main(["check", str(template), "--var", "env=staging"]) == 0
    assert "OK — Demo Broker STAGING" in capsys.readouterr().out
    assert main(["check", str(template)]) == 1
    err = capsys.readouterr().err
    assert "'dict object' has no attribute 'env'" in err and "--var NAME=VALUE" in err


def test_check_reports_unreadable_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "/nonexistent/gateway.yaml"]) == 1
    assert capsys.readouterr().err == (
        "/nonexistent/gateway.yaml:1:1: cannot read: No such file or directory\n"
    )


def test_hash_password_reads_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "hash-password"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    hashed = result.stdout.strip()
    assert hashed.startswith("$argon2id$") and "s3cret" not in hashed
    assert verify_password(hashed, "s3cret") and not verify_password(hashed, "s3cret ")


def test_hash_password_refuses_empty() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "hash-password"],
        input="\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == "gateway: empty password\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", str(DEMO), "--bind", "8080"], "expected HOST:PORT, got '8080'"),
        (["serve", str(DEMO), "--bind", "127.0.0.1:99999"], "expected HOST:PORT"),
        (["serve", str(DEMO), "--workers", "0"], "expected a positive whole number, got '0'"),
        (["check", str(DEMO), "--var", "novalue"], "--var takes NAME=VALUE, got 'novalue'"),
    ],
)
def test_bad_arguments_are_explained(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code != 0
    captured = capsys.readouterr()
    assert message in captured.err + str(exc.value.code)


def test_pbkdf2_hashes_are_accepted() -> None:
    # Django's format, as many brokers' systems store it.
    import base64
    import hashlib

    digest = hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 1000)
    stored = f"pbkdf2_sha256$1000$salt${base64.b64encode(digest).decode()}"
    assert verify_password(stored, "pw")
    assert not verify_password(stored, "pw2")
    assert not verify_password("pbkdf2_sha256$x$y", "pw")
    assert not verify_password(None, "pw")


def test_db_upgrade_then_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(DEMO_NO_FEED.replace("sqlite:///demo.db", "sqlite:///fresh.db"))
    assert main(["db", str(config), "current"]) == 0
    head = HEAD  # the newest migration, named once (tests/test_migrations.py)
    assert capsys.readouterr().out == f"store revision: none (newest: {head})\n"
    assert main(["db", str(config), "upgrade"]) == 0
    assert capsys.readouterr().out == f"store revision: {head} (newest: {head})\n"
    assert (tmp_path / "fresh.db").exists()


def test_db_reports_an_unreachable_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gateway.yaml"
    url = "postgresql+psycopg://gateway:s3cret@127.0.0.1:1/none"
    config.write_text(DEMO_NO_FEED.replace("sqlite:///demo.db", url))
    assert main(["db", str(config), "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{config}: store: OperationalError: ")
    assert "s3cret" not in err
