"""Smoke test of the benchmark report: ``python -m bench.report_all``, in process.

The quick report of the three fastest suites (the nginx ceiling, the HTTP suite, mapped mode) on
the real servers: about 30 s. Nothing is asserted about speed: only that the report has the hello
and nginx rows with real numbers, the ratios, and two real PNG plots. A suite that cannot run
(an nginx that is not there) and mistakes on the command line are one line each, never a
traceback.
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from matplotlib import image

# `bench` is importable because `tests` is a package (see tests/test_bench_smoke.py).
from bench import nginx, report_all, report_plots
from tests.servers import in_ci

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RATE = re.compile(r"\*\*([\d,]+(?:\.\d+)?)/s\*\*")
"""A bold requests/s figure: the "Measured" column of a requests/s row."""
COMPARED = re.compile(r"[\d,]+(?:\.\d+)?/s \([\d,]+(?:\.\d+)?×\)")
"""A baseline's requests/s and the ratio to it (any value: speed is not asserted)."""


@pytest.fixture(autouse=True)
def _sigterm_restored() -> Iterator[None]:
    # The report (like every suite) turns SIGTERM into SystemExit; not for the rest of pytest.
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def _require_nginx() -> None:
    if nginx.binary() is None:
        message = "nginx is not installed (Debian: apt-get install nginx)"
        if in_ci():
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)


def _rows(page: str, suite: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in page.splitlines()
        if line.startswith(f"| {suite} |")
    ]


def _rate(cell: str) -> float:
    found = RATE.fullmatch(cell)
    assert found is not None, cell
    return float(found.group(1).replace(",", ""))


@pytest.mark.slow
def test_a_quick_report_has_the_baselines_with_real_numbers_and_the_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _require_nginx()
    status = report_all.main(["--quick", "--suites", "ceiling,http,sql", "--output", str(tmp_path)])

    out, err = capsys.readouterr()
    # bench.sql exits 1 when its ratio misses its target (2x), which a loaded CI machine may
    # make happen: a measurement, not a broken report. Every other suite must exit 0.
    assert status in (0, 1), err[-3000:]
    page = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert out == page  # stdout is the report alone; the suites' pages went to stderr
    ceiling = _rows(page, "ceiling")
    hello = [row for row in ceiling if row[1].startswith("**hello app**")]
    static = [row for row in ceiling if row[1].startswith("**nginx**")]
    assert [row[2] for row in hello] == ["32", "1"] and [row[2] for row in static] == ["32", "1"]
    for row in hello + static:
        assert _rate(row[3]) > 0, row
    # Each baseline row shows the other with the ratio between them.
    assert COMPARED.fullmatch(hello[0][5]), hello[0]
    assert COMPARED.fullmatch(static[0][4]), static[0]
    (accounts,) = [row for row in _rows(page, "http") if "GET /accounts" in row[1]]
    assert _rate(accounts[3]) > 0
    assert COMPARED.fullmatch(accounts[4]), accounts  # its own hello runs
    assert COMPARED.fullmatch(accounts[5]), accounts  # nginx, with as many connections
    assert len(_rows(page, "sql")) == 2
    assert "![Throughput](throughput.png)" in page and "![Latency](latency.png)" in page

    document = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    statuses = {name: s["status"] for name, s in document["suites"].items()}
    assert statuses.pop("sql") in (0, 1), err[-3000:]
    assert statuses == {"ceiling": 0, "http": 0}, err[-3000:]
    assert status == max(0, *(s["status"] for s in document["suites"].values()))
    assert document["not_measured"] == []
    assert {h["suite"] for h in document["headlines"]} == {"ceiling", "http", "sql"}
    for name in ("throughput", "latency"):
        path = tmp_path / f"{name}.png"
        assert path.read_bytes()[:8] == PNG_MAGIC
        assert 5_000 < path.stat().st_size < 200_000
        pixels = image.imread(path)
        assert pixels.shape[0] > 300 and pixels.shape[1] == 1100, pixels.shape
    for page_name in ("ceiling", "latest", "sql"):  # every suite wrote its own files too
        assert (tmp_path / f"{page_name}.md").is_file()


def test_a_suite_that_cannot_run_is_one_line_and_the_report_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-nginx-here"
    status = report_all.main(
        ["--suites", "ceiling", "--nginx", str(missing), "--output", str(tmp_path)]
    )

    err = capsys.readouterr().err
    assert status == 2
    assert f"bench: ceiling: nginx: {missing}: no such file\n" in err
    assert "Traceback" not in err
    page = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "- ceiling: could not run" in page
    assert "- ceiling: the suite could not run" in page
    assert not (tmp_path / "throughput.png").exists()  # nothing measured, nothing drawn


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--suites", "http,nope"], "argument --suites: parts are ceiling, http,"),
        (["--duration", "0"], "argument --duration: expected a positive whole number"),
        (["--loadgen", "ab"], "argument --loadgen: invalid choice: 'ab'"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_a_mistake_on_the_command_line_is_one_line_and_exit_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        report_all.main(argv)

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m bench.report_all: error: "), err
    assert message in err


def test_an_output_that_is_not_a_directory_is_one_line_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("", encoding="utf-8")

    assert report_all.main(["--output", str(occupied / "results")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"bench: --output {occupied / 'results'}: Not a directory\n"


def test_a_figure_of_zero_does_not_break_the_log_axis(tmp_path: Path) -> None:
    # A target that measured nothing (0 requests/s) once made matplotlib warn about a
    # non-positive limit on the log axis; the test suite turns warnings into errors.
    for span, bars in (((0.0, 100.0), [0.0, 100.0]), ((0.0, 0.0), [0.0])):
        chart, ax = report_plots._chart(1, len(bars))
        for y, value in enumerate(bars):
            ax.barh(y, value)
        report_plots._finish(chart, ax, "title", "requests/s", span, tmp_path / "zero.png")
        assert (tmp_path / "zero.png").read_bytes()[:8] == PNG_MAGIC
        assert ax.get_xlim()[0] > 0
