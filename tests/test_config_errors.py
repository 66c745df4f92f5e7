"""Malformed configurations: every mistake is one `file:line:col: path: message` line.

Each case is a small YAML file; the expected lines are written without the file name, which the
test prefixes with the temporary file's path. Most cases append to ``BASE`` (six lines, valid on
its own), so their mistakes sit on line 7 and below.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import ConfigError, load_config
from gateway.plugins.registry import Registry
from gateway.plugins.testing import FAKES

HASH = "pbkdf2_sha256$1$salt$hash"

BASE = """\
version: 1
broker: {name: Acme}
accounts:
  - {id: MAIN-USD, name: Main, type: demo}
users:
  - {login: ann, password_hash: "pbkdf2_sha256$1$salt$hash", accounts: [MAIN-USD]}
"""

ENVIRON = {"GW_DB_URL": "sqlite://"}


def plus(extra: str) -> str:
    """BASE followed by ``extra``, which starts on line 7."""
    return BASE + extra


def text(yaml_text: str) -> str:
    """A whole file, dedented."""
    return textwrap.dedent(yaml_text)


INSTRUMENT = "{name: X, description: X, type: stock, pipSize: 0.01, pipValue: 0.01, minTick: 0.01"


def fake_registry() -> Registry:
    """A registry with the shipped fakes only, whatever plugins are installed."""
    registry = Registry()
    for fake in FAKES:
        registry.register(fake)
    return registry


def problems_of(path: Path) -> list[str]:
    """The problem lines of loading ``path``; fails if it loads."""
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=ENVIRON, registry=fake_registry())
    return [str(problem) for problem in info.value.problems]


CASES = [
    # --- the file as a whole -----------------------------------------------------------------
    pytest.param(
        "broker: {name: Acme}\n",
        ["1:1: version: missing required key (write 'version: 1' at the top)"],
        id="missing-version",
    ),
    pytest.param(
        BASE.replace("version: 1", "version: 2"),
        ["1:10: version: expected one of 1, got a number (2)"],
        id="wrong-version",
    ),
    pytest.param(
        BASE.replace("version: 1", 'version: "1"'),
        ["1:10: version: expected the number 1, got a string ('1'); remove the quotes"],
        id="version-quoted",
    ),
    pytest.param(
        "- version: 1\n- broker: {name: Acme}\n",
        ["1:1: expected a mapping with at least 'version'"],
        id="root-is-a-list",
    ),
    pytest.param(
        "just some words\n",
        ["1:1: expected a mapping with at least 'version'"],
        id="root-is-a-scalar",
    ),
    pytest.param("", ["1:1: expected a mapping with at least 'version'"], id="empty-file"),
    pytest.param(
        "# only a comment\n",
        ["1:1: expected a mapping with at least 'version'"],
        id="only-comments",
    ),
    pytest.param(
        "version: 1\nbroker:\n name: Acme\n  spec: 1.4.14\n",
        ["4:7: invalid YAML: mapping values are not allowed here"],
        id="yaml-syntax-error",
    ),
    pytest.param(
        # The parser notices at the end of the file and names where the '[' was opened.
        "version: 1\nbroker:\n  name: [Acme\n",
        [
            "4:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence at line 3)"
        ],
        id="yaml-unclosed-flow-list",
    ),
    pytest.param(
        "version: 1\nbroker:\n\tname: Acme\n",
        ["3:1: invalid YAML: found character '\\t' that cannot start any token"],
        id="yaml-tab-indent",
    ),
    pytest.param(
        plus("server:\n  max_body_bytes: !!python/name:os.system ''\n"),
        [
            "8:19: invalid YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/name:os.system'"
        ],
        id="yaml-python-tag-refused",
    ),
    pytest.param(
        # A tag on a collection is refused too, not silently dropped.
        plus("server:\n  max_body_bytes: !!python/object/apply:os.system [echo pwned]\n"),
        [
            "8:19: invalid YAML: tag tag:yaml.org,2002:python/object/apply:os.system is not "
            "allowed here"
        ],
        id="yaml-python-tag-on-list-refused",
    ),
    # --- keys ------------------------------------------------------------------------------
    pytest.param(
        plus("acounts: []\n"),
        ["7:1: acounts: unknown key (did you mean accounts?)"],
        id="unknown-top-level-key",
    ),
    pytest.param(
        plus("instrument: []\n"),
        ["7:1: instrument: unknown key (did you mean instruments?)"],
        id="unknown-top-level-key-singular",
    ),
    pytest.param(
        text("""\
            version: 1
            broker: {name: Acme}
            accounts:
              - id: MAIN-USD
                name: Main
                type: demo
                flags:
                  supportOrderBracket: true
            users:
              - {login: ann, password_hash: "pbkdf2_sha256$1$salt$hash", accounts: [MAIN-USD]}
            """),
        [
            "8:7: accounts[0].flags.supportOrderBracket: unknown key "
            "(did you mean supportOrderBrackets?)"
        ],
        id="unknown-nested-key",
    ),
    pytest.param(
        plus("broker:\n  name: Other\n"),
        ["7:1: broker: duplicate key"],
        id="duplicate-top-level-key",
    ),
    pytest.param(
        text("""\
            version: 1
            broker: {name: Acme}
            accounts:
              - id: MAIN-USD
                name: Main
                type: demo
                type: live
            users:
              - {login: ann, password_hash: "pbkdf2_sha256$1$salt$hash", accounts: [MAIN-USD]}
            """),
        ["7:5: accounts[0].type: duplicate key"],
        id="duplicate-nested-key",
    ),
    pytest.param(
        BASE.replace("broker: {name: Acme}", "broker: {spec: 1.4.14}"),
        ["2:9: broker.name: missing required key"],
        id="missing-required-key",
    ),
    pytest.param(
        BASE.replace("broker: {name: Acme}", "broker:\n  name:"),
        ["3:8: broker.name: must not be empty"],
        id="required-key-left-empty",
    ),
    # --- scalar types ------------------------------------------------------------------------
    pytest.param(
        BASE.replace("broker: {name: Acme}", "broker: {name: 1234}"),
        ["2:16: broker.name: expected a string, got a number (1234); quote it"],
        id="string-expected-got-number",
    ),
    pytest.param(
        BASE.replace("broker: {name: Acme}", "broker: {name: Acme, spec: 1.4}"),
        ["2:28: broker.spec: expected a string, got a number (1.4); quote it"],
        id="spec-version-unquoted",
    ),
    pytest.param(
        text("""\
            version: 1
            broker: {name: Acme}
            accounts:
              - id: MAIN-USD
                name: Main
                type: demo
                flags: {supportLogout: "yes please"}
            users:
              - {login: ann, password_hash: "pbkdf2_sha256$1$salt$hash", accounts: [MAIN-USD]}
            """),
        [
            "7:28: accounts[0].flags.supportLogout: expected true or false, "
            "got a string ('yes please')"
        ],
        id="bool-expected",
    ),
    pytest.param(
        plus("server:\n  max_body_bytes: 1.5\n"),
        ["8:19: server.max_body_bytes: expected a whole number, got a number (1.5)"],
        id="integer-expected",
    ),
    pytest.param(
        plus("server:\n  max_body_bytes: -1\n"),
        ["8:19: server.max_body_bytes: must be at least 1"],
        id="negative-body-limit",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", minQty: 2e9}\n"),
        # YAML 1.1 reads 2e9 as a string; the message says how to write it.
        [
            "8:98: instruments[0].minQty: expected a number, got a string ('2e9'); YAML reads "
            "it as text: write 2.0e+9 rather than 2e9, and no quotes"
        ],
        id="yaml11-exponent-is-a-string",
    ),
    pytest.param(
        BASE.replace("type: demo", "type: Demo"),
        ["4:38: accounts[0].type: unknown value 'Demo' (did you mean demo?) (allowed: live, demo)"],
        id="enum-with-suggestion",
    ),
    pytest.param(
        plus("auth:\n  data:\n    mode: basic\n"),
        [
            "9:11: auth.data.mode: unknown value 'basic' "
            "(allowed: none, password_bearer, server_oauth2)"
        ],
        id="enum-without-suggestion",
    ),
    # --- localized texts ---------------------------------------------------------------------
    pytest.param(
        BASE.replace("name: Main", "name: {en: Main, de: Haupt}"),
        ["4:37: accounts[0].name.de: unknown locale (did you mean de_DE?) (one of the spec's 28)"],
        id="unknown-locale",
    ),
    pytest.param(
        BASE.replace("name: Main", "name: {en: Main, de_de: Haupt}"),
        [
            "4:37: accounts[0].name.de_de: unknown locale (did you mean de_DE?) "
            "(one of the spec's 28)"
        ],
        id="unknown-locale-with-suggestion",
    ),
    pytest.param(
        BASE.replace("name: Main", "name: {de_DE: Haupt}"),
        ["4:26: accounts[0].name: missing the English text (en), the fallback of every locale"],
        id="localized-text-without-en",
    ),
    pytest.param(
        BASE.replace("name: Main", "name: {en: Main, en: Other}"),
        ["4:37: accounts[0].name.en: duplicate key"],
        id="localized-text-duplicate-locale",
    ),
    # --- account flags -----------------------------------------------------------------------
    pytest.param(
        text("""\
            version: 1
            broker: {name: Acme}
            accounts:
              - id: MAIN-USD
                name: Main
                type: demo
                flags:
                  supportBrackets: true
            users:
              - {login: ann, password_hash: "pbkdf2_sha256$1$salt$hash", accounts: [MAIN-USD]}
            """),
        [
            "8:7: accounts[0].flags.supportBrackets: deprecated by TradingView: use "
            "supportOrderBrackets and supportPositionBrackets"
        ],
        id="deprecated-flag",
    ),
    pytest.param(
        text("""\
            version: 1
            broker: {name: Acme}
            accounts:
              - id: MAIN-USD
                name: Main
                type: demo
                flags:
                  supportLogout: true
                  supportPartialClosePosition: true
            users:
              - {login: ann, password_hash: "pbkdf2_sha256$1$salt$hash", accounts: [MAIN-USD]}
            """),
        ["9:7: accounts[0].flags.supportPartialClosePosition: requires supportClosePosition: true"],
        id="flag-dependency",
    ),
    pytest.param(
        BASE.replace("id: MAIN-USD,", "id: MAIN USD,"),
        ["4:10: accounts[0].id: must be 1-64 characters of letters, digits, '.', '_', ':' or '-'"],
        id="account-id-with-space",
    ),
    # --- limits ------------------------------------------------------------------------------
    pytest.param(
        plus("ui:\n  pullingInterval:\n    quotes: 500\n    positions: 2000\n"),
        ["10:16: ui.pullingInterval.positions: must be at most 1500 ms (TradingView's maximum)"],
        id="pulling-interval-above-maximum",
    ),
    pytest.param(
        plus("ui:\n  pullingInterval: {orders: 0}\n"),
        ["8:29: ui.pullingInterval.orders: must be a positive number of milliseconds"],
        id="pulling-interval-zero",
    ),
    pytest.param(
        plus("auth:\n  trading:\n    token_ttl: 25d\n"),
        [
            "9:16: auth.trading.token_ttl: must be at most 24d20h31m23s "
            "(TradingView's maximum token lifetime)"
        ],
        id="token-ttl-above-maximum",
    ),
    pytest.param(
        plus("auth:\n  trading:\n    token_ttl: 30s\n"),
        ["9:16: auth.trading.token_ttl: must be at least 1m"],
        id="token-ttl-below-minimum",
    ),
    pytest.param(
        plus("auth:\n  trading:\n    token_ttl: 15 minutes\n"),
        [
            "9:16: auth.trading.token_ttl: expected a duration such as 30s, 15m or 1h, "
            "got a string ('15 minutes')"
        ],
        id="bad-duration-string",
    ),
    pytest.param(
        plus("auth:\n  login_throttle: {window: -5}\n"),
        [
            "8:28: auth.login_throttle.window: expected a duration such as 30s, 15m or 1h, "
            "got a number (-5)"
        ],
        id="negative-duration",
    ),
    pytest.param(
        plus("auth:\n  login_throttle: {max_failures_per_login: 0}\n"),
        ["8:44: auth.login_throttle.max_failures_per_login: must be at least 1"],
        id="throttle-zero",
    ),
    pytest.param(
        plus("server:\n  cors_max_age: 2d\n"),
        ["8:17: server.cors_max_age: must be at most 1d (browsers cap it lower)"],
        id="cors-max-age-above-one-day",
    ),
    # --- server ------------------------------------------------------------------------------
    pytest.param(
        plus("server:\n  cors_origins: ['*']\n"),
        [
            "8:18: server.cors_origins[0]: '*' would let any web site call the API with a user's "
            "token; list the allowed origins instead"
        ],
        id="cors-origin-star",
    ),
    pytest.param(
        plus(
            "server:\n  cors_origins:\n    - https://*.tradingview.com\n"
            "    - https://broker.example/app\n"
        ),
        [
            "10:7: server.cors_origins[1]: 'https://broker.example/app' is not an origin: write "
            "scheme://host[:port], no path, '*.' only as the first label"
        ],
        id="cors-origin-with-path",
    ),
    pytest.param(
        plus("server:\n  trusted_proxies:\n    - 10.0.0.0/8\n    - 300.1.1.1\n"),
        [
            "10:7: server.trusted_proxies[1]: '300.1.1.1' is not an IP address or network "
            "(e.g. 10.0.0.0/8)"
        ],
        id="bad-trusted-proxy",
    ),
    pytest.param(
        plus("server:\n  base_path: /api/\n"),
        ["8:14: server.base_path: must be empty or start with '/' and not end with '/', e.g. /api"],
        id="base-path-trailing-slash",
    ),
    # --- secrets -----------------------------------------------------------------------------
    pytest.param(
        plus("store:\n  url: {$env: GW_NOT_SET}\n"),
        ["8:15: store.url: environment variable GW_NOT_SET is not set"],
        id="env-secret-not-set",
    ),
    pytest.param(
        plus("store:\n  url: {$file: missing-secret.txt}\n"),
        ["8:16: store.url: cannot read secret file missing-secret.txt: No such file or directory"],
        id="file-secret-missing",
    ),
    pytest.param(
        plus("store:\n  url: {$evn: GW_DB_URL}\n"),
        [
            "8:9: store.url: unknown secret reference '$evn' (did you mean $env?) "
            "(use $env or $file)"
        ],
        id="secret-reference-typo",
    ),
    pytest.param(
        plus("store:\n  url: {$vault: secret/db}\n"),
        ["8:9: store.url: unknown secret reference '$vault' (use $env or $file)"],
        id="secret-reference-unknown-kind",
    ),
    pytest.param(
        BASE.replace(HASH, "hunter2"),
        [
            "6:33: users[0].password_hash: not a password hash; create one with "
            "`gateway hash-password`"
        ],
        id="password-hash-not-a-hash",
    ),
    # --- cross-references ----------------------------------------------------------------------
    pytest.param(
        BASE.replace("accounts: [MAIN-USD]", "accounts: [MAIN-UDS]"),
        ["6:73: users[0].accounts[0]: unknown account 'MAIN-UDS' (did you mean MAIN-USD?)"],
        id="user-references-unknown-account",
    ),
    pytest.param(
        BASE.replace("type: demo}", "type: demo, instruments: [EURUSD]}")
        + "instruments:\n  - "
        + INSTRUMENT.replace("name: X", "name: EUR/USD")
        + "}\n",
        ["4:58: accounts[0].instruments[0]: unknown instrument 'EURUSD' (did you mean EUR/USD?)"],
        id="account-references-unknown-instrument",
    ),
    pytest.param(
        BASE.replace("type: demo}", "type: demo}\n  - {id: MAIN-USD, name: Other, type: live}"),
        ["5:6: accounts[1].id: duplicate id 'MAIN-USD'"],
        id="duplicate-account-id",
    ),
    pytest.param(
        BASE + "  - {login: ann, password_hash: '" + HASH + "', accounts: [MAIN-USD]}\n",
        ["7:6: users[1].login: duplicate login 'ann'"],
        id="duplicate-user-login",
    ),
    pytest.param(
        BASE.replace("accounts: [MAIN-USD]}", "accounts: [MAIN-USD], groups: [acme_fxx]}")
        + "groups:\n  - id: acme_fx\n",
        ["6:93: users[0].groups[0]: unknown group 'acme_fxx' (did you mean acme_fx?)"],
        id="user-references-unknown-group",
    ),
    # --- groups ------------------------------------------------------------------------------
    pytest.param(
        plus("groups:\n  - id: Acme_FX\n"),
        ["8:5: groups[0].id: must be lower-case latin letters and '_' only"],
        id="group-id-not-lowercase",
    ),
    pytest.param(
        plus("groups:\n  - id: acme_fx\n  - id: other_stocks\n"),
        ["9:5: groups[1].id: all group ids must share the prefix 'acme_' of the first one"],
        id="groups-without-common-prefix",
    ),
    pytest.param(
        plus("groups:\n  - id: forex\n"),
        [
            "8:5: groups[0].id: group ids must start with the broker's prefix and '_', "
            "e.g. acme_forex"
        ],
        id="group-without-prefix",
    ),
    # --- messages ----------------------------------------------------------------------------
    pytest.param(
        plus("messages:\n  invalid_credential: Wrong password.\n"),
        ["8:3: messages.invalid_credential: unknown message (did you mean invalid_credentials?)"],
        id="unknown-message-code",
    ),
    pytest.param(
        plus(
            "messages:\n  unknown_account:\n    en: 'No account {account}.'\n"
            "    de_DE: 'Kein Konto {konto}.'\n"
        ),
        [
            "10:12: messages.unknown_account.de_DE: unknown placeholder {konto} "
            "(available: {account})"
        ],
        id="message-unknown-placeholder-localized",
    ),
    pytest.param(
        plus("messages:\n  unknown_account: 'No account {acount}.'\n"),
        ["8:20: messages.unknown_account: unknown placeholder {acount} (available: {account})"],
        id="message-unknown-placeholder",
    ),
    pytest.param(
        plus("messages:\n  unknown_account:\n    en: 'No account {account.__class__}.'\n"),
        [
            "9:9: messages.unknown_account.en: placeholder {account.__class__} must be a plain "
            "{name}"
        ],
        id="message-attribute-placeholder",
    ),
    pytest.param(
        plus("messages:\n  unknown_account:\n    en: 'No account {account[0]}.'\n"),
        ["9:9: messages.unknown_account.en: placeholder {account[0]} must be a plain {name}"],
        id="message-index-placeholder",
    ),
    pytest.param(
        plus("messages:\n  unknown_account:\n    en: 'No account {account!r}.'\n"),
        ["9:9: messages.unknown_account.en: placeholder {account!r} must be a plain {name}"],
        id="message-conversion-placeholder",
    ),
    pytest.param(
        plus("messages:\n  unknown_account:\n    en: 'No account {account.'\n"),
        ["9:9: messages.unknown_account.en: expected '}' before end of string"],
        id="message-unbalanced-brace",
    ),
    pytest.param(
        plus(
            "messages:\n  invalid_credentials: 'Wrong password.'\n"
            "  invalid_credentials: 'Bad password.'\n"
        ),
        ["9:3: messages.invalid_credentials: duplicate key"],
        id="message-duplicate-code",
    ),
    # --- store -------------------------------------------------------------------------------
    pytest.param(
        plus("store:\n  url: not a database url\n"),
        [
            "8:3: store.url: not a database URL, e.g. sqlite:///gateway.db or "
            "postgresql+psycopg://user@host/db"
        ],
        id="store-url-not-a-url",
    ),
    pytest.param(
        plus("store:\n  url: oracle9://db.example/gateway\n"),
        ["8:3: store.url: unknown database kind 'oracle9'"],
        id="store-url-unknown-dialect",
    ),
    pytest.param(
        plus("store:\n  url: mssql+pyodbc://db.example/gateway\n"),
        ["8:3: store.url: the database driver 'pyodbc' is not installed"],
        id="store-url-driver-missing",
    ),
    # --- instruments -------------------------------------------------------------------------
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", minQty: 10, maxQty: 5}\n"),
        ["8:90: instruments[0].minQty: must not exceed maxQty"],
        id="instrument-min-qty-above-max-qty",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", variableMinTick: '0.01 10'}\n"),
        [
            "8:90: instruments[0].variableMinTick: expected 'tick [limit tick]...', "
            "e.g. '0.01 10 0.02'"
        ],
        id="variable-min-tick-malformed",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", variableMinTick: '0.01 10 0.02 5 0.05'}\n"),
        ["8:90: instruments[0].variableMinTick: price limits must increase"],
        id="variable-min-tick-decreasing",
    ),
    pytest.param(
        plus(
            "instruments:\n  - "
            + INSTRUMENT.replace("stock", "forex")
            + ", tradingviewSymbol: 'FX:EURUSD'}\n"
        ),
        [
            "8:90: instruments[0].tradingviewSymbol: forex cannot be mapped to TradingView data; "
            "integrate its feed instead"
        ],
        id="tradingview-symbol-on-forex",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT + ", tradingviewSymbol: AAPL}\n"),
        ["8:90: instruments[0].tradingviewSymbol: expected PREFIX:SYMBOL, e.g. NASDAQ:AAPL"],
        id="tradingview-symbol-without-prefix",
    ),
    pytest.param(
        plus("instruments:\n  - " + INSTRUMENT.replace("minTick: 0.01", "minTick: 0") + "}\n"),
        ["8:84: instruments[0].minTick: must be greater than 0"],
        id="instrument-zero-tick",
    ),
    pytest.param(
        plus(
            "instruments:\n  - "
            + INSTRUMENT.replace("stock", "spot")
            + ", typespecs: 'crypto,fx'}\n"
        ),
        ["8:89: instruments[0].typespecs: unknown typespec 'fx' (allowed: cfd, spreadbet, crypto)"],
        id="unknown-typespec",
    ),
    pytest.param(
        plus(
            "instruments:\n  - "
            + INSTRUMENT
            + ", ui: {validationRules: [{id: slPercent, options: {min: 5, max: 1}}]}}\n"
        ),
        ["8:129: instruments[0].ui.validationRules[0].options: min must not exceed max"],
        id="validation-rule-min-above-max",
    ),
    # --- UI ----------------------------------------------------------------------------------
    pytest.param(
        plus(
            "ui:\n  durations:\n    - {id: DAY, title: Day, default: true}\n"
            "    - {id: GTC, title: Good till cancelled, default: true}\n"
        ),
        ["8:3: ui.durations: at most one duration may be the default"],
        id="two-default-durations",
    ),
    pytest.param(
        plus(
            "ui:\n  orderCustomFields:\n    - {id: route, title: Route}\n"
            "    - {id: route, title: Venue}\n"
        ),
        ["10:8: ui.orderCustomFields[1].id: duplicate id 'route'"],
        id="duplicate-column-id",
    ),
    # --- who can log in ------------------------------------------------------------------------
    pytest.param(
        "version: 1\nbroker: {name: Acme}\naccounts:\n  - {id: MAIN-USD, name: Main, type: demo}\n",
        [
            "1:1: users: nobody can log in: list users, or set auth.identity to a connector with "
            "the identity role"
        ],
        id="no-users-and-no-identity",
    ),
    pytest.param(
        "version: 1\nbroker: {name: Acme}\naccounts:\n  - {id: MAIN-USD, name: Main, type: demo}\n"
        "auth: {identity: ldap}\n",
        ["5:8: auth.identity: unknown connector 'ldap' (known: none)"],
        id="identity-unknown-connector",
    ),
    pytest.param(
        "version: 1\nbroker: {name: Acme}\naccounts:\n  - {id: MAIN-USD, name: Main, type: demo}\n"
        "auth: {identity: feed}\nconnectors:\n  feed: {type: fake_market_data}\n",
        ["5:8: auth.identity: connector 'feed' (fake_market_data) does not have the identity role"],
        id="identity-connector-without-role",
    ),
    # --- connectors --------------------------------------------------------------------------
    pytest.param(
        plus("connectors:\n  feed: {type: nope}\n"),
        [
            "8:16: connectors.feed.type: unknown connector type 'nope' (known: fake_account_data, "
            "fake_execution, fake_identity, fake_market_data)"
        ],
        id="unknown-connector-type",
    ),
    pytest.param(
        plus("connectors:\n  feed: {url: 'csv://ticks'}\n"),
        ["8:9: connectors.feed.type: missing connector type"],
        id="connector-without-type",
    ),
    pytest.param(
        plus("connectors:\n  feed: {type: fake_market_data, url: 'csv://ticks'}\n"),
        ["8:34: connectors.feed.url: unknown key"],
        id="connector-unknown-option",
    ),
    # --- broker ------------------------------------------------------------------------------
    pytest.param(
        BASE.replace("broker: {name: Acme}", "broker: {name: Acme, spec: '1.5.0'}"),
        ['2:28: broker.spec: must be a spec version from 1.3.0 to 1.4.14, e.g. "1.4.14"'],
        id="spec-version-too-new",
    ),
    pytest.param(
        BASE.replace("broker: {name: Acme}", "broker: {name: Acme, spec: '1.2.9'}"),
        ['2:28: broker.spec: must be a spec version from 1.3.0 to 1.4.14, e.g. "1.4.14"'],
        id="spec-version-too-old",
    ),
]


@pytest.mark.parametrize(("yaml_text", "expected"), CASES)
def test_malformed_config(tmp_path: Path, yaml_text: str, expected: list[str]) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    assert problems_of(path) == [f"{path}:{line}" for line in expected]


def test_base_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(BASE, encoding="utf-8")
    cfg = load_config(path, environ=ENVIRON, registry=fake_registry())
    assert [a.id for a in cfg.accounts] == ["MAIN-USD"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_bytes(b"version: 1\nbroker: {name: \xff}\n")
    assert problems_of(path) == [f"{path}:1:1: cannot read: not UTF-8 text"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert problems_of(path) == [f"{path}:1:1: cannot read: No such file or directory"]


# --- several mistakes at once ------------------------------------------------------------------

THREE_MISTAKES = """\
version: 1
listener: 0.0.0.0
broker: {name: Acme}
accounts:
  - {id: MAIN-USD, name: Main, type: demo}
