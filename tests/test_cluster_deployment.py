"""The reference deployment on loopback: nginx (TLS) in front of two gateway instances of two
gunicorn workers each, with real PostgreSQL and Redis.

The instances serve examples/cluster/gateway.yaml and nginx runs deploy/nginx's template, as
deploy/docker-compose.yml does. Requests pinned to one instance go to its port directly; the
others go through nginx.
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench import nginx as bench_nginx
from gateway.store.tables import leases
from tests.live_gateway import Served, call, children, login
from tests.servers import POSTGRES_URL, in_ci, require, require_redis, reset_gateway_tables
from tests.stream_client import StreamClient
from tests.test_metrics import value
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "DEMO-USD"
pytestmark = pytest.mark.slow


def nginx_binary() -> str:
    found = bench_nginx.binary()
    if found is None:
        message = "nginx is not installed (Debian: apt-get install nginx)"
        if in_ci():
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    return found


class Nginx(bench_nginx.Nginx):
    """nginx with deploy/nginx/gateway.conf.template rendered for two local instances."""

    def __init__(self, directory: Path, upstreams: list[int]) -> None:
        super().__init__(directory, upstreams)
        self.tls = ssl.create_default_context(cafile=str(self.cert))

    def call(self, method: str, path: str, token: str | None = None) -> tuple[int, Any]:
        import http.client

        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls, timeout=30)
        try:
            return call(conn, method, path, None, token)
        finally:
            conn.close()

    def status(self, path: str) -> int:
        import http.client

        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()


@dataclass
class Cluster:
    """Two instances, nginx, and the store they share."""

    a: Served
    b: Served
    nginx: Nginx
    configs: tuple[Path, Path]
    engine: sa.Engine
    lease: str

    def owner_pid(self) -> int | None:
        """The pid of the process that holds the feeds' lease now, if any does."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(leases.c.holder, leases.c.expires_at).where(leases.c.name == self.lease)
            ).first()
        if row is None or row.expires_at < time.time():
            return None
        return int(str(row.holder).split(":")[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    url = require(POSTGRES_URL)
    redis_url = require_redis()
    nginx_binary()
    reset_gateway_tables(url)
    root = tmp_path_factory.mktemp("deployment")
    examples = root / "examples"
    for name in ("demo", "cluster"):
        shutil.copytree(ROOT / "examples" / name, examples / name,
                        ignore=shutil.ignore_patterns("*.db", "*.db-*"))  # fmt: skip
    # Channels of this test's own: other tests share the Redis.
    prefix = f"deploy-{uuid.uuid4().hex[:8]}"
    text = (examples / "cluster/gateway.yaml").read_text(encoding="utf-8")
    text = text.replace("channel_prefix: demo", f"channel_prefix: {prefix}")
    configs = (examples / "cluster/gateway-a.yaml", examples / "cluster/gateway-b.yaml")
    for config in configs:
        config.write_text(text, encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("GATEWAY_STORE_URL", "REDIS_URL")}
    os.environ["GATEWAY_STORE_URL"], os.environ["REDIS_URL"] = url, redis_url
    a = Served(configs[0], workers=2)
    b = Served(configs[1], workers=2)
    nginx: Nginx | None = None
    engine = sa.create_engine(url)
    try:
        a.wait_ready()
        b.wait_ready()
        nginx = Nginx(root, [a.port, b.port])
        yield Cluster(a, b, nginx, configs, engine, f"{prefix}:feeds")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if nginx is not None:
            nginx.stop()
        a.stop()
        b.stop()
        engine.dispose()
        reset_gateway_tables(url)


def trades(stream: StreamClient, since: float = 0.0) -> list[tuple[str, float, float]]:
    return [
        (m.message["id"], m.message["t"], m.message["p"])
        for m in list(stream.messages)
        if m.message.get("f") == "t" and m.at >= since
    ]


def test_a_token_from_one_instance_works_on_the_other_and_a_logout_revokes_it_everywhere(
    cluster: Cluster,
) -> None:
    token = login(cluster.a.port)
    assert call(cluster.b.port, "GET", "/accounts", token=token)[1]["s"] == "ok"
    assert cluster.nginx.call("GET", "/accounts", token)[1]["s"] == "ok"
    assert call(cluster.b.port, "POST", "/logout", {}, token)[1]["s"] == "ok"
    # Every worker of both instances refuses it now: ask each instance a few times.
    for _ in range(4):
        assert call(cluster.a.port, "GET", "/accounts", token=token)[0] == 401
        assert cluster.nginx.call("GET", "/accounts", token)[0] == 401


def test_an_order_placed_through_one_instance_appears_in_the_others_orders_and_stream(
    cluster: Cluster,
) -> None:
    token = login(cluster.a.port)
    streams = [
        StreamClient(
            "127.0.0.1", cluster.b.port, f"/accounts/{ACCOUNT}/stream/orders", token=token
        ).open()
        for _ in range(2)
    ]  # fmt: skip  (two: one per worker of B, whichever each lands on)
    try:
        for stream in streams:
            stream.wait_for_first()
        form = {"instrument": "BTCUSD", "qty": "1", "side": "buy", "type": "limit",
                "limitPrice": "1000"}  # fmt: skip
        status, body = call(cluster.a.port, "POST", f"/accounts/{ACCOUNT}/orders", form, token)
        assert status == 200 and body["s"] == "ok", body
        order_id = body["d"]["orderId"]
        for _ in range(4):  # each worker of B
            status, listed = call(cluster.b.port, "GET", f"/accounts/{ACCOUNT}/orders", None, token)
            assert order_id in {o["id"] for o in listed["d"]}

        def streamed() -> bool:
            # Lines are the order list, then arrays of changed orders, and {"s": "ok"} pings.
            return all(
                any(
                    isinstance(order, dict) and order.get("id") == order_id
                    for m in list(stream.messages)
                    if isinstance(m.message, list)
                    for order in m.message
                )
                for stream in streams
            )

        assert eventually(streamed, 10), [s.messages[-3:] for s in streams]
        status, body = call(cluster.b.port, "DELETE", f"/accounts/{ACCOUNT}/orders/{order_id}",
                            None, token)  # fmt: skip
        assert body["s"] == "ok", body
    finally:
        for stream in streams:
            stream.close()


def test_streaming_on_both_instances_and_through_nginx_delivers_the_same_ticks(
    cluster: Cluster,
) -> None:
    streams = [
        StreamClient("127.0.0.1", cluster.a.port).open(),
        StreamClient("127.0.0.1", cluster.b.port).open(),
        StreamClient("127.0.0.1", cluster.nginx.port, tls=cluster.nginx.tls).open(),
    ]
    try:
        for stream in streams:
            stream.wait_for_first()
        assert streams[2].headers.get("transfer-encoding") == "chunked"
        assert eventually(lambda: all(len(trades(s)) >= 15 for s in streams), 30)
        # Joined at slightly different moments: compare from the first trade all three saw.
        seen = [trades(s) for s in streams]
        common = [t for t in seen[0] if all(t in other for other in seen[1:])]
        assert len(common) >= 10
        first = common[0]
        runs = [s[s.index(first) : s.index(first) + 10] for s in seen]
        assert runs[0] == runs[1] == runs[2]
    finally:
        for stream in streams:
            stream.close()


def scrape(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        return str(answer.read().decode())


def test_metrics_sum_every_worker_of_an_instance(cluster: Cluster) -> None:
    port = cluster.a.port
    count = "gateway_request_duration_seconds_count"
    labels = {"route": "/healthz", "method": "GET", "status": "200"}
    before = value(scrape(port), count, **labels)
    for _ in range(20):
        assert call(port, "GET", "/healthz")[0] == 200
    # Whichever worker answers a scrape, it shows both workers' requests.
    assert {value(scrape(port), count, **labels) for _ in range(6)} == {before + 20}
    # A stream its client closed ends at the server's next write (a tick, a heartbeat): the
    # earlier tests' streams are gone within seconds.
    open_streams = partial(value, name="gateway_open_streams", route="/streaming")
    assert eventually(lambda: open_streams(scrape(port)) == 0, 15)
    streams = [StreamClient("127.0.0.1", port).open() for _ in range(3)]
    try:
        for stream in streams:
            stream.wait_for_first()
        assert value(scrape(port), "gateway_open_streams", route="/streaming") == 3
    finally:
        for stream in streams:
            stream.close()
    assert eventually(
        lambda: value(scrape(port), "gateway_open_streams", route="/streaming") == 0, 10
    )
    text = scrape(port)
    assert time.time() - value(text, "gateway_last_tick_timestamp_seconds") < 10
    # The sampler copies the bus's counts every 5 s: a follower of A has received ticks.
    assert eventually(
        lambda: value(scrape(port), "gateway_bus_messages_total", outcome="received") > 0, 15
    )
    assert cluster.nginx.status("/metrics") == 404  # not for the internet


def test_killing_the_feed_owner_hands_the_feed_over_within_10_seconds(cluster: Cluster) -> None:
    streams = [StreamClient("127.0.0.1", port).open()
               for port in (cluster.a.port, cluster.b.port) for _ in range(3)]  # fmt: skip
    try:
        for stream in streams:
            stream.wait_for_first()
        assert eventually(lambda: all(trades(s) for s in streams), 30)
        owner = cluster.owner_pid()
        assert owner is not None
        os.kill(owner, signal.SIGKILL)
        killed_at = time.time()

        def taken_over() -> bool:
            pid = cluster.owner_pid()
            return pid is not None and pid != owner

        assert eventually(taken_over, 10, interval=0.01), "no process took the feeds over"
        taken_at = time.time()
        # Streams held by the surviving processes go on; the killed worker's were cut.
        survivors = [s for s in streams if not s.closed_by_server]
        assert survivors
        # The first trade the new owner's feed sent (a trade still in flight at the kill could
        # arrive just after it): the gap the streams saw.
        assert eventually(lambda: any(trades(s, since=taken_at) for s in survivors), 10)
        resumed = min(t for s in survivors for t in [m.at for m in s.messages
                      if m.message.get("f") == "t" and m.at >= taken_at])  # fmt: skip
        assert resumed - killed_at < 10, f"ticks resumed after {resumed - killed_at:.1f} s"
        print(
            f"feed owner killed: taken over after {taken_at - killed_at:.1f} s, "
            f"ticks resumed after {resumed - killed_at:.1f} s"
        )
        # gunicorn replaced the worker; both instances still answer.
        for port in (cluster.a.port, cluster.b.port):
            assert eventually(partial(healthy, port), 10)
    finally:
        for stream in streams:
            stream.close()


def test_a_feed_owner_stopping_cleanly_gives_the_feeds_up_before_it_exits(
    cluster: Cluster,
) -> None:
    assert eventually(lambda: cluster.owner_pid() is not None, 20)
    owner = cluster.owner_pid()
    assert owner is not None
    masters = (cluster.a.process.pid, cluster.b.process.pid)
    assert any(owner in children(master) for master in masters)
    os.kill(owner, signal.SIGTERM)  # what a reload, a scale-down or a rolling update sends
    assert eventually(lambda: all(owner not in children(m) for m in masters), 30)
    # Gone: its lease is gone with it (released, not left to expire for feed_lease), and the
    # next owner is some other process.
    assert cluster.owner_pid() != owner
    assert eventually(lambda: cluster.owner_pid() not in (None, owner), 10)
    for port in (cluster.a.port, cluster.b.port):
        assert eventually(partial(healthy, port), 10)


def test_sighup_with_a_broken_config_keeps_the_old_one_serving_and_logs_why(
    cluster: Cluster,
) -> None:
    config = cluster.configs[0]
    good = config.read_text(encoding="utf-8")
    workers_before = children(cluster.a.process.pid)
    try:
        config.write_text(good + "\nserver:\n  max_body_bytes: -5\n", encoding="utf-8")
        os.kill(cluster.a.process.pid, signal.SIGHUP)
        assert eventually(lambda: "reload refused" in cluster.a.log.read_text(), 30)
        log = cluster.a.log.read_text()
        assert "server.max_body_bytes" in log
        assert children(cluster.a.process.pid) == workers_before  # nothing was replaced
        token = login(cluster.a.port)
        assert call(cluster.a.port, "GET", "/accounts", token=token)[1]["s"] == "ok"
    finally:
        config.write_text(good, encoding="utf-8")
    # A good file is swapped in: new workers, and the instance serves throughout.
    os.kill(cluster.a.process.pid, signal.SIGHUP)
    assert eventually(lambda: "new workers take over" in cluster.a.log.read_text(), 30)
    assert eventually(lambda: not (set(children(cluster.a.process.pid)) & set(workers_before)), 40)
    assert call(cluster.a.port, "GET", "/healthz")[0] == 200


def healthy(port: int) -> bool:
    try:
        return call(port, "GET", "/healthz")[0] == 200
    except OSError:
        return False
