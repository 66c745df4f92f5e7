"""Malformed sql connector configurations: each mistake on its own line, nothing started."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from tests.test_sql_check import example, line_of, replace

__all__ = ["example"]  # the fixture, used by name below

CASES = [
    # (old text, new text, expected message, text to find the line by)
    ("password_scheme: bcrypt", "password_scheme: md5", "unknown value 'md5'", "md5"),
    ("poll_interval: 1s", "poll_interval: often", "expected a duration", "often"),
    (
        'url: {$env: BROKER_DB_URL, default: "sqlite:///broker.db"}',
        'url: {$env: BROKER_DB_URL, fallback: "sqlite:///broker.db"}',
        "unknown key next to $env (only default)",
        "fallback",
    ),
    (
        'url: {$env: BROKER_DB_URL, default: "sqlite:///broker.db"}',
        "url: {$env: BROKER_DB_URL, default: [1]}",
        "expected a default value",
        "default: [1]",
    ),
    (
        "sql: SELECT pw_hash, active FROM clients WHERE login = :login",
        "sql: 42",
        "expected the SQL text",
        "sql: 42",
    ),
    (
        "sql: SELECT pw_hash, active FROM clients WHERE login = :login",
        "sqll: SELECT 1",
        "unknown key (expected sql, fields, params, optional)",
        "sqll:",
    ),
    (
        "fields:\n          balance: balance\n          unrealizedPl: upl\n          equity:"
        ' "{{ row.balance + row.upl }}"',
        "fields: [balance]",
        "expected a mapping",
        "fields: [balance]",
    ),
    ("balance: balance", "balance: 7", "a column name or a {{ expression }}", "balance: 7"),
    ("balance: balance", 'balance: "{{ row.balance "', "or one {{ expression }}", "{{ row.b"),
    ("balance: balance", 'balance: "{{ row.balance + }}"', "syntax error", "{{ row.b"),
    ("balance: balance", "total: balance", "missing the spec field(s) balance", "total: balance"),
    ("mapped: broker_db", "mapped: broker", "unknown connector 'broker'", "mapped: broker"),
    ("    type: sql", "    type: sqll", "unknown connector type 'sqll'", "type: sqll"),
    ("optional: true", "optional: sometimes", "expected true or false", "optional: sometimes"),
    ("listen: broker_changes", "listen: [broker_changes]", "expected a string", "listen: ["),
    (
        "      accounts:\n        sql: >-",
        "      acounts:\n        sql: >-",
        "unknown key (did you mean accounts?)",
        "acounts:",
    ),
]


@pytest.mark.parametrize(("old", "new", "message", "where"), CASES, ids=[c[3] for c in CASES])
def test_mistakes_are_reported_where_they_are_written(
    example: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    message: str,
    where: str,
) -> None:
    replace(example, old, new)
    assert main(["check", str(example)]) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert f"gateway.yaml:{line_of(example, where)}:" in err, err


def test_mapped_and_venue_together_are_refused(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(example, "mapped: broker_db", "mapped: broker_db\n  venue: broker_db")
    assert main(["check", str(example)]) == 1
    err = capsys.readouterr().err
    assert "trading.mapped: choose one: venue (managed) or mapped" in err


def test_an_unset_variable_without_default_is_an_error(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(example, ', default: "sqlite:///broker.db"', "")
    assert main(["check", str(example)]) == 1
    assert "environment variable BROKER_DB_URL is not set" in capsys.readouterr().err


def test_leverage_slots_are_checked_like_the_others(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(example, ":instrument, :leverage, :now_ms)", ":instrument, :lev, :now_ms)")
    replace(example, 'step: "{{ 1 }}"', 'stepp: "{{ 1 }}"')
    assert main(["check", str(example)]) == 1
    err = capsys.readouterr().err
    # A multi-line statement is pointed at by its `sql: >-` line, a mapping by its first field.
    statement = line_of(example, "INSERT INTO account_leverage") - 1
    where = f"gateway.yaml:{statement}:16: connectors.broker_db.execution.set_leverage[1].sql"
    assert f"{where}: unknown parameter :lev" in err, err
    assert "offers :account_id, :instrument, :leverage, :login, :now_ms, :order_type, :side" in err
    fields = line_of(example, "title: \"{{ row.sym ~ ' leverage' }}\"")
    where = f"gateway.yaml:{fields}:11: connectors.broker_db.account_data.leverage.fields"
    assert f"{where}: missing the spec field(s) step" in err, err
