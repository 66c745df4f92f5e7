"""The scale suite's two measurements, each with its servers (see :mod:`bench.scale`)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import ssl
import statistics
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import loadgen, servers
from bench.hello import PATH as HELLO_PATH
from bench.market_config import symbol_names, write_silent_config
from bench.market_history import UnavailableError, ensure_database
from bench.market_memory import PROC, children, processes, rss_kib, worker_pid
from bench.market_stream import StreamClients
from bench.nginx import Nginx
from gateway.store import migrate
from gateway.store.tables import metadata

DEFAULT_POSTGRES = os.environ.get(
    "GATEWAY_BENCH_SCALE_POSTGRES",
    "postgresql+psycopg://postgres@127.0.0.1:5432/gateway_bench_scale",
)
DEFAULT_REDIS = os.environ.get("GATEWAY_BENCH_REDIS", "redis://127.0.0.1:6379/0")
GUNICORN_CONF = servers.REPO_ROOT / "config" / "gunicorn.conf.py"
WORKER_CLASSES = ("gevent", "threads")
ORDINARY_CONNECTIONS = 8
"""Keep-alive connections sending the ordinary requests of the idle part."""
STATIC = '{"s":"ok","d":"hello, world"}'
ACCOUNT = "DEMO-USD"
POLLING = (
    *2 * (f"/quotes?accountId={ACCOUNT}&symbols=EURUSD,BTCUSD",),
    *2 * (f"/accounts/{ACCOUNT}/orders",),
    *2 * (f"/accounts/{ACCOUNT}/state?locale=en",),
    f"/accounts/{ACCOUNT}/positions",
)
"""One logged-in user's second at TradingView's default pullingInterval (spec 1.4.14, §5.6):
quotes and orders every 500 ms, the account manager's /state every 500 ms, positions every
1000 ms (the demo account has no /balances, polled every 1000 ms where offered)."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    """Progress, on stderr."""
    print(f"scale: {text}", file=sys.stderr, flush=True)


def _load(
    port: int, request: loadgen.Request, seconds: int, connections: int, scheme: str = "http"
) -> loadgen.LoadResult:
    return loadgen.run_wrk(
        servers.HOST, port, request, duration=seconds, connections=connections, scheme=scheme
    )


def _figures(result: loadgen.LoadResult) -> dict[str, Any]:
    return {
        "rps": round(result.rps, 1),
        "p50_ms": round(result.latency_p50_ms, 2),
        "p99_ms": round(result.latency_p99_ms, 2),
        "errors": result.errors,
    }


def _ratio(value: float, base: float) -> float | None:
    return round(value / base, 3) if base else None


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds the processes have used (0 for one that has gone)."""
    total = 0
    for pid in pids:
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLOCK_TICKS


def _named(command: str) -> list[int]:
    """Processes whose command name is ``command`` (the local PostgreSQL's, Redis's)."""
    return [pid for pid, name, _ in processes() if name == command]


def _with_children(pid: int) -> list[int]:
    return [pid, *children(pid)]


def _polling_script(token: str) -> str:
    """wrk's script: the polling paths in turn, with the bearer token."""
    base = loadgen.wrk_script(loadgen.Request("GET", "/", (("Authorization", f"Bearer {token}"),)))
    paths = ", ".join(loadgen.lua_string(path) for path in POLLING)
    return (
        base
        + f"""
local paths = {{{paths}}}
local turn = 0
request = function()
  turn = turn % #paths + 1
  return wrk.format(nil, paths[turn])
end
"""
    )


# -- 1. idle streams -------------------------------------------------------------------------


def _idle_server(kind: str, config: Path, port: int, streams: int) -> list[str]:
    """gunicorn with the container's settings, one worker of ``kind``, room for the streams."""
    threads = ["--threads", str(streams + 64)] if kind == "threads" else []
    return [
        "env", f"GATEWAY_CONFIG={config}", f"GATEWAY_WORKER_CLASS={kind}", "GATEWAY_WORKERS=1",
        sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF),
        "--bind", f"{servers.HOST}:{port}", "--worker-connections", str(streams + 256),
        *threads,
    ]  # fmt: skip


