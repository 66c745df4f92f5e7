"""GET /accounts and GET /accounts/{accountId}/instruments."""

from __future__ import annotations

import dataclasses
import urllib.parse

import pytest
import webtest

from gateway.app import build
from gateway.config import GatewayConfig
from gateway.config.model import User
from gateway.conformance.schemas import assert_valid
from gateway.locale import LOCALES
from tests.conftest import FakeClock, bearer, login


def test_accounts_are_the_users_with_every_flag_and_its_default(
    client: webtest.TestApp, token: str
) -> None:
    resp = client.get("/accounts", {"locale": "en"}, headers=bearer(token))
    assert_valid("getAccounts", resp.json)
    accounts = resp.json["d"]
    assert [a["id"] for a in accounts] == ["DEMO-USD", "DEMO-EUR"]
    usd, eur = accounts
    assert usd["name"] == "Demo account (USD)" and usd["type"] == "demo"
    assert usd["currency"] == "USD" and usd["currencySign"] == "$"
    # Set in YAML:
    assert usd["config"]["supportOrderBrackets"] is True
    assert eur["config"]["supportPositionNetting"] is True
    assert eur["config"]["supportMultiposition"] is False
    # Spec defaults filled in, including the spec's upper-case spellings:
    assert eur["config"]["supportPositions"] is True
    assert eur["config"]["supportDOM"] is True
    assert eur["config"]["supportPLUpdate"] is True
    assert eur["config"]["supportLevel2Data"] is False
    assert len(eur["config"]) == 47
    assert usd["ui"]["orderDialogCustomFields"]["comboBox"][0]["id"] == "route"
    assert "instruments" not in eur and "flags" not in eur


def test_accounts_are_localized_with_english_fallback(client: webtest.TestApp, token: str) -> None:
    de = client.get("/accounts", {"locale": "de_DE"}, headers=bearer(token)).json["d"]
    assert de[0]["name"] == "Demokonto (USD)"
    assert de[0]["ui"]["orderDialogCustomFields"]["comboBox"][0]["items"][1]["text"] == "Direkt"
    fr = client.get("/accounts", {"locale": "fr"}, headers=bearer(token)).json["d"]
    assert fr[0]["name"] == "Demo account (USD)"
    unknown = client.get("/accounts", {"locale": "klingon"}, headers=bearer(token)).json["d"]
    assert unknown[0]["name"] == "Demo account (USD)"
    missing = client.get("/accounts", headers=bearer(token)).json["d"]
    assert missing[0]["name"] == "Demo account (USD)"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_spec_locale_is_accepted(client: webtest.TestApp, token: str, locale: str) -> None:
    for url in ("/accounts", "/config", "/accounts/DEMO-USD/instruments"):
        resp = client.get(url, {"locale": locale}, headers=bearer(token))
        assert resp.json["s"] == "ok"


def test_instruments_of_an_account(client: webtest.TestApp, token: str) -> None:
    usd = client.get("/accounts/DEMO-USD/instruments", {"locale": "en"}, headers=bearer(token))
    assert_valid("getInstruments", usd.json)
    assert [i["name"] for i in usd.json["d"]] == ["EURUSD", "AAPL", "BTCUSD", "ESZ2026"]
    eur = client.get("/accounts/DEMO-EUR/instruments", {"locale": "de_DE"}, headers=bearer(token))
    assert_valid("getInstruments", eur.json)
    eurusd, btc = eur.json["d"]
    assert (eurusd["name"], btc["name"]) == ("EURUSD", "BTCUSD")
    assert eurusd["description"] == "Euro / US-Dollar"
    assert eurusd["ui"]["validationRules"][0] == {
        "id": "limitPercent",
        "options": {"min": 0.1, "max": 20},
    }
    assert btc["typespecs"] == "crypto" and btc["type"] == "spot"
    assert "tradingviewSymbol" not in usd.json["d"][1]


HOSTILE_IDS = [
    "NOPE",
    "demo-usd",
    "DEMO-USD ",
    "../DEMO-USD",
    "' OR '1'='1",
    "DEMO-USD;DROP TABLE x",
    "%00",
    "конто",
    "{{7*7}}",
    "A" * 300,
]


@pytest.mark.parametrize("account", HOSTILE_IDS)
def test_unknown_accounts_are_an_error(client: webtest.TestApp, token: str, account: str) -> None:
    quoted = urllib.parse.quote(account, safe="")
    resp = client.get(
        f"/accounts/{quoted}/instruments",
        {"locale": "en"},
        headers=bearer(token),
        expect_errors=True,
    )
    # An id with a '/' decodes into another path altogether: 404, in the error envelope.
    assert resp.status_int == (404 if "/" in account else 200)
    assert_valid("getInstruments", resp.json)
    assert resp.json["s"] == "error"
    if "/" not in account:
        clipped = account if len(account) <= 80 else account[:79] + "…"
        assert resp.json["errmsg"] == f"Unknown account: {clipped}."
    assert len(resp.json["errmsg"]) < 120


def test_unknown_account_message_is_localized(client: webtest.TestApp, token: str) -> None:
    resp = client.get("/accounts/NOPE/instruments", {"locale": "de_DE"}, headers=bearer(token))
    assert resp.json == {"s": "error", "errmsg": "Unbekanntes Konto: NOPE."}


def test_another_users_account_is_indistinguishable_from_a_missing_one(
    demo_config: GatewayConfig, clock: FakeClock
) -> None:
    bob = dataclasses.replace(demo_config.users[0], login="bob", accounts=("DEMO-EUR",))
    users: tuple[User, ...] = (*demo_config.users, bob)
    app = webtest.TestApp(build(dataclasses.replace(demo_config, users=users), clock=clock).app)
    token = login(app, "bob", "demo")
    accounts = app.get("/accounts", headers=bearer(token)).json["d"]
    assert [a["id"] for a in accounts] == ["DEMO-EUR"]
    theirs = app.get("/accounts/DEMO-USD/instruments", headers=bearer(token)).json
    missing = app.get("/accounts/DEMO-XXX/instruments", headers=bearer(token)).json
    assert theirs["errmsg"].replace("DEMO-USD", "?") == missing["errmsg"].replace("DEMO-XXX", "?")
