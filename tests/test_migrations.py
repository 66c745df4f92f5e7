"""The store's Alembic migrations on SQLite, PostgreSQL and MariaDB for real."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from gateway.store import database, migrate
from gateway.store.database import Database, create_engine
from gateway.store.tables import metadata
from tests import sql_broker
from tests.servers import MARIADB_URL, POSTGRES_URL, require

HEAD = "0006"
"""The newest revision: every test migrates to it."""
NEXT = "0007"


def scratch_database(server_url: str) -> Iterator[str]:
    """A database of its own: these tests need a store nobody else touches, with no version
    table left over."""
    with sql_broker.scratch_database(server_url, prefix="gw_migrations") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    yield from scratch_database(
        require(POSTGRES_URL if request.param == "postgresql" else MARIADB_URL)
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def transactional_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Stores whose schema changes roll back (MariaDB commits every DDL statement)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    yield from scratch_database(require(POSTGRES_URL))


def differences(url: str) -> list[Any]:
    """What Alembic's autogenerate would change to make the store match tables.py."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": migrate.VERSION_TABLE,
                    "include_name": migrate.include_name,
                    "compare_type": True,
                },
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_fresh_store_is_created_exactly_as_tables_py(url: str) -> None:
    assert migrate.current_revision(url) is None
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision() == HEAD
    assert differences(url) == []
    assert table_names(url) == {*metadata.tables, migrate.VERSION_TABLE}


def test_database_creates_the_store_and_keys_autoincrement(url: str) -> None:
    db = Database(url)
    orders = metadata.tables["gw_orders"]
    row = {
        "account_id": "A1",
        "instrument": "EURUSD",
        "side": "buy",
        "type": "market",
        "qty": 1.0,
        "status": "placing",
        "created_at": 0.0,
        "updated_at": 0.0,
    }
    with db.engine.begin() as connection:
        connection.execute(orders.insert(), [row, row])
        ids = connection.execute(sa.select(orders.c.id).order_by(orders.c.id)).scalars().all()
    assert ids == [1, 2]
    db.dispose()
    assert migrate.current_revision(url) == HEAD


def test_upgrading_twice_changes_nothing(url: str) -> None:
    migrate.upgrade(url)
    tokens = metadata.tables["gw_tokens"]
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(
            tokens.insert().values(
                token_hash="h", login="demo", kind="access", issued_at=1.0, expires_at=2.0
            )
        )
    db.dispose()
    migrate.upgrade(url)
    db = Database(url)
    with db.engine.connect() as connection:
        assert connection.execute(sa.select(tokens.c.login)).scalars().all() == ["demo"]
        version = sa.table(migrate.VERSION_TABLE, sa.column("version_num"))
        assert connection.execute(sa.select(version.c.version_num)).scalars().all() == [HEAD]
    db.dispose()
    assert differences(url) == []


def test_downgrade_to_base_drops_every_table(url: str) -> None:
    migrate.upgrade(url)
    migrate.downgrade(url)
    assert migrate.current_revision(url) is None
    # Alembic keeps its (empty) version table at base.
    assert {name for name in table_names(url) if name.startswith("gw_")} == {migrate.VERSION_TABLE}
    migrate.upgrade(url)
    assert differences(url) == []