def _pumping(clients: StreamClients) -> Callable[[], None]:
    """Read the streams on a thread until the returned function is called."""
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            clients.pump(time.time() + 0.2)

    thread = threading.Thread(target=pump, name="streams", daemon=True)
    thread.start()

    def done() -> None:
        stop.set()
        thread.join()

    return done


def _idle_class(kind: str, args: argparse.Namespace, config: Path, tmp: Path) -> dict[str, Any]:
    streams, seconds = args.idle_streams, args.scale_duration
    today = int(time.time()) // 86400 * 86400
    path = f"/history?symbol={symbol_names(1)[0]}&resolution=1&from={today - 86400}&to={today}"
    request = loadgen.Request("GET", path)
    port = servers.free_port()
    say(f"idle: {kind} worker, 0 then {streams} idle streams")
    argv = _idle_server(kind, config, port, streams)
    with servers.serving(f"idle-{kind}", argv, port, tmp, "/") as server:
        pid = worker_pid(server.process.pid)
        _load(port, request, 1, ORDINARY_CONNECTIONS)  # warm-up
        quiet = _load(port, request, seconds, ORDINARY_CONNECTIONS)
        rss_quiet = rss_kib(pid)
        with StreamClients(servers.HOST, port, "/streaming") as clients:
            began = time.monotonic()
            for _ in range(0, streams, 250):
                clients.open(min(250, streams - len(clients.connections)))
                clients.pump(time.time() + 0.05)
            clients.pump(time.time() + 30 + streams / 100, lambda: clients.started() >= streams)
            opened_s = time.monotonic() - began
            stop = _pumping(clients)
            try:
                loaded = _load(port, request, seconds, ORDINARY_CONNECTIONS)
                rss_loaded = rss_kib(pid)
            finally:
                stop()
            started, ended = clients.started(), clients.ended()
    failures = []
    if started < streams:
        failures.append(f"{kind}: {streams - started} of {streams} streams got no first line")
    if ended:
        failures.append(f"{kind}: {ended} streams ended while they should have stayed open")
    if quiet.errors or loaded.errors:
        failures.append(f"{kind}: {quiet.errors + loaded.errors} ordinary requests failed")
    return {
        "worker_class": kind,
        "streams": streams,
        "streaming": started,
        "open_seconds": round(opened_s, 1),
        "quiet": _figures(quiet),
        "loaded": _figures(loaded),
        "rps_ratio": _ratio(loaded.rps, quiet.rps),
        "p50_ratio": _ratio(loaded.latency_p50_ms, quiet.latency_p50_ms),
        "p99_ratio": _ratio(loaded.latency_p99_ms, quiet.latency_p99_ms),
        "rss_mib": [round(rss_quiet / 1024, 1), round(rss_loaded / 1024, 1)],
        "kib_per_stream": round((rss_loaded - rss_quiet) / max(1, started), 1),
        "failures": failures,
    }


def idle_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Ordinary requests with and without idle streams, for each worker class."""
    config = write_silent_config(
        tmp, symbols=4, store_url=f"sqlite:///{(tmp / 'store.db').resolve()}", name="idle.yaml"
    )
    results = [_idle_class(kind, args, config, tmp) for kind in WORKER_CLASSES]
    return {
        "path": "GET /history (one day of one-minute bars)",
        "connections": ORDINARY_CONNECTIONS,
        "seconds": args.scale_duration,
        "classes": results,
        "failures": [f for r in results for f in r["failures"]],
    }


# -- 2. instances behind nginx ---------------------------------------------------------------


def _fresh_database(url_text: str) -> str:
    """Create the database if missing, or empty it of the gateway's tables (and only those)."""
    url = sa.engine.make_url(url_text)
    name = url.database or "gateway_bench_scale"
    try:
        ensure_database(url)
    except UnavailableError as exc:
        raise RuntimeError(str(exc)) from None
    engine = sa.create_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        ours = {t.name for t in metadata.sorted_tables} | {migrate.VERSION_TABLE}
        if tables - ours:
            raise RuntimeError(
                f"database {name!r} holds tables that are not the gateway's; point "
                "--scale-postgres-url at a database of its own"
            )
        metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {migrate.VERSION_TABLE}")
    except sa.exc.DBAPIError as exc:
        raise RuntimeError(f"cannot prepare database {name!r}: {exc.orig}") from None
    finally:
        engine.dispose()
    return url.render_as_string(hide_password=False)


