"""Templated configurations (sandboxed Jinja2) and secrets by reference, masked everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import GatewayConfig, load_config
from gateway.config.dump import dump_config
from gateway.config.types import Duration
from tests.test_config_errors import ENVIRON, fake_registry, problems_of

# --- templates -----------------------------------------------------------------------------

TEMPLATE = """\
version: 1
broker:
  name: "{{ var.broker | default('Acme') }}"
{% if var.env == "staging" %}
store: {url: "sqlite:///staging.db"}
auth: {trading: {token_ttl: 1h}}
{% else %}
store: {url: "sqlite:///production.db"}
{% endif %}
accounts:
  - {id: MAIN-USD, name: Main, type: demo}
users:
  - {login: ann, password_hash: "pbkdf2_sha256$1$salt$hash", accounts: [MAIN-USD]}
"""


def write_template(tmp_path: Path, body: str = TEMPLATE) -> Path:
    path = tmp_path / "gateway.yaml.j2"
    path.write_text(body, encoding="utf-8")
    return path


def test_template_picks_staging_values(tmp_path: Path) -> None:
    path = write_template(tmp_path)
    staging = load_config(
        path, variables={"env": "staging", "broker": "Acme Staging"}, environ=ENVIRON
    )
    production = load_config(path, variables={"env": "production"}, environ=ENVIRON)
    assert staging.broker.name == "Acme Staging"
    assert staging.auth.trading.token_ttl == Duration(3600)
    assert staging.store.url.reveal() == f"sqlite:///{tmp_path / 'staging.db'}"
    assert production.broker.name == "Acme"
    assert production.auth.trading.token_ttl == Duration(900)
    assert production.store.url.reveal() == f"sqlite:///{tmp_path / 'production.db'}"


def test_template_with_cli_var(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_template(tmp_path)
    assert main(["check", str(path), "--render", "--var", "env=staging"]) == 0
    rendered = capsys.readouterr().out
    assert 'store: {url: "sqlite:///staging.db"}' in rendered
    assert "production.db" not in rendered
    assert main(["check", str(path), "--var", "env=staging", "--var", "broker=Acme Staging"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{path}: OK — Acme Staging, spec 1.4.14\n")
    assert err == ""
    assert not (tmp_path / "staging.db").exists()  # checking opens no store


def test_template_undefined_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_template(tmp_path)
    lines = problems_of(path)
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:")
    assert "template:" in lines[0]
    assert "'env'" in lines[0]
    assert "--var NAME=VALUE" in lines[0]
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == lines
    assert "Traceback" not in err


def test_template_undefined_variable_position(tmp_path: Path) -> None:
    path = write_template(tmp_path)
    (line,) = problems_of(path)
    assert line.startswith(f"{path}:4:")


def test_template_syntax_error_position(tmp_path: Path) -> None:
    path = write_template(tmp_path, "version: 1\n\n{% if %}\n")
    assert problems_of(path) == [
        f"{path}:3:1: template: Expected an expression, got 'end of statement block'"
    ]


ESCAPES = [
    pytest.param(
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "access to attribute '__class__' of 'str' object is unsafe.",
        id="mro",
    ),
    pytest.param(
        "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}",
        "access to attribute '__init__' of 'type' object is unsafe.",
        id="globals",
    ),
    pytest.param(
        "{{ lipsum.__globals__['os'].system('touch PWNED') }}",
        "access to attribute '__globals__' of 'function' object is unsafe.",
        id="lipsum",
    ),
    pytest.param(
        "{{ '{0.__class__}'.format(var) }}",
        "access to attribute '__class__' of 'dict' object is unsafe.",
        id="format",
    ),
    pytest.param(
        "{{ var.update({'x': 1}) }}",
        "access to attribute 'update' of 'dict' object is unsafe.",
        id="mutation",
    ),
]


@pytest.mark.parametrize(("payload", "message"), ESCAPES)
def test_template_sandbox_refuses_escape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_template(tmp_path, f'version: 1\nbroker:\n  name: "{payload}"\n')
    assert problems_of(path) == [f"{path}:3:1: template: {message}"]
    assert not (tmp_path / "PWNED").exists()


# --- secrets -------------------------------------------------------------------------------

SECRETS = """\
version: 1
broker: {name: Acme}
store:
  url: {$env: GW_DB_URL}
accounts:
  - {id: MAIN-USD, name: Main, type: demo}
users:
  - {login: ann, password_hash: {$file: secrets/ann.hash}, accounts: [MAIN-USD]}
  - {login: bob, password_hash: "pbkdf2_sha256$1000$c2FsdA$Ym9iLWlubGluZQ", accounts: [MAIN-USD]}
"""

DB_URL = "postgresql+psycopg://gw:s3cr3t-db-pw@db.example/gateway"
ANN_HASH = "pbkdf2_sha256$1000$c2FsdA$YW5uLWZpbGU"


def load_secrets(tmp_path: Path) -> GatewayConfig:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "ann.hash").write_text(ANN_HASH + "\n", encoding="utf-8")
    path = tmp_path / "gateway.yaml"
    path.write_text(SECRETS, encoding="utf-8")
    return load_config(path, environ={"GW_DB_URL": DB_URL}, registry=fake_registry())


def test_secrets_resolve(tmp_path: Path) -> None:
    cfg = load_secrets(tmp_path)
    assert cfg.store.url.reveal() == DB_URL
    assert cfg.store.url.source == "$env:GW_DB_URL"
    assert cfg.users[0].password_hash.reveal() == ANN_HASH  # trailing newline stripped
    assert cfg.users[0].password_hash.source == "$file:secrets/ann.hash"
    assert cfg.users[1].password_hash.reveal() == "pbkdf2_sha256$1000$c2FsdA$Ym9iLWlubGluZQ"


def test_secrets_never_shown(tmp_path: Path) -> None:
    cfg = load_secrets(tmp_path)
    secrets = (DB_URL, "s3cr3t-db-pw", ANN_HASH, "Ym9iLWlubGluZQ")
    shown = [
        repr(cfg),
        str(cfg),
        repr(cfg.store.url),
        str(cfg.store.url),
        repr(cfg.users[0]),
        f"{cfg.users[1].password_hash}",
    ]
    for text_ in shown:
        for secret in secrets:
            assert secret not in text_
    assert repr(cfg.store.url) == "Secret($env:GW_DB_URL, '***')"


def test_dump_shows_references_not_values(tmp_path: Path) -> None:
    cfg = load_secrets(tmp_path)
    dumped = dump_config(cfg)
    for secret in (DB_URL, "s3cr3t-db-pw", ANN_HASH, "Ym9iLWlubGluZQ"):
        assert secret not in dumped
    assert "store:\n  url:\n    $env: GW_DB_URL\n" in dumped
    assert "  password_hash:\n    $file: secrets/ann.hash\n" in dumped
    assert "- login: bob\n  password_hash: '***'\n" in dumped


def test_check_dump_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    load_secrets(tmp_path)
    monkeypatch.setenv("GW_DB_URL", "sqlite:///from-env.db")
    assert main(["check", str(tmp_path / "gateway.yaml"), "--dump"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "from-env.db" not in out
    assert ANN_HASH not in out
    assert "$env: GW_DB_URL" in out
