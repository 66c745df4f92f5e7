"""``gateway conformance``: passes a correct server, and reports exactly what a broken one breaks.

The demo is served by `gateway serve` (gunicorn); the fixture server (tests/conformance_server.py)
is right by default and wrong in one chosen way at a time.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.conformance.client import Client
from gateway.conformance.model import Context, Outcome
from gateway.conformance.runner import SUITES, checks_for, run
from tests.conformance_server import Breakage, serving, serving_streams
from tests.conftest import DEMO
from tests.live_gateway import copy_demo, serve


def _check(url: str, login: str | None = "demo") -> list[Outcome]:
    ctx = Context(Client(url), login=login, password="demo", history_wait=2)
    return run(ctx, SUITES["data"], say=lambda _line: None)


def _failed(outcomes: list[Outcome]) -> set[str]:
    return {o.name for o in outcomes if o.status == "failed"}


def test_a_correct_server_passes_every_check() -> None:
    with serving() as url:
        outcomes = _check(url)
    assert _failed(outcomes) == set(), [o for o in outcomes if o.status == "failed"]
    skipped = {o.name: o.reason for o in outcomes if o.status == "skipped"}
    assert skipped.keys() == {"data.unauthorized"}, skipped  # the fixture has no data auth


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (Breakage(duplicate_tokens=True), {"data.authorize"}),
        (Breakage(lower_case_exchange=True), {"data.symbol_info"}),
        (Breakage(html_groups=True), {"data.groups"}),
        (Breakage(daily_close_off=True), {"history.priceMatch"}),
        (
            Breakage(bar_after_to=True),
            {
                "history.fromEqTo",
                "history.outsideBarsInclusion",
                "history.severalShortQueriesEqualLarge",
            },
        ),
    ],
    ids=["duplicate tokens", "lower-case exchange", "HTML groups", "daily close", "a bar after to"],
)
def test_a_broken_server_fails_exactly_the_checks_it_breaks(
    breakage: Breakage, expected: set[str]
) -> None:
    with serving(breakage) as url:
        outcomes = _check(url)
    assert _failed(outcomes) == expected
    for outcome in outcomes:
        if outcome.status == "failed":
            assert outcome.reason  # each failure says why


def test_history_checks_are_skipped_when_symbol_info_fails() -> None:
    with serving(Breakage(lower_case_exchange=True)) as url:
        outcomes = {o.name: o for o in _check(url)}
    assert "exchange-listed is 'fixture'" in outcomes["data.symbol_info"].reason
    assert outcomes["history.fromEqTo"].status == "skipped"
    assert "data.symbol_info" in outcomes["history.fromEqTo"].reason


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [(Breakage(), set()), (Breakage(closing_stream=True), {"streaming.permanentConnection"})],
    ids=["right", "a closing stream"],
)
def test_the_streaming_checks_pass_a_right_stream_and_fail_a_closing_one(
    breakage: Breakage, expected: set[str]
) -> None:
    with serving_streams(breakage) as url:
        ctx = Context(Client(url), login="x", password="y", stream_seconds=8)
        outcomes = run(ctx, checks_for(["streaming"]), say=lambda _line: None)
    assert _failed(outcomes) == expected, [o for o in outcomes if o.status == "failed"]
    skipped = {o.name for o in outcomes if o.status == "skipped"}
    assert skipped == {"streaming.historyEquality"}  # 8 s hold no whole minute
    assert len(ctx.recording.connections) == 4


@pytest.mark.slow
def test_the_demo_passes_every_check(tmp_path: Path) -> None:
    # 125 s of streaming: a whole minute is recorded, so that history equality is compared.
    config = copy_demo(DEMO.parent, tmp_path)
    progress: list[str] = []
    with serve(config) as gateway:
        ctx = Context(
            Client(f"http://127.0.0.1:{gateway.port}"),
            login="demo",
            password="demo",
            stream_seconds=125,
            history_wait=65,
            progress=progress.append,
        )
        outcomes = run(ctx, checks_for(SUITES), say=lambda _line: None)
    assert [o.name for o in outcomes] == [c.name for suite in SUITES.values() for c in suite]
    assert _failed(outcomes) == set(), [o for o in outcomes if o.status == "failed"]
    skipped = {o.name for o in outcomes if o.status == "skipped"}
    assert skipped == {"data.unauthorized"}  # the demo's data endpoints are open
    assert any("s left" in text for text in progress)  # progress while recording
    assert len(ctx.recording.connections) == 4
    assert all(len(c.lines) > 100 for c in ctx.recording.connections)


def test_the_command_prints_a_line_per_check_and_writes_json_and_junit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "report.xml"
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # the password, as typed
    with serving() as url:
        status = main(["conformance", "--url", url, "--login", "x", "--suite", "data",
                       "--history-wait", "2",
                       "--json", str(report), "--junit", str(junit)])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    lines = out.splitlines()
    count = len(SUITES["data"])
    assert len(lines) == count + 1
    assert lines[-1] == f"OK: {count - 1} passed, 0 failed, 1 skipped of {count} checks"
    document = json.loads(report.read_text(encoding="utf-8"))
    assert [c["name"] for c in document["checks"]] == [c.name for c in SUITES["data"]]
    assert document["summary"] == lines[-1]
    root = ET.fromstring(junit.read_bytes())  # noqa: S314 - the report the command just wrote
    (suite,) = root.findall("testsuite")
    counts = (suite.get("tests"), suite.get("failures"), suite.get("skipped"))
    assert counts == (str(count), "0", "1")
    assert len(suite.findall("testcase")) == count


def test_a_broken_server_makes_the_command_exit_1_with_the_reason() -> None:
    with serving(Breakage(duplicate_tokens=True)) as url:
        done = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "conformance", "--url", url, "--login", "x",
             "--suite", "data", "--history-wait", "0"],
            input="y\n", capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert "FAIL data.authorize" in done.stdout
    assert "different tokens" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("FAILED: ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "ftp://x"], "not an http(s) URL"),
        (["--url", "http://127.0.0.1:1", "--login", "a", "--token", "b"], "not both"),
        (["--url", "http://127.0.0.1:1", "--suite", "nope"], "unknown suite"),
        (["--url", "http://127.0.0.1:1", "--stream-seconds", "1e9"], "between 5 and 86400"),
        (["--url", "http://127.0.0.1:1", "--stream-seconds", "soon"], "not a number"),
        (["--url", "javascript:alert(1)"], "not an http(s) URL"),
        (["--url", "http://127.0.0.1:1", "--history-wait", "-1"], "between 0 and 3600"),
        (["--url", "http://127.0.0.1:1", "--fill-seconds", "0"], "between 1 and 3600"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(argv: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "conformance", *argv],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_server_fails_its_checks_with_the_connection_error() -> None:
    outcomes = _check("http://127.0.0.1:1")
    authorize = next(o for o in outcomes if o.name == "data.authorize")
    assert authorize.status == "failed"
    assert "ConnectionRefusedError" in authorize.reason