def _cluster_config(tmp: Path, prefix: str) -> Path:
    """A copy of examples/cluster (and the demo it extends) with channels of this run's own."""
    examples = tmp / "examples"
    for name in ("demo", "cluster"):
        shutil.copytree(
            servers.REPO_ROOT / "examples" / name,
            examples / name,
            ignore=shutil.ignore_patterns("*.db", "*.db-*"),
        )
    config = examples / "cluster" / "gateway.yaml"
    text = config.read_text(encoding="utf-8").replace(
        "channel_prefix: demo", f"channel_prefix: {prefix}"
    )
    config.write_text(text, encoding="utf-8")
    return config


@contextmanager
def _instances(
    config: Path, count: int, tmp: Path, env: dict[str, str]
) -> Iterator[list[servers.Server]]:
    """``count`` instances of ``gateway serve config --workers 2``."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with ExitStack() as stack:
            started = []
            for n in range(count):
                port = servers.free_port()
                argv = servers.gateway_command(config, port, 2)
                started.append(
                    stack.enter_context(servers.serving(f"instance-{n}", argv, port, tmp, "/"))
                )
            yield started
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _https(port: int, method: str, path: str, token: str | None = None) -> Any:
    """One request through nginx (its certificate is this run's self-signed one); the JSON."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(servers.HOST, port, context=context, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = (
        urllib.parse.urlencode({"login": "demo", "password": "demo"}) if method == "POST" else None
    )
    try:
        conn.request(method, path, body=body, headers=headers)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def _login(port: int) -> str:
    """A bearer token from ``POST /authorize`` through nginx (demo/demo), every polled path
    checked to answer ``ok`` with it (wrk counts statuses, not the gateway's ``s``)."""
    answer = _https(port, "POST", "/authorize")
    if answer.get("s") != "ok":
        raise RuntimeError(f"POST /authorize through nginx answered {answer}")
    token: str = answer["d"]["access_token"]
    for path in sorted(set(POLLING)):
        polled = _https(port, "GET", path, token)
        if polled.get("s") != "ok":
            raise RuntimeError(f"GET {path} through nginx answered {polled}")
    return token


class _Target:
    """What one row of the instances table loads, and whose CPU it counts."""

    def __init__(self, label: str, port: int, path: str, script: str | None = None) -> None:
        self.label, self.port, self.script = label, port, script
        self.request = loadgen.Request("GET", path)
        self.groups: dict[str, Callable[[], list[int]]] = {}

    def run(self, seconds: int, connections: int) -> dict[str, Any]:
        """Warm up, settle, then load for ``seconds``: the figures and CPU ms per request."""
        run = loadgen.run_wrk
        host, scheme = servers.HOST, "https"
        run(host, self.port, self.request, duration=1, connections=connections,
            script=self.script, scheme=scheme)  # fmt: skip
        time.sleep(0.5)
        pids = {name: find() for name, find in self.groups.items()}
        before = {name: _cpu_seconds(group) for name, group in pids.items()}
        result = run(host, self.port, self.request, duration=seconds, connections=connections,
                     script=self.script, scheme=scheme)  # fmt: skip
        figures = _figures(result)
        for name, group in pids.items():
            used = _cpu_seconds(group) - before[name]
            figures[f"{name}_cpu_ms"] = round(1000 * used / max(1, result.successes), 3)
        return figures


