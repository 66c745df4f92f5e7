"""PostgreSQL LISTEN/NOTIFY: the broker's triggers wake the trading streams at once.

The example's polling interval is set to a minute here, so a change that reaches a stream in
seconds was carried by a notification, not by a poll.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gateway.app import Gateway, build
from gateway.config import ConfigError, load_config
from gateway.config.types import Duration
from gateway.trading.events import Changes
from tests.conftest import with_store
from tests.servers import POSTGRES_URL, require
from tests.sql_broker import EXAMPLE, load_broker, scratch_database
from tests.test_sql_streams import (
    execute,
    fill_at_its_limit,
    next_list,
    now_ms,
    stream,
    token_of,
)

POLL = 60.0


def serve(url: str, tmp_path: Path, poll: float = POLL) -> Gateway:
    config = load_config(EXAMPLE / "gateway.yaml", environ={"BROKER_DB_URL": url})
    config = with_store(config, f"sqlite:///{tmp_path / 'gateway.db'}")
    spec = config.connectors["broker_db"]
    options = dataclasses.replace(spec.options, poll_interval=Duration(poll))
    connectors = {**config.connectors, "broker_db": dataclasses.replace(spec, options=options)}
    trading = dataclasses.replace(config.trading, stream_ping=Duration(1))
    gateway = build(dataclasses.replace(config, connectors=connectors, trading=trading))
    gateway.start()
    return gateway


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    with scratch_database(require(POSTGRES_URL)) as url:
        module = load_broker()
        module.create(url)
        module.seed(url)
        gateway = serve(url, tmp_path)
        try:
            yield gateway, url
        finally:
            gateway.close()


def listening(gateway: Gateway, timeout: float = 10.0) -> None:
    """Wait until the connector's listener is connected (it touches every account then)."""
    changes: Changes = gateway.services.connectors["broker_db"].changes
    deadline = time.monotonic() + timeout
    while changes.version("any") == 0:
        assert time.monotonic() < deadline, "the listener did not connect"
        time.sleep(0.05)


def test_a_fill_reaches_the_stream_by_notification_not_by_polling(
    postgres: tuple[Gateway, str],
) -> None:
    gateway, url = postgres
    listening(gateway)
    with stream(gateway, token_of(gateway), "/stream/orders") as messages:
        working = [o for o in next(messages) if o["status"] == "working"]
        order_id = working[0]["id"]
        started = time.monotonic()
        fill_at_its_limit(url, order_id)
        [update] = next_list(messages, "streamOrders")
        elapsed = time.monotonic() - started
    assert (update["id"], update["status"]) == (order_id, "filled")
    assert elapsed < POLL / 4, f"{elapsed:.1f} s: the change waited for a poll"


def test_another_account_s_notification_does_not_wake_the_stream(
    postgres: tuple[Gateway, str],
) -> None:
    gateway, url = postgres
    listening(gateway)
    changes: Changes = gateway.services.connectors["broker_db"].changes
    before = changes.version("AC-10001")
    execute(url, "UPDATE trading_accounts SET balance = 1 WHERE acct_no = 'AC-20001'")
    deadline = time.monotonic() + 10
    while changes.version("AC-20001") == before:
        assert time.monotonic() < deadline, "no notification for AC-20001"
        time.sleep(0.05)
    assert changes.version("AC-10001") == before
    # A notification is sent on commit only: a rolled-back change wakes nobody.
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("UPDATE trading_accounts SET balance = 2 WHERE acct_no = 'AC-10001'"))
        conn.rollback()
    engine.dispose()
    time.sleep(1.5)
    assert changes.version("AC-10001") == before


def test_the_listener_reconnects_when_its_connection_is_killed(
    postgres: tuple[Gateway, str],
) -> None:
    gateway, url = postgres
    listening(gateway)
    database = sa.engine.make_url(url).database
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        killed = conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND query LIKE 'LISTEN%'"
            ),
            {"db": database},
        ).all()
    admin.dispose()
    assert killed == [(True,)]
    with stream(gateway, token_of(gateway), "/stream/state") as messages:
        state = next(messages)
        started = time.monotonic()
        execute(url, "UPDATE trading_accounts SET balance = 4321.5 WHERE acct_no = 'AC-10001'")
        for _ in range(100):
            message: Any = next(messages)
            if message != {"s": "ok"} and message != state:
                break
        elapsed = time.monotonic() - started
    assert message["balance"] == 4321.5
    assert elapsed < POLL / 4, f"{elapsed:.1f} s: the listener did not come back"


def test_other_databases_poll_and_say_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    module = load_broker()
    module.create(url)
    module.seed(url)
    with caplog.at_level(logging.WARNING, "gateway.connectors.sql"):
        gateway = serve(url, tmp_path, poll=0.05)
    try:
        assert "LISTEN/NOTIFY needs PostgreSQL" in caplog.text
        assert "the streams poll every 0.05 s" in caplog.text
        with stream(gateway, token_of(gateway), "/stream/orders") as messages:
            working = [o for o in next(messages) if o["status"] == "working"]
            sql = "UPDATE orders SET st = 'C', updated_at = :now WHERE ord_id = :id"
            execute(url, sql, id=int(working[0]["id"]), now=now_ms())
            [update] = next_list(messages, "streamOrders")
        assert update["status"] == "cancelled"
    finally:
        gateway.close()


@pytest.mark.parametrize("channel", ["x; DROP TABLE orders", "1abc", "a" * 64, '"quoted"', ""])
def test_a_channel_must_be_a_plain_name(tmp_path: Path, channel: str) -> None:
    text = (EXAMPLE / "gateway.yaml").read_text()
    text = text.replace("listen: broker_changes", f"listen: '{channel}'")
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "connectors.broker_db.listen: must be a name of letters" in str(raised.value)


def test_changes_wake_the_account_or_everyone() -> None:
    changes = Changes()
    mine, other = changes.version("A"), changes.version("B")
    changes.touch("B")
    assert changes.wait("A", mine, 0.01) == mine  # B's change is not A's
    assert changes.version("B") != other
    changes.touch_all()
    assert changes.wait("A", mine, 0.01) != mine  # a change of any account is A's too
    seen = changes.version("A")
    changes.close()
    started = time.monotonic()
    assert changes.wait("A", seen, 5.0) == seen and changes.closed
    assert time.monotonic() - started < 1.0  # closing wakes waiters at once
