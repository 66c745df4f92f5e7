"""Malformed fix connector configurations: each mistake reported on its own line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.cli import main
from tests.test_sql_check import line_of, replace

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    # (old text, new text, expected message, text to find the line by)
    ("port: 9878", "port: 70000", "must be a TCP port (1 to 65535)", "70000"),
    ("port: 9878", 'port: "9878"', "expected a whole number", '"9878"'),
    ("sender_comp_id: GATEWAY", "sender_comp_id: GATE WAY", "must be 1 to 64 letters", "GATE WAY"),
    (
        "target_comp_id: VENUE",
        'target_comp_id: ""',
        "must be 1 to 64 letters",
        'target_comp_id: ""',
    ),
    ("heartbeat: 30s", "heartbeat: 1.5s", "a whole number of seconds", "1.5s"),
    ("heartbeat: 30s", "heartbeat: soon", "expected a duration", "soon"),
    ("reconnect_min: 1s", "reconnect_min: 0s", "must be longer than 0 seconds", "reconnect_min"),
    ("reconnect_min: 1s", "reconnect_min: 1s\n    lease: 0s", "must be longer than 0", "lease"),
    ("account_tag: 1 ", "account_tag: 0 ", "must be a FIX tag number", "account_tag: 0"),
    (
        "brackets: core",
        "brackets: sideways",
        "unknown value 'sideways' (allowed: core, native)",
        "sideways",
    ),
    (
        "brackets: core",
        "brackets: native\n    bracket_list_tags: [{tag: 0, value: '2'}]",
        "must be a FIX tag number",
        "bracket_list_tags",
    ),
    ("brackets: core", "brackets: native\n    bracket_list_tags: 1385", "expected a list", "1385"),
    ("custom_fields: {route: 9001}", "custom_fields: {route: -4}", "route: must be FIX tag", "-4"),
    (
        'time_in_force: {DAY: "0", GTC: "1", GTT: "6"}',
        'time_in_force: {DAY: "DAYS"}',
        "DAY: a TimeInForce value is one or two characters",
        "DAYS",
    ),
    ("depth: 1", "depth: -1", "must be 0 or more", "depth: -1"),
    ("depth: 1", "deep: 1", "unknown key", "deep: 1"),
    (
        "heartbeat: 30s",
        "heartbeat: 30s\n    schedule: {start: '25:00', end: '17:00'}",
        "must be a time of day",
        "schedule:",
    ),
    (
        "heartbeat: 30s",
        "heartbeat: 30s\n    schedule: {timezone: Mars/Olympus}",
        "must be an IANA time zone",
        "schedule:",
    ),
    (
        "heartbeat: 30s",
        "heartbeat: 30s\n    schedule: {start_day: someday}",
        "must be a day of the week",
        "schedule:",
    ),
    (
        "heartbeat: 30s",
        "heartbeat: 30s\n    schedule: {start_day: sun, start: '17:00', end: '17:00'}",
        "schedule.end_day: a weekly session needs both start_day and end_day",
        "schedule:",
    ),
    (
        "heartbeat: 30s",
        "heartbeat: 30s\n    schedule: {end_day: fri}",
        "schedule.start_day: a weekly session needs both start_day and end_day",
        "schedule:",
    ),
]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """examples/fix-demo next to a copy of the demo it extends (no stores)."""
    for name in ("demo", "fix-demo"):
        shutil.copytree(
            ROOT / "examples" / name, tmp_path / name, ignore=shutil.ignore_patterns("*.db*")
        )
    return tmp_path / "fix-demo" / "gateway.yaml"


@pytest.mark.parametrize(("old", "new", "message", "where"), [c for c in CASES if c[2]])
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


def test_the_example_checks(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(example)]) == 0
    out = capsys.readouterr().out
    assert "upstream            fix                 execution, market_data" in out


def test_a_password_must_be_a_reference_or_text(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace(example, "password: {$env: FIX_PASSWORD, default: demo}", "password: [demo]")
    assert main(["check", str(example)]) == 1
    err = capsys.readouterr().err
    assert f"gateway.yaml:{line_of(example, 'password: [demo]')}:" in err, err
    assert "connectors.upstream.password" in err, err
