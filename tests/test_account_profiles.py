"""Account profiles: a broker's many accounts, listed by its tables, served from a template."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
import webtest

from gateway.app import build
from gateway.auth.directory import AccountDirectory
from gateway.config import ConfigError, load_config
from gateway.config.accounts import Account, AccountFlags
from gateway.config.types import Text
from gateway.conformance.schemas import assert_valid
from gateway.plugins.records import AccountListing, Principal
from tests.conftest import FakeClock, bearer, with_store
from tests.sql_broker import EXAMPLE, load_broker
from tests.test_config_errors import fake_registry

NOW = 1_800_000_000.0

PROFILE = Account(
    id="default",
    name=Text.plain("Trading account"),
    type="live",
    currency="USD",
    flags=AccountFlags(support_executions=True),
    instruments=("EURUSD",),
)
PRO = replace(PROFILE, id="pro", flags=AccountFlags(support_order_brackets=True))
CONFIGURED = replace(PROFILE, id="AC-1", name=Text.plain("From the YAML"), currency="CHF")


def principal(*listings: AccountListing, extra: tuple[str, ...] = ()) -> Principal:
    return Principal("u", tuple(x.id for x in listings) + extra, (), listings)


def test_a_listing_is_served_from_its_profile_with_its_own_name_currency_and_type() -> None:
    directory = AccountDirectory([CONFIGURED], [PROFILE, PRO])
    user = principal(
        AccountListing("AC-2", name="Alice (EUR)", currency="eur", type="demo"),
        AccountListing("AC-3", profile="pro"),
    )
    made = directory.find(user, "AC-2")
    assert made is not None
    assert (made.id, made.name.get("en"), made.currency, made.type) == (
        "AC-2", "Alice (EUR)", "EUR", "demo"
    )  # fmt: skip
    assert made.flags == PROFILE.flags and made.instruments == ("EURUSD",)
    pro = directory.find(user, "AC-3")
    assert pro is not None and pro.flags == PRO.flags and pro.name.get("en") == "Trading account"
    # Made once per listing: the same object on the next request.
    assert directory.find(user, "AC-2") is made


def test_a_configured_account_wins_over_its_listing() -> None:
    directory = AccountDirectory([CONFIGURED], [PROFILE])
    user = principal(AccountListing("AC-1", name="From the tables", currency="JPY"))
    assert directory.find(user, "AC-1") is CONFIGURED


def test_accounts_the_user_may_not_use_or_that_cannot_be_served_are_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    directory = AccountDirectory([CONFIGURED], [PROFILE])
    user = principal(
        AccountListing("AC-4", profile="gold"),  # no such profile
        AccountListing("AC 5/../x"),  # not routable in a URL path
        AccountListing("AC-6", currency="US D", type="paper"),
        extra=("AC-7",),  # listed without details: only a configured entry serves it
    )
    with caplog.at_level(logging.WARNING, "gateway.accounts"):
        assert directory.find(user, "AC-4") is None
        assert directory.find(user, "AC 5/../x") is None
    assert "no account profile 'gold'" in caplog.text and "not served" in caplog.text
    assert directory.find(user, "AC-7") is None
    assert directory.find(user, "AC-1") is None  # configured, but not this user's
    odd = directory.find(user, "AC-6")
    assert odd is not None and odd.currency == "USD" and odd.type == "live"
    assert [a.id for a in directory.listed(user)] == ["AC-6"]


def test_without_profiles_only_configured_accounts_are_served() -> None:
    directory = AccountDirectory([CONFIGURED], [])
    user = principal(AccountListing("AC-1"), AccountListing("AC-2"))
    assert [a.id for a in directory.listed(user)] == ["AC-1"]


BASE = """
version: 1
broker: {name: B}
instruments:
  - {name: EURUSD, description: E, type: forex, minTick: 0.00001, pipSize: 0.0001,
     pipValue: 0.0001}