def instances_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Requests/s through nginx: its own answer, hello, one and two gateway instances."""
    seconds, connections = args.scale_duration, args.scale_connections
    say("instances: preparing PostgreSQL")
    store = _fresh_database(args.scale_postgres_url)
    config = _cluster_config(tmp, f"bench-{uuid.uuid4().hex[:8]}")
    env = {"GATEWAY_STORE_URL": store, "REDIS_URL": args.scale_redis_url}
    static = (
        "server { listen 127.0.0.1:%d ssl; ssl_certificate %s; ssl_certificate_key %s; "
        "access_log off; location = /static { default_type application/json; return 200 '%s'; } }"
    )
    rows: dict[str, list[dict[str, Any]]] = {}
    say("instances: starting hello, two gateway instances and nginx")
    with ExitStack() as stack:
        hello_port = servers.free_port()
        hello = stack.enter_context(servers.serve_hello(hello_port, 2, tmp))
        instances = stack.enter_context(_instances(config, 2, tmp, env))
        static_port = servers.free_port()
        proxies: dict[str, Nginx] = {}
        upstreams = {
            "hello": [hello_port],
            "one": [instances[0].port],
            "two": [i.port for i in instances],
        }
        for name, ports in upstreams.items():
            extra = ""
            if name == "hello":
                cert, key = tmp / "nginx-hello" / "cert.pem", tmp / "nginx-hello" / "key.pem"
                extra = static % (static_port, cert, key, STATIC)
            proxies[name] = Nginx(tmp / f"nginx-{name}", ports, extra)
            stack.callback(proxies[name].stop)
        script = _polling_script(_login(proxies["one"].port))

        def tree(*masters: servers.Server) -> Callable[[], list[int]]:
            return lambda: [p for m in masters for p in _with_children(m.process.pid)]

        targets = [
            _Target("nginx alone", static_port, "/static"),
            _Target("hello, 1 instance", proxies["hello"].port, HELLO_PATH),
            _Target("polling, 1 instance", proxies["one"].port, POLLING[0], script),
            _Target("polling, 2 instances", proxies["two"].port, POLLING[0], script),
        ]
        targets[1].groups["app"] = tree(hello)
        targets[2].groups["app"] = tree(instances[0])
        targets[3].groups["app"] = tree(*instances)
        for target, proxy in zip(targets, ("hello", "hello", "one", "two"), strict=True):
            target.groups["nginx"] = partial(_with_children, proxies[proxy].process.pid)
        for target in targets[2:]:
            target.groups["postgres"] = partial(_named, "postgres")
            target.groups["redis"] = partial(_named, "redis-server")
        for round_number in range(args.scale_rounds):
            for target in targets:
                say(f"instances: round {round_number + 1}, {target.label}")
                rows.setdefault(target.label, []).append(target.run(seconds, connections))
    return _instances_summary(args, rows)


def _instances_summary(
    args: argparse.Namespace, rows: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    summary = []
    for label, runs in rows.items():
        row: dict[str, Any] = {"target": label}
        for key in runs[0]:
            values = [r[key] for r in runs]
            row[key] = sum(values) if key == "errors" else statistics.median(values)
        summary.append(row)
    by = {row["target"]: row["rps"] for row in summary}
    for row in summary:
        row["ratio_to_hello"] = _ratio(row["rps"], by["hello, 1 instance"])
    return {
        "connections": args.scale_connections,
        "seconds": args.scale_duration,
        "rounds": args.scale_rounds,
        "polling": list(POLLING),
        "summary": summary,
        "runs": rows,
        "two_over_one": _ratio(by["polling, 2 instances"], by["polling, 1 instance"]),
        "failures": [f"{r['target']}: {r['errors']} errors" for r in summary if r["errors"]],
    }
