"""Smoke test of the benchmark scaffold: the Python load generator against the hello app."""

from __future__ import annotations

from pathlib import Path

import pytest

# `bench` is importable because `tests` is a package: pytest puts the repository root (the
# parent of the top-most package) on sys.path.
from bench import loadgen, servers
from bench.hello import PATH as HELLO_PATH


@pytest.mark.slow
def test_python_loadgen_against_hello_served_by_gunicorn(tmp_path: Path) -> None:
    port = servers.free_port()
    with servers.serve_hello(port, workers=1, log_dir=tmp_path):
        result = loadgen.run_python(
            servers.HOST,
            port,
            loadgen.Request("GET", HELLO_PATH),
            duration=1.0,
            connections=4,
        )
    assert result.generator == "python"
    assert result.errors == 0, result.error_kinds
    assert result.successes > 0
    assert result.rps > 0