"""


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        (
            "auth: {identity: db}\nconnectors: {db: {type: fake_identity}}\n",
            "accounts",
            "at least one account",
        ),
        (
            "account_profiles: [{id: default, name: N, type: live}]\n"
            'users: [{login: a, password_hash: "pbkdf2_sha256$1$salt$hash", accounts: [A]}]\n'
            "accounts: [{id: A, name: A, type: live}]\n",
            "account_profiles",
            "set auth.identity",
        ),
        (
            "account_profiles:\n  - {id: default, name: N, type: live}\n"
            "  - {id: default, name: M, type: live}\n"
            "auth: {identity: db}\nconnectors: {db: {type: fake_identity}}\n",
            "account_profiles[1].id",
            "duplicate id 'default'",
        ),
        (
            "account_profiles: [{id: default, name: N, type: live, instruments: [EURUDS]}]\n"
            "auth: {identity: db}\nconnectors: {db: {type: fake_identity}}\n",
            "account_profiles[0].instruments[0]",
            "unknown instrument 'EURUDS'",
        ),
    ],
)
def test_profile_mistakes_point_at_the_line(
    tmp_path: Path, body: str, where: str, message: str
) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(BASE + body, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path, registry=fake_registry())
    assert any(where in line and message in line for line in str(raised.value).splitlines()), (
        raised.value
    )


@pytest.fixture
def app(tmp_path: Path) -> Iterator[webtest.TestApp]:
    module = load_broker()
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    module.create(url)
    module.seed(url, now_ms=int(NOW * 1000))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        # One of the broker's accounts on a profile of its own.
        conn.execute(sa.text("ALTER TABLE trading_accounts ADD COLUMN tv_profile VARCHAR(16)"))
        conn.execute(
            sa.text("UPDATE trading_accounts SET tv_profile = 'eur' WHERE acct_no = 'AC-10002'")
        )
    engine.dispose()
    text = (EXAMPLE / "gateway.yaml").read_text()
    text = text.replace(
        "SELECT a.acct_no, a.title, a.ccy", "SELECT a.acct_no, a.title, a.ccy, a.tv_profile"
    )
    profile = "          profile: \"{{ {'M': 'default', 'N': 'netting'}[row.book] }}\""
    assert profile in text
    text = text.replace(profile, "          profile: tv_profile")
    text = text.replace(
        "account_profiles:\n",
        "account_profiles:\n  - {id: eur, name: EUR account, type: demo, currency: EUR, "
        "instruments: [EURUSD], flags: {supportOrdersHistory: false}}\n",
    )
    (tmp_path / "gateway.yaml").write_text(text)
    config = load_config(tmp_path / "gateway.yaml", environ={"BROKER_DB_URL": url})
    gateway = build(with_store(config, f"sqlite:///{tmp_path / 'gw.db'}"), clock=FakeClock(NOW))
    gateway.start()
    yield webtest.TestApp(gateway.app)
    gateway.close()


def test_the_example_s_accounts_come_from_the_broker_s_tables(app: webtest.TestApp) -> None:
    token = app.post("/authorize", {"login": "alice", "password": "alice-pass"}).json["d"]
    headers = bearer(token["access_token"])
    resp = app.get("/accounts", {"locale": "en"}, headers=headers)
    assert_valid("getAccounts", resp.json)
    accounts = {a["id"]: a for a in resp.json["d"]}
    assert list(accounts) == ["AC-10001", "AC-10002"]
    assert accounts["AC-10001"]["name"] == "Alice (USD)"
    assert accounts["AC-10001"]["currency"] == "USD" and accounts["AC-10001"]["type"] == "live"
    assert accounts["AC-10001"]["config"]["supportOrdersHistory"] is True
    assert accounts["AC-10002"]["currency"] == "EUR" and accounts["AC-10002"]["type"] == "demo"
    assert accounts["AC-10002"]["config"]["supportOrdersHistory"] is False
    names = [
        i["name"] for i in app.get("/accounts/AC-10002/instruments", headers=headers).json["d"]
    ]
    assert names == ["EURUSD"]
    assert len(app.get("/accounts/AC-10001/instruments", headers=headers).json["d"]) == 4
    # The profile's flags gate the endpoints of the accounts made from it.
    resp = app.get("/accounts/AC-10002/ordersHistory", headers=headers)
    assert resp.json["s"] == "error" and "history" in resp.json["errmsg"]
    orders = app.get("/accounts/AC-10001/orders", headers=headers).json
    assert orders["s"] == "ok" and orders["d"]
    # Bob's account exists, but not for Alice; the suspended account exists for nobody.
    for other in ("AC-20001", "AC-30001"):
        resp = app.get(f"/accounts/{other}/orders", headers=headers)
        assert resp.json["s"] == "error" and other in resp.json["errmsg"]
