"""bench/sql.py runs end to end (tiny counts: it measures nothing here, it must just work)."""

from __future__ import annotations

from pathlib import Path

from bench import sql


def test_a_tiny_run_writes_its_table(tmp_path: Path) -> None:
    document = sql.measure(calls=5, rounds=1, directory=tmp_path)
    assert [row["endpoint"] for row in document["rows"]] == ["/orders", "/state"]
    for row in document["rows"]:
        assert row["baseline_us"] > 0 and row["mapped_us"] > 0 and row["http_us"] > 0
        assert row["mapped_ratio"] > 0 and row["http_ratio"] > row["mapped_ratio"] / 10
    text = sql.markdown(document)
    assert text.startswith("| endpoint | SQLAlchemy alone |")
    assert "`/orders`" in text and "`/state`" in text
    assert sql.main(["--calls", "3", "--rounds", "1", "--output", str(tmp_path)]) in (0, 1)
    assert (tmp_path / "sql.json").is_file() and (tmp_path / "sql.md").is_file()
