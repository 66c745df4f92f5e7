"""``extends:``: a configuration written as changes to another one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.config.loader import ConfigError
from tests.conftest import DEMO_NO_FEED
from tests.test_examples import ROOT, copy_example


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_oauth_demo_is_the_demo_with_oauth(tmp_path: Path) -> None:
    demo = load_config(ROOT / "examples" / "demo" / "gateway.yaml")
    oauth = load_config(copy_example(ROOT / "examples" / "demo" / "gateway-oauth.yaml", tmp_path))
    assert (oauth.auth.trading.mode, oauth.auth.data.mode) == ("oauth2", "server_oauth2")
    assert oauth.accounts == demo.accounts
    assert oauth.symbols == demo.symbols
    assert oauth.connectors.keys() == demo.connectors.keys()
    assert oauth.store.url.reveal().endswith("demo-oauth.db")
    # Mappings merge key by key: the base's messages stay, the overlay's are added.
    assert oauth.messages["unknown_account"] == demo.messages["unknown_account"]
    assert oauth.messages["login_form_expired"].get("de_DE").startswith("Das Anmeldeformular")
    assert oauth.auth.login_throttle == demo.auth.login_throttle


def test_lists_are_replaced_whole_and_scalars_overridden(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", DEMO_NO_FEED)
    cfg = load_config(
        write(
            tmp_path / "child.yaml",
            "version: 1\nextends: base.yaml\nbroker: {name: Child}\n"
            "groups: [{id: demo_stocks}, {id: demo_forex}]\n"
            "symbols: []\n",
        )
    )
    assert cfg.broker.name == "Child"
    assert cfg.broker.spec == "1.4.14"  # from the base, merged under broker
    assert [g.id for g in cfg.groups] == ["demo_stocks", "demo_forex"]
    assert cfg.symbols == ()


def test_errors_point_into_the_file_that_holds_the_value(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", DEMO_NO_FEED.replace("token_ttl: 15m", "token_ttl: soon"))
    child = write(tmp_path / "child.yaml", "version: 1\nextends: base.yaml\nbroker: {name: 7}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(child)
    text = str(caught.value)
    assert "base.yaml:" in text and "auth.trading.token_ttl" in text
    assert "child.yaml:3:" in text and "broker.name" in text


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": "version: 1\nextends: a.yaml\n"}, "cannot extend itself"),
        (
            {"a.yaml": "version: 1\nextends: b.yaml\n", "b.yaml": "version: 1\nextends: a.yaml\n"},
            "cannot extend itself",
        ),
        ({"a.yaml": "version: 1\nextends: missing.yaml\n"}, "cannot read"),
        ({"a.yaml": "version: 1\nextends: [b.yaml]\n"}, "expected a file name"),
        ({"a.yaml": "version: 1\nextends: b.yaml\n", "b.yaml": "- 1\n"}, "must be a mapping"),
    ],
)
def test_broken_chains_are_reported(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "a.yaml")


def test_chains_are_limited(tmp_path: Path) -> None:
    write(tmp_path / "f0.yaml", DEMO_NO_FEED)
    for i in range(1, 8):
        write(tmp_path / f"f{i}.yaml", f"version: 1\nextends: f{i - 1}.yaml\n")
    assert load_config(tmp_path / "f5.yaml").broker.name
    with pytest.raises(ConfigError, match="more than 5 files"):
        load_config(tmp_path / "f7.yaml")