# The store as the gateway created it with metadata.create_all() before there were migrations
# (tables.py at commit bc84ffd), frozen here as those databases hold it.
legacy = sa.MetaData()
sa.Table(
    "gw_tokens",
    legacy,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("login", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("issued_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.Index("ix_gw_tokens_expires_at", "expires_at"),
)
sa.Table(
    "gw_login_failures",
    legacy,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(80), nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Index("ix_gw_login_failures_key_at", "key", "at"),
)
sa.Table(
    "gw_bars",
    legacy,
    sa.Column("symbol", sa.String(64), primary_key=True),
    sa.Column("time", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("open", sa.Double, nullable=False),
    sa.Column("high", sa.Double, nullable=False),
    sa.Column("low", sa.Double, nullable=False),
    sa.Column("close", sa.Double, nullable=False),
    sa.Column("volume", sa.Double, nullable=False),
)


def test_store_created_before_migrations_keeps_its_rows(url: str) -> None:
    engine = sa.create_engine(url)
    legacy.create_all(engine)
    bar = {"symbol": "EURUSD", "time": 60, "open": 1, "high": 2, "low": 0.5, "close": 1.5}
    with engine.begin() as connection:
        connection.execute(legacy.tables["gw_bars"].insert().values(**bar, volume=10))
        connection.execute(legacy.tables["gw_login_failures"].insert().values(key="k", at=1.0))
    engine.dispose()
    assert migrate.current_revision(url) is None

    db = Database(url)  # what a worker of the new version does first
    with db.engine.connect() as connection:
        bars = connection.execute(sa.select(metadata.tables["gw_bars"])).mappings().all()
        failures = connection.execute(sa.select(metadata.tables["gw_login_failures"])).all()
    db.dispose()
    assert [dict(row) for row in bars] == [{**bar, "volume": 10}]
    assert len(failures) == 1
    assert migrate.current_revision(url) == HEAD
    assert differences(url) == []


def test_a_store_emptied_by_dropping_its_tables_starts_over(url: str) -> None:
    # How stores were reset before migrations, and how tests/servers.py still resets them:
    # the version table stays behind, with no table for it to describe.
    migrate.upgrade(url)
    engine = sa.create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()
    assert migrate.current_revision(url) == HEAD
    db = Database(url)
    db.engine  # noqa: B018 (opening is the point)
    db.dispose()
    assert differences(url) == []


def test_a_store_missing_some_tables_is_reported(url: str) -> None:
    migrate.upgrade(url)
    engine = sa.create_engine(url)
    metadata.tables["gw_bars"].drop(engine)
    engine.dispose()
    db = Database(url)
    with pytest.raises(migrate.SchemaError, match=rf"revision {HEAD} but has no table gw_bars:"):
        db.engine  # noqa: B018 (opening is what fails)


def test_an_older_gateway_opens_a_store_a_newer_one_migrated(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A rolling deploy or a rollback: the store is at a revision this code does not know.
    migrate.upgrade(url)
    engine = sa.create_engine(url)
    version = sa.table(migrate.VERSION_TABLE, sa.column("version_num"))
    with engine.begin() as connection:
        connection.execute(version.update().values(version_num="9999"))
    engine.dispose()
    db = Database(url)
    db.engine  # noqa: B018 (opening is the point)
    db.dispose()
    assert migrate.current_revision(url) == "9999"
    assert f"the store is at revision 9999, newer than this gateway's {HEAD}" in caplog.text


def test_a_failed_migration_leaves_the_store_as_it_was(transactional_url: str) -> None:
    url = transactional_url
    # An index name the migration needs is taken (index names are per database on SQLite and
    # per schema on PostgreSQL), so creating gw_orders' indexes fails after other tables exist.
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE other_app (x INTEGER)")
        connection.exec_driver_sql("CREATE INDEX ix_gw_orders_parent ON other_app (x)")
    engine.dispose()
    with pytest.raises(sa.exc.DBAPIError):
        Database(url).engine  # noqa: B018 (opening is what fails)
    assert table_names(url) == {"other_app"}


def test_a_worker_waits_for_another_ones_migration_at_most_the_lock_timeout(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate, "LOCK_TIMEOUT", 1)
    engine = create_engine(url)
    began = time.monotonic()
    with (
        migrate._locked(engine),
        pytest.raises((TimeoutError, sa.exc.OperationalError), match="lock"),
    ):
        migrate.upgrade(url)
    assert time.monotonic() - began >= 0.9
    engine.dispose()
    assert migrate.current_revision(url) is None
    migrate.upgrade(url)  # the lock went with the transaction (or was released)
    assert migrate.current_revision(url) == HEAD


def open_store(url: str, barrier: Any, results: Any) -> None:
    """One worker process opening the store: the start is synchronized to race the others."""
    try:
        barrier.wait(timeout=60)
        db = Database(url)
        db.engine  # noqa: B018 (opening is the point)
        db.dispose()
        results.put("ok")
    except BaseException as exc:
        # The innermost frames name the statement that failed, should this ever fail again.
        where = traceback.format_tb(exc.__traceback__)[-3:]
        results.put(f"{type(exc).__name__}: {exc}\n{''.join(where)}")


@pytest.mark.slow
def test_workers_opening_a_fresh_store_together_all_succeed(url: str) -> None:
    # Processes, not threads: as gunicorn's workers, each has its own engine and connections.
    # Without the migration lock, two of them create the same table and one fails.
    workers = 4
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(target=open_store, args=(url, barrier, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert outcomes == ["ok"] * workers
    assert migrate.current_revision(url) == HEAD
    assert differences(url) == []


def load_revision(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
    return namespace


def test_new_revision_writes_what_tables_py_adds(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, directory, ignore=shutil.ignore_patterns("__pycache__"))
    path = migrate.new_revision("Nothing to do", directory)
    assert path == directory / "versions" / f"{NEXT}_nothing_to_do.py"
    revision = load_revision(path)
    assert revision["__doc__"].startswith("Nothing to do.\n")
    assert (revision["revision"], revision["down_revision"]) == (NEXT, HEAD)
    assert "op." not in path.read_text(encoding="utf-8")
    path.unlink()

    extra = sa.Table("gw_extra", metadata, sa.Column("id", sa.String(8), primary_key=True))
    try:
        path = migrate.new_revision("Add gw_extra.", directory)
    finally:
        metadata.remove(extra)
    assert path.name == f"{NEXT}_add_gw_extra.py"
    text = path.read_text(encoding="utf-8")
    assert 'op.create_table(\n        "gw_extra",' in text  # written, then formatted by ruff
    assert 'op.drop_table("gw_extra")' in text
    load_revision(path)


def test_alembic_cannot_run_without_the_gateway_providing_a_connection() -> None:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    with pytest.raises(RuntimeError, match=r"run through gateway\.store\.migrate"):
        command.upgrade(config, "head")
    with pytest.raises(RuntimeError, match="no offline"):
        command.upgrade(config, "head", sql=True)


def test_database_keeps_its_sqlite_settings(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    db.dispose()


def hold_exclusively(path: Path, seconds: float) -> threading.Thread:
    """Another connection keeping every other one out of the database for ``seconds``."""
    import sqlite3

    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")

    def release() -> None:
        time.sleep(seconds)
        holder.execute("COMMIT")
        holder.execute("PRAGMA locking_mode=NORMAL")
        holder.execute("SELECT 1 FROM sqlite_master").fetchall()  # drops the exclusive lock
        holder.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


@pytest.mark.parametrize("attempts", [1, 5])
def test_a_store_busy_when_a_worker_opens_it_is_opened_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, attempts: int
) -> None:
    # Short waits stand for SQLite answering "database is locked" without waiting, as it may
    # while another connection cleans up or recovers the WAL.
    path = tmp_path / "store.db"
    Database(f"sqlite:///{path}").engine.dispose()
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT", 0.05)
    monkeypatch.setattr(database, "SQLITE_WAL_SWITCH_TIMEOUT", 0.05)
    monkeypatch.setattr(database, "SQLITE_OPEN_ATTEMPTS", attempts)
    holder = hold_exclusively(path, 0.6)
    db = Database(f"sqlite:///{path}")
    try:
        if attempts == 1:
            with pytest.raises(sa.exc.OperationalError, match="database is locked"):
                db.engine  # noqa: B018
        else:
            with db.engine.connect() as connection:
                assert migrate.current_revision(f"sqlite:///{path}") == HEAD
                assert connection.exec_driver_sql("SELECT count(*) FROM gw_orders").scalar() == 0
            assert "the store is busy" in caplog.text
    finally:
        holder.join()
        db.dispose()


def test_a_store_that_stays_locked_is_not_opened_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store.db"
    Database(f"sqlite:///{path}").engine.dispose()
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT", 0.05)
    monkeypatch.setattr(database, "SQLITE_WAL_SWITCH_TIMEOUT", 0.05)
    # Five attempts, 0.2 s more between each, take about 2 s: the holder outlasts them.
    holder = hold_exclusively(path, 6)
    try:
        with pytest.raises(sa.exc.OperationalError, match="database is locked"):
            Database(f"sqlite:///{path}").engine  # noqa: B018
    finally:
        holder.join()
