"""The entry points gunicorn uses: ``gateway.wsgi:create()`` and the master's validation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import webtest

from gateway import serving, wsgi
from tests.conftest import DEMO_NO_FEED


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # create() configures the gateway's log handler, as a served process should; undo it so
    # that later tests see logging as they expect.
    logger = logging.getLogger("gateway")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        DEMO_NO_FEED.replace("sqlite:///demo.db", f"sqlite:///{tmp_path / 's.db'}"),
        encoding="utf-8",
    )
    return path


def test_create_builds_the_app_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_CONFIG", str(_config(tmp_path)))
    app = webtest.TestApp(wsgi.create())
    assert app.post("/authorize", {"login": "demo", "password": "demo"}).json["s"] == "ok"


@pytest.mark.parametrize("entry", [wsgi.create, serving.validate_from_environment])
def test_a_missing_or_broken_config_stops_with_the_problems(
    entry: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert callable(entry)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    with pytest.raises(SystemExit) as exc:
        entry()
    assert exc.value.code == 1
    assert "GATEWAY_CONFIG is not set" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nbroker: {name: X}\naccounts: []\n", encoding="utf-8")
    monkeypatch.setenv("GATEWAY_CONFIG", str(bad))
    with pytest.raises(SystemExit):
        entry()
    assert capsys.readouterr().err.splitlines() == [
        f"{bad}:1:1: users: nobody can log in: list users, or set auth.identity to a "
        "connector with the identity role",
        f"{bad}:3:1: accounts: list at least one account (or account_profiles)",
    ]


def test_template_variables_come_from_gateway_vars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = tmp_path / "gateway.yaml.j2"
    template.write_text(
        _config(tmp_path)
        .read_text(encoding="utf-8")
        .replace("name: Demo Broker", "name: Demo {{ var.env }}"),
        encoding="utf-8",
    )
    monkeypatch.setenv("GATEWAY_CONFIG", str(template))
    monkeypatch.setenv("GATEWAY_VARS", "env=staging, other=x")
    serving.validate_from_environment()
    assert wsgi.parse_vars("a=1,b=2=3, ,c") == {"a": "1", "b": "2=3"}
    assert webtest.TestApp(wsgi.create()).get("/mapping").status_int == 200
