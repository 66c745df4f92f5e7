"""Broken SQL mappings are reported with file and line, by `gateway check` and at startup."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from tests.sql_broker import EXAMPLE, load_broker


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The example's YAML next to a fresh SQLite copy of its database."""
    module = load_broker()
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    module.create(url)
    module.seed(url)
    config = tmp_path / "gateway.yaml"
    config.write_text((EXAMPLE / "gateway.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return config


def line_of(config: Path, text: str) -> int:
    """The 1-based line of the first occurrence of ``text``."""
    for number, line in enumerate(config.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {config}")


def replace(config: Path, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8")
    assert old in text, old
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_example_passes_the_connection_check(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(example), "--connect"]) == 0
    assert ": OK — " in capsys.readouterr().out


def test_a_mapped_column_the_query_does_not_return(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(example, "avgPrice: avg_px\n          date:", "avgPrice: average_px\n          date:")
    assert main(["check", str(example)]) == 0  # only the database can tell
    capsys.readouterr()
    assert main(["check", str(example), "--connect"]) == 1
    err = capsys.readouterr().err
    line = line_of(example, "SELECT p.pos_id, p.sym, p.net_qty")  # the query's first line
    assert f"gateway.yaml:{line - 1}:" in err or f"gateway.yaml:{line}:" in err, err
    assert "account_data.positions.fields: the query returns no column average_px" in err
    # `gateway serve` runs the same check and does not start.
    assert main(["serve", str(example), "--bind", "127.0.0.1:1"]) == 1
    assert "average_px" in capsys.readouterr().err


def test_a_parameter_the_endpoint_does_not_offer(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(example, "p.acct_no = :account_id AND p.net_qty", "p.acct_no = :acct AND p.net_qty")
    assert main(["check", str(example)]) == 1
    err = capsys.readouterr().err
    # A multi-line query is pointed at by its `sql: >-` line, the line before its text.
    line = line_of(example, "SELECT p.pos_id, p.sym, p.net_qty") - 1
    assert f"gateway.yaml:{line}:" in err, err
    assert "account_data.positions.sql: unknown parameter :acct" in err
    assert "offers :account_id, :login" in err


def test_a_write_on_a_read_endpoint(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(
        example,
        "sql: SELECT pw_hash, active FROM clients WHERE login = :login",
        "sql: UPDATE clients SET active = 0 WHERE login = :login",
    )
    assert main(["check", str(example)]) == 1
    err = capsys.readouterr().err
    line = line_of(example, "UPDATE clients SET active = 0")
    assert f"gateway.yaml:{line}:" in err
    assert "identity.user.sql: a read endpoint takes a SELECT only" in err


def test_a_write_hidden_in_a_read_is_stopped_by_the_database(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A CTE that starts like a read: the static check lets it through, the read-only
    # transaction refuses it.
    replace(
        example,
        "sql: SELECT pw_hash, active FROM clients WHERE login = :login",
        "sql: WITH x AS (SELECT 1) DELETE FROM audit_log WHERE :login IS NULL",
    )
    assert main(["check", str(example), "--connect"]) == 1
    err = capsys.readouterr().err
    assert "identity.user.sql" in err
    assert "readonly" in err.replace("-", "").replace(" ", "").lower()


def test_sql_the_database_refuses(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace(example, "FROM fills", "FROM fill")
    assert main(["check", str(example), "--connect"]) == 1
    err = capsys.readouterr().err
    assert "account_data.executions.sql: no such table: fill" in err


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ row.__class__ }}",
        "{{ row._asdict }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ self }}",
        "{% for x in row %}{{ x }}{% endfor %}",
    ],
)
def test_sandbox_escapes_in_the_configuration_are_refused_at_load(
    example: Path, capsys: pytest.CaptureFixture[str], payload: str
) -> None:
    replace(
        example, "instrument: sym\n          side:", f'instrument: "{payload}"\n          side:'
    )
    assert main(["check", str(example)]) == 1
    err = capsys.readouterr().err
    line = line_of(example, payload)
    assert f"gateway.yaml:{line}:" in err
    assert "account_data.orders.fields.instrument" in err
