"""Every shipped example loads without problems, builds, and `gateway check` accepts it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gateway.api.routes import ROUTES
from gateway.app import build
from gateway.cli import main
from gateway.config import load_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted([*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("examples/**/*.yaml.j2")])
IDS = [str(p.relative_to(ROOT)) for p in EXAMPLES]
DEMO = ROOT / "examples" / "demo" / "gateway.yaml"


def copy_example(path: Path, tmp_path: Path) -> Path:
    """The example's directory copied without databases; returns the copied config.

    An example that reads a test certificate from secrets/ (made by `gateway
    test-certificate`, never committed) gets one made in the copy, as its comments instruct.
    """
    target = tmp_path / path.parent.name
    ignore = shutil.ignore_patterns("*.db", "*.db-*", "secrets")
    shutil.copytree(path.parent, target, ignore=ignore)
    # An example that extends another example's file (examples/fix-demo extends the demo)
    # needs that directory next to it, as in the repository.
    for other in sorted(
        set(re.findall(r"^extends: \.\./([\w-]+)/", path.read_text("utf-8"), re.M))
    ):
        if not (tmp_path / other).exists():
            shutil.copytree(path.parent.parent / other, tmp_path / other, ignore=ignore)
    for name in sorted(set(re.findall(r"secrets/([\w.-]+)\.crt", path.read_text("utf-8")))):
        assert main(["test-certificate", str(target / "secrets"), "--name", name]) == 0
    return target / path.name


def test_examples_exist() -> None:
    assert DEMO in EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_example_loads(path: Path, tmp_path: Path) -> None:
    config = load_config(copy_example(path, tmp_path))
    assert config.broker.name
    assert config.accounts or config.account_profiles


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_example_builds_without_touching_the_store(path: Path, tmp_path: Path) -> None:
    copied = copy_example(path, tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    gateway = build(load_config(copied))
    try:
        served = {
            (method, route.path) for route in gateway.routes for method, _ in route.operations
        }
        assert ("POST", "/authorize") in served
    finally:
        gateway.close()
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before  # the store is opened lazily: building creates no database file


EXPECTED_ROUTES = [
    ("POST", "/authorize"),
    ("GET", "/accounts"),
    ("GET", "/accounts/{account_id}/instruments"),
    ("GET", "/config"),
    ("GET", "/mapping"),
    ("GET", "/groups"),
    ("GET", "/permissions"),
    ("POST", "/logout"),
]


def test_gateway_check_demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "examples/demo/gateway.yaml"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith("examples/demo/gateway.yaml: OK — ")
    start = lines.index("routes:")
    end = lines.index("connectors:")
    listed = {tuple(line.split()[:2]) for line in lines[start + 1 : end] if line.strip()}
    for method, path in EXPECTED_ROUTES:
        assert (method, path) in listed, (method, path)
    for route in ROUTES:
        for method, _ in route.operations:
            assert (method, route.path) in listed, (method, route.path)


def test_gateway_check_dump_demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "examples/demo/gateway.yaml", "--dump"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "$argon2id$" not in out  # the demo's inline password hash is masked
    assert "password_hash: '***'" in out


ENVIRONMENTS = ROOT / "examples" / "environments" / "gateway.yaml.j2"


def test_the_environments_template_renders_both_set_ups(tmp_path: Path) -> None:
    copied = copy_example(ENVIRONMENTS, tmp_path)
    staging = load_config(copied, variables={"env": "staging"})
    assert staging.broker.name == "Acme Markets (staging)"
    assert [o.pattern for o in staging.server.cors_origins] == [
        "https://*.tradingview.com",
        "https://*.xstaging.tv",
        "http://localhost:6285",
    ]
    assert staging.auth.trading.token_ttl.seconds == 3600

    secrets = copied.parent / "secrets"
    secrets.mkdir()
    (secrets / "tv-acceptance.hash").write_text(staging.users[0].password_hash.reveal() + "\n")
    environ = {"GATEWAY_STORE_URL": "postgresql+psycopg://gateway@db.internal/gateway"}
    production = load_config(copied, variables={"env": "production"}, environ=environ)
    assert production.broker.name == "Acme Markets"
    assert [o.pattern for o in production.server.cors_origins] == ["https://*.tradingview.com"]
    assert production.store.url.reveal() == environ["GATEWAY_STORE_URL"]
    assert production.store.url.source == "$env:GATEWAY_STORE_URL"
    assert production.users[0].password_hash.source == "$file:secrets/tv-acceptance.hash"
    assert production.accounts[0].type == "live"
    assert production.auth.trading.token_ttl.seconds == 900


def test_the_environments_template_refuses_an_unknown_environment(tmp_path: Path) -> None:
    from gateway.config import ConfigError

    with pytest.raises(ConfigError) as exc:
        load_config(ENVIRONMENTS, variables={"env": "prod"})
    assert [str(p) for p in exc.value.problems] == [
        f"{ENVIRONMENTS}:8:1: template: env must be staging or production, got prod"
    ]
