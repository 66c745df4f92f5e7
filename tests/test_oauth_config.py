"""Malformed ``auth.oauth`` sections: each mistake is reported where it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from tests.oauth_app import certificate
from tests.test_config_errors import BASE, problems_of

SHA = "sha256$" + "0" * 64


def oauth(body: str, modes: str = "  trading: {mode: oauth2}\n") -> str:
    """BASE with an auth section; ``body`` is indented under ``auth.oauth`` (line 9 on)."""
    return BASE + "auth:\n" + modes + "  oauth:\n" + body


CLIENT = (
    "    public_url: https://tv.acme.example/api\n"
    "    clients:\n"
    f"      - {{client_id: tv-prod, client_secret_hash: '{SHA}',"
    " redirect_uris: ['https://www.tradingview.com/cb']}\n"
)


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "gateway.yaml"
    path.write_text(text, encoding="utf-8")
    return [line.split(":", 1)[1] for line in problems_of(path)]


def test_a_valid_section_loads(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(oauth(CLIENT), encoding="utf-8")
    config = load_config(path)
    assert config.auth.oauth is not None
    assert config.auth.oauth.token_url == "https://tv.acme.example/api/oauth/token"
    assert config.auth.oauth.secure


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            BASE + "auth:\n  trading: {mode: oauth2}\n",
            "auth.trading.mode: oauth2 needs at least one client in auth.oauth.clients",
            id="oauth2-without-clients",
        ),
        pytest.param(
            oauth(CLIENT, "  data: {mode: server_oauth2}\n"),
            "auth.data.mode: server_oauth2 needs at least one entry in auth.oauth.servers",
            id="server-mode-without-servers",
        ),
        pytest.param(
            oauth(CLIENT.replace("https://tv.acme.example/api", "http://tv.acme.example")),
            "must be an absolute https:// URL (http only for localhost)",
            id="public-url-plain-http",
        ),
        pytest.param(
            oauth(CLIENT.replace("https://tv.acme.example/api", "https://tv.acme.example/api/")),
            "no trailing '/'",
            id="public-url-trailing-slash",
        ),
        pytest.param(
            oauth(CLIENT.replace("https://www.tradingview.com/cb", "https://*.tradingview.com/cb")),
            None,  # a wildcard is just a host name that never matches: accepted, matched exactly
            id="redirect-uri-wildcard-is-literal",
        ),
        pytest.param(
            oauth(
                CLIENT.replace("https://www.tradingview.com/cb", "https://www.tradingview.com/cb#x")
            ),
            "must not contain a #fragment",
            id="redirect-uri-fragment",
        ),
        pytest.param(
            oauth(
                CLIENT.replace(
                    "redirect_uris: ['https://www.tradingview.com/cb']", "redirect_uris: []"
                )
            ),
            "auth.oauth.clients[0].redirect_uris",
            id="no-redirect-uris",
        ),
        pytest.param(
            oauth(CLIENT.replace(SHA, "demo-secret")),
            "not a client secret hash; create the client with `gateway oauth-client`",
            id="plain-secret",
        ),
        pytest.param(
            oauth(CLIENT.replace("tv-prod", "tv prod")),
            "must be 1 to 128 letters, digits or . _ ~ -",
            id="client-id",
        ),
        pytest.param(
            oauth(CLIENT + CLIENT.split("clients:\n")[1]),
            "auth.oauth.clients[1].client_id: duplicate client_id 'tv-prod'",
            id="duplicate-client",
        ),
        pytest.param(
            oauth(CLIENT + "    login_page: {colours: {primary: red}}\n"),
            "auth.oauth.login_page.colours.primary: must be a colour written #rrggbb",
            id="colour",
        ),
        pytest.param(
            oauth(CLIENT + "    login_page: {logo: missing.png}\n"),
            "auth.oauth.login_page.logo: no such file",
            id="logo-missing",
        ),
        pytest.param(
            oauth(CLIENT + "    login_page: {logo: logo.exe}\n"),
            "auth.oauth.login_page.logo: must be one of",
            id="logo-type",
        ),
        pytest.param(
            oauth(CLIENT + "    code_ttl: 1h\n"),
            "auth.oauth.code_ttl: must be between 10s and 10m",
            id="code-ttl",
        ),
        pytest.param(
            oauth(CLIENT + "    clients_: []\n"),
            "auth.oauth.clients_: unknown key (did you mean clients?)",
            id="unknown-key",
        ),
    ],
)
def test_mistakes_are_reported(tmp_path: Path, text: str, expected: str | None) -> None:
    if expected is None:
        path = tmp_path / "gateway.yaml"
        path.write_text(text, encoding="utf-8")
        assert load_config(path).auth.oauth is not None
        return
    found = problems(tmp_path, text)
    assert any(expected in line for line in found), found


def server(cert: str, urn: str = "urn:acme:oauth:grant-type:jwt") -> str:
    return (
        "    servers:\n"
        f"      - client_id: tv-data\n"
        f"        client_secret_hash: '{SHA}'\n"
        f"        certificate: {{$file: {cert}}}\n"
        f"        grant_type: {urn}\n"
        "        subject: tradingview\n"
        "        app_url: https://www.tradingview.com\n"
    )


def test_server_clients_check_their_certificate_and_urn(tmp_path: Path) -> None:
    _key, cert = certificate()
    (tmp_path / "good.crt").write_text(cert, encoding="ascii")
    (tmp_path / "bad.crt").write_text("-----BEGIN CERTIFICATE-----\nnope\n", encoding="ascii")
    modes = "  data: {mode: server_oauth2}\n"
    path = tmp_path / "gateway.yaml"
    path.write_text(oauth(CLIENT + server("good.crt"), modes), encoding="utf-8")
    assert load_config(path).auth.oauth is not None
    found = problems(tmp_path, oauth(CLIENT + server("bad.crt"), modes))
    assert any("certificate: not a PEM X.509 certificate" in line for line in found), found
    found = problems(tmp_path, oauth(CLIENT + server("missing.crt"), modes))
    assert any("certificate" in line and "missing.crt" in line for line in found), found
    found = problems(tmp_path, oauth(CLIENT + server("good.crt", urn="personal-jwt"), modes))
    assert any("grant_type: must be a URN" in line for line in found), found
