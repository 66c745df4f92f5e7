"""The connector registry: entry-point discovery, contract checks, options in YAML, fakes."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import webtest

from gateway.app import build
from gateway.config import ConfigError, load_config
from gateway.plugins.records import Principal
from gateway.plugins.registry import PluginError, Registry, check_connector_class
from gateway.plugins.roles import AccountData, Execution, Identity, MarketData, Role
from gateway.plugins.testing import (
    FAKES,
    FakeAccountData,
    FakeExecution,
    FakeIdentity,
    FakeMarketData,
)
from tests.conftest import DEMO_NO_FEED, FakeClock, bearer

PLUGIN = '''
from dataclasses import dataclass
from gateway.plugins.roles import Role

@dataclass(frozen=True)
class Options:
    path: str
    speed: float = 1.0

class AcmeFeed:
    """A third-party market-data connector."""
    kind = "acme"
    roles = frozenset({Role.MARKET_DATA})
    Options = Options
    def __init__(self, options, context):
        self.options = options
    def start(self): pass
    def stop(self): pass
    def subscribe(self, sink): pass
    def backfill(self, symbol, start, end): return []

class Wrong:
    kind = "wrong_kind"
    roles = frozenset({Role.MARKET_DATA})
    Options = Options
'''


def _dist(root: Path, name: str, entries: str) -> None:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[broker_gateway.connectors]\n" + textwrap.dedent(entries)
    )


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "acme_conn.py").write_text(PLUGIN)
    _dist(
        tmp_path,
        "acme_gateway_plugins",
        """
        acme = acme_conn:AcmeFeed
        mislabelled = acme_conn:Wrong
        needs_extra = acme_not_installed:Thing [fix]
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    import sys

    sys.modules.pop("acme_conn", None)


def test_installed_connectors_are_discovered_and_loaded_on_use(plugin_path: Path) -> None:
    registry = Registry.discover()
    assert {"acme", "mislabelled", "needs_extra"} <= set(registry.kinds())
    cls = registry.get("acme")
    assert cls.__name__ == "AcmeFeed"


def test_an_entry_point_must_declare_its_own_kind(plugin_path: Path) -> None:
    with pytest.raises(PluginError, match="registered as 'mislabelled' but declares kind"):
        Registry.discover().get("mislabelled")


def test_a_missing_optional_library_names_the_extra(plugin_path: Path) -> None:
    with pytest.raises(PluginError) as exc:
        Registry.discover().get("needs_extra")
    assert "pip install 'broker-gateway[fix]'" in str(exc.value)


def test_two_packages_claiming_one_kind_are_refused(
    plugin_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path_factory.mktemp("other")
    _dist(other, "other_plugins", "acme = acme_conn:AcmeFeed\n")
    monkeypatch.syspath_prepend(str(other))
    with pytest.raises(PluginError, match="registered more than once"):
        Registry.discover().get("acme")


def test_unknown_kinds_list_the_known_ones() -> None:
    registry = Registry()
    registry.register(FakeMarketData)
    with pytest.raises(
        PluginError, match=r"unknown connector type 'fake_market' \(known: fake_market_data\)"
    ):
        registry.get("fake_market")


def test_registering_a_kind_twice_is_refused() -> None:
    registry = Registry()
    registry.register(FakeExecution)
    with pytest.raises(PluginError, match="already registered"):
        registry.register(FakeExecution)


def _connector(**attrs: object) -> type:
    base: dict[str, object] = {
        "kind": "x",
        "roles": frozenset({Role.IDENTITY}),
        "Options": FakeIdentity.Options,
        "start": lambda self: None,
        "stop": lambda self: None,
        "authenticate": lambda self, login, password: None,
        "lookup": lambda self, login: None,
    }
    base.update(attrs)
    return type("Custom", (), {k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"kind": None}, "'kind' must be a lower-case identifier"),
        ({"kind": "Bad Kind"}, "'kind' must be a lower-case identifier"),
        ({"roles": {Role.IDENTITY}}, "'roles' must be a non-empty frozenset"),
        ({"roles": frozenset()}, "'roles' must be a non-empty frozenset"),
        ({"roles": frozenset({"identity"})}, "'roles' must be a non-empty frozenset"),
        ({"Options": dict}, "'Options' must be a dataclass"),
        ({"stop": None}, "missing method stop()"),
        ({"lookup": None}, "declares role identity but has no method lookup()"),
        (
            {"roles": frozenset({Role.EXECUTION})},
            "declares role execution but has no method "
            "cancel(), modify(), place(), recover(), subscribe()",
        ),
    ],
)
def test_contract_violations_blame_the_connector_class(
    attrs: dict[str, object], message: str
) -> None:
    with pytest.raises(PluginError) as exc:
        check_connector_class(_connector(**attrs))
    assert message in str(exc.value)
    assert "Custom" in str(exc.value)


