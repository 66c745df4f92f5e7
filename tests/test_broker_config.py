"""GET /config, GET /mapping, GET /groups, GET /permissions, and general HTTP conventions."""

from __future__ import annotations

import webtest

from gateway.conformance.schemas import assert_valid
from tests.conftest import bearer


def test_config_is_localized(client: webtest.TestApp, token: str) -> None:
    en = client.get("/config", {"locale": "en"}, headers=bearer(token))
    assert_valid("getConfiguration", en.json)
    d = en.json["d"]
    assert [i["id"] for i in d["accountSummaryRow"]] == ["balance", "unrealizedPl", "equity"]
    assert d["durations"][0] == {"id": "DAY", "title": "Day", "default": True}
    assert d["pullingInterval"] == {
        "quotes": 500,
        "orders": 500,
        "positions": 1000,
        "accountManager": 1000,
        "balances": 1000,
    }
    de = client.get("/config", {"locale": "de_DE"}, headers=bearer(token)).json["d"]
    assert de["accountManager"][0]["title"] == "Kontoübersicht"
    assert de["accountManager"][0]["columns"][2]["title"] == "Genutzte Marge"
    assert de["durations"][1]["title"] == "Gültig bis Widerruf"


def test_mapping_is_public_bare_and_skips_unmapped_symbols(client: webtest.TestApp) -> None:
    resp = client.get("/mapping")
    assert_valid("getMapping", resp.json)
    assert resp.json == {
        "symbols": [
            {"f": ["AAPL"], "s": "NASDAQ:AAPL"},
            {"f": ["ESZ2026"], "s": "CME_MINI:ESZ2026"},
        ],
        "fields": ["brokerSymbol"],
    }


def test_groups_share_the_broker_prefix(client: webtest.TestApp) -> None:
    resp = client.get("/groups")
    assert resp.content_type == "application/json"
    assert_valid("getGroups", resp.json)
    ids = [g["id"] for g in resp.json["d"]["groups"]]
    assert ids == ["demo_forex", "demo_stocks", "demo_crypto"]


def test_permissions_are_the_users_groups(client: webtest.TestApp, token: str) -> None:
    resp = client.get("/permissions", headers=bearer(token))
    assert_valid("getPermissions", resp.json)
    assert resp.json == {"s": "ok", "d": {"groups": ["demo_forex", "demo_stocks"]}}


def test_answers_are_compact_json_with_a_request_id(client: webtest.TestApp) -> None:
    resp = client.get("/groups", headers={"X-Request-Id": "abc"})
    assert resp.content_type == "application/json"
    assert b": " not in resp.body and b", " not in resp.body
    assert len(resp.headers["X-Request-Id"]) == 32  # "abc" is too short to be trusted
    kept = client.get("/groups", headers={"X-Request-Id": "lb-0123456789"})
    assert kept.headers["X-Request-Id"] == "lb-0123456789"


def test_trailing_slashes_are_tolerated(client: webtest.TestApp, token: str) -> None:
    assert client.get("/accounts/", headers=bearer(token)).json["s"] == "ok"


def test_wrong_methods_and_paths_get_the_error_envelope(client: webtest.TestApp) -> None:
    resp = client.put("/mapping", expect_errors=True)
    assert resp.status_int == 405
    assert resp.json == {"s": "error", "errmsg": "PUT is not allowed on /mapping."}
    assert "GET" in resp.headers["Allow"]
    resp = client.get("/accounts/DEMO-USD/nothing/<script>", expect_errors=True)
    assert resp.status_int == 404
    assert resp.json["s"] == "error"