auth:
  trading: {token_ttl: 30d}
users:
  - login: ann
    password_hash: "pbkdf2_sha256$1$salt$hash"
    accounts: [MAIN-USD]
    groups: yes
"""


def three_mistakes(path: Path) -> list[str]:
    return [
        f"{path}:2:1: listener: unknown key",
        f"{path}:7:24: auth.trading.token_ttl: must be at most 24d20h31m23s (TradingView's "
        "maximum token lifetime)",
        f"{path}:12:13: users[0].groups: expected a list, got a boolean (true)",
    ]


def test_three_mistakes_three_lines(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(THREE_MISTAKES, encoding="utf-8")
    assert problems_of(path) == three_mistakes(path)


def test_gateway_check_prints_exactly_the_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(THREE_MISTAKES, encoding="utf-8")
    status = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert err.splitlines() == three_mistakes(path)
    assert "Traceback" not in err


def test_misspelt_required_key_is_reported_once(tmp_path: Path) -> None:
    """A misspelt required key is one line: the typo with its suggestion, not also 'missing'."""
    path = tmp_path / "gateway.yaml"
    path.write_text(BASE.replace("accounts:\n", "acounts:\n"), encoding="utf-8")
    assert problems_of(path) == [f"{path}:3:1: acounts: unknown key (did you mean accounts?)"]