def test_the_fakes_fill_their_roles() -> None:
    protocols: dict[type, type] = {
        FakeMarketData: MarketData,
        FakeExecution: Execution,
        FakeAccountData: AccountData,
        FakeIdentity: Identity,
    }
    for fake in FAKES:
        check_connector_class(fake)
        assert isinstance(fake(), protocols[fake])


def test_connector_options_are_validated_with_positions(plugin_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        DEMO_NO_FEED
        + textwrap.dedent("""
        connectors:
          feed:
            type: acme
            path: ticks.csv
            sped: 2
          other:
            type: acme
            speed: fast
        """)
    )
    with pytest.raises(ConfigError) as exc:
        load_config(config)
    lines = [str(p).replace(str(config), "F") for p in exc.value.problems]
    n = len(DEMO_NO_FEED.splitlines())
    assert lines == [
        f"F:{n + 6}:5: connectors.feed.sped: unknown key (did you mean speed?)",
        f"F:{n + 8}:5: connectors.other.path: missing required key",
        f"F:{n + 9}:12: connectors.other.speed: expected a number, got a string ('fast')",
    ]


def test_a_connector_can_be_the_identity(demo_config: object, tmp_path: Path) -> None:
    registry = Registry()
    registry.register(FakeIdentity)
    config = tmp_path / "gateway.yaml"
    text = DEMO_NO_FEED.replace(
        "  data:\n    mode: none\n", ("  data:\n    mode: none\n  identity: people\n")
    )
    config.write_text(text + "connectors:\n  people: {type: fake_identity}\n")
    cfg = load_config(config, registry=registry)
    gateway = build(cfg, registry=registry, clock=FakeClock())
    people = gateway.services.connectors["people"]
    assert isinstance(people, FakeIdentity)
    people.add("carol", "pw", accounts=["DEMO-EUR"])
    app = webtest.TestApp(gateway.app)
    # The YAML user is not consulted once a connector is the identity.
    assert app.post("/authorize", {"login": "demo", "password": "demo"}).json["s"] == "error"
    token = app.post("/authorize", {"login": "carol", "password": "pw"}).json["d"]["access_token"]
    assert [a["id"] for a in app.get("/accounts", headers=bearer(token)).json["d"]] == ["DEMO-EUR"]
    assert people.lookup("carol") == Principal("carol", ("DEMO-EUR",))


@dataclass(frozen=True)
class _Opts:
    pass


class _NotIdentity:
    kind: ClassVar[str] = "plain_feed"
    roles: ClassVar[frozenset[Role]] = frozenset({Role.MARKET_DATA})
    Options: ClassVar[type] = _Opts

    def __init__(self, options: object = None, context: object = None) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def subscribe(self, sink: object) -> None:
        pass

    def backfill(self, symbol: str, start: int, end: int) -> list[object]:
        return []


def test_identity_must_name_a_connector_with_that_role(tmp_path: Path) -> None:
    registry = Registry()
    registry.register(_NotIdentity)
    config = tmp_path / "gateway.yaml"
    text = DEMO_NO_FEED.replace(
        "  data:\n    mode: none\n", ("  data:\n    mode: none\n  identity: feed\n")
    )
    config.write_text(text + "connectors:\n  feed: {type: plain_feed}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(config, registry=registry)
    assert [p.message for p in exc.value.problems] == [
        "connector 'feed' (plain_feed) does not have the identity role"
    ]
