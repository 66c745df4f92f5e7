"""Smoke test of the scale benchmark: a tiny run of both parts on the real servers.

Idle streams: 200 per worker class for 1 s of ordinary requests. Instances: nginx, the hello app
and two cluster instances on PostgreSQL and Redis, 1 s per target. Nothing is asserted about
speed: only that the measurements were made, without failures, and are well formed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

# `bench` is importable because `tests` is a package (see tests/test_bench_smoke.py).
from bench import loadgen, nginx, scale
from bench.scale_report import markdown
from tests.servers import POSTGRES_URL, in_ci, require, require_redis


def _require_tools() -> None:
    tools = {"nginx": nginx.binary(), "wrk": loadgen.wrk_executable()}
    missing = [name for name, found in tools.items() if found is None]
    if missing:
        message = f"{' and '.join(missing)} not installed (Debian: apt-get install nginx wrk)"
        if in_ci():
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)


@pytest.mark.slow
def test_tiny_scale_run_measures_idle_streams_and_instances(tmp_path: Path) -> None:
    _require_tools()
    url = sa.engine.make_url(require(POSTGRES_URL))
    store = url.set(database=f"{url.database}_scale").render_as_string(hide_password=False)
    args = scale.parser().parse_args(
        [
            "--idle-streams", "200",
            "--scale-duration", "1",
            "--scale-rounds", "1",
            "--scale-connections", "8",
            "--scale-postgres-url", store,
            "--scale-redis-url", require_redis(),
            "--output", str(tmp_path),
        ]
    )  # fmt: skip
    status, document = scale.run(args)

    assert status == 0, document
    classes = {c["worker_class"]: c for c in document["idle"]["classes"]}
    assert set(classes) == {"gevent", "threads"}
    for measured in classes.values():
        assert measured["streaming"] == 200, measured
        assert measured["quiet"]["rps"] > 0 and measured["loaded"]["rps"] > 0
        assert measured["rps_ratio"] is not None and measured["rps_ratio"] > 0
        assert measured["rss_mib"][1] >= measured["rss_mib"][0] > 0
    rows = {row["target"]: row for row in document["instances"]["summary"]}
    assert set(rows) == {
        "nginx alone",
        "hello, 1 instance",
        "polling, 1 instance",
        "polling, 2 instances",
    }
    for row in rows.values():
        assert row["rps"] > 0 and row["errors"] == 0, row
    for label in ("polling, 1 instance", "polling, 2 instances"):
        assert rows[label]["app_cpu_ms"] > 0 and rows[label]["postgres_cpu_ms"] > 0
    assert document["instances"]["two_over_one"] > 0
    page = markdown(document)
    assert "| gevent | 200 (200) |" in page
    assert "| polling, 2 instances |" in page


def test_a_database_holding_other_tables_is_refused(tmp_path: Path) -> None:
    from bench.scale_parts import _fresh_database

    url = sa.engine.make_url(require(POSTGRES_URL))
    target = url.set(database=f"{url.database}_scale_foreign")
    _fresh_database(target.render_as_string(hide_password=False))
    engine = sa.create_engine(target)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS someone_elses (id integer)")
        with pytest.raises(RuntimeError, match="not the gateway's"):
            _fresh_database(target.render_as_string(hide_password=False))
        with engine.connect() as conn:  # still there: nothing was dropped
            assert conn.exec_driver_sql("SELECT count(*) FROM someone_elses").scalar() == 0
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS someone_elses")
        engine.dispose()
