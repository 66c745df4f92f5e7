"""``python -m bench.sql``: mapped mode's cost over the broker's own queries.

The example broker (examples/sql-broker) on a SQLite file in a temporary directory. For
``/orders`` and ``/state`` of alice's USD account, in interleaved rounds (baseline, mapped,
baseline), it times:

* **baseline** — the declared SQL run directly with SQLAlchemy (same engine settings, same bound
  parameters, rows fetched into dicts): what a hand-written server would do at the least;
* **mapped** — the same query through the sql connector and the core's mapping: read-only
  transaction, field expressions in the sandbox, the spec checks (``MappedTrading``);
* **http** — the whole request in process (WSGI, token check, identity, mapping, JSON), for
  context; it includes the token lookup in the gateway's own store.

Each figure is the median of per-call times; the ratio is mapped (or http) over the mean of the
baselines around it, so that the shared machine's noise cancels. Target (issue 6): mapped ≤ 2×.
Results go to ``bench/results/sql.json`` and ``sql.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import webtest

from bench.report import RESULTS_DIR
from gateway.app import build
from gateway.config import load_config
from gateway.config.model import Store
from gateway.config.types import Secret

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "sql-broker"
ACCOUNT = "AC-10001"
TARGET = 2.0


def _broker_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_broker_db", EXAMPLE / "broker_db.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _median_seconds(call: Callable[[], object], calls: int) -> float:
    times: list[float] = []
    for _ in range(calls):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(calls: int = 2000, rounds: int = 3, directory: Path | None = None) -> dict[str, Any]:
    """Run the suite; the JSON document of the results."""
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        url = f"sqlite:///{Path(tmp) / 'broker.db'}"
        broker = _broker_module()
        broker.create(url)
        broker.seed(url)
        config = load_config(EXAMPLE / "gateway.yaml", environ={"BROKER_DB_URL": url})
        config = type(config)(
            **{**config.__dict__, "store": Store(url=Secret(f"sqlite:///{Path(tmp) / 'gw.db'}"))}
        )
        gateway = build(config)
        gateway.start()
        try:
            return _run(gateway, url, calls, rounds)
        finally:
            gateway.close()


def _run(gateway: Any, url: str, calls: int, rounds: int) -> dict[str, Any]:
    app = webtest.TestApp(gateway.app)
    token = app.post("/authorize", {"login": "alice", "password": "alice-pass"}).json["d"][
        "access_token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    mapped = gateway.services.mapped
    connector = gateway.services.connectors["broker_db"]
    queries = connector.options.account_data
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
    since = time.time() - time.time() % 86400
    params = {"account_id": ACCOUNT, "login": "alice", "since": since}

    def raw(statement: Any) -> Callable[[], object]:
        text = statement.text
        bound = {name: params.get(name) for name in statement.bind_names}

        def call() -> object:
            with engine.connect() as conn:
                return [dict(row) for row in conn.execute(text, bound).mappings()]

        return call

    targets: dict[str, dict[str, Callable[[], object]]] = {
        "/orders": {
            "baseline": raw(queries.orders),
            "mapped": lambda: mapped.orders(ACCOUNT, "alice", since),
            "http": lambda: app.get(f"/accounts/{ACCOUNT}/orders", headers=headers),
        },
        "/state": {
            "baseline": raw(queries.state),
            "mapped": lambda: mapped.state(ACCOUNT, "alice"),
            "http": lambda: app.get(f"/accounts/{ACCOUNT}/state", headers=headers),
        },
    }
    rows: list[dict[str, Any]] = []
    for endpoint, calls_by_kind in targets.items():
        for call in calls_by_kind.values():  # warm-up: pools, caches, compiled expressions
            _median_seconds(call, max(10, calls // 20))
        baselines: list[float] = []
        mapped_times: list[float] = []
        http_times: list[float] = []
        for _ in range(rounds):
            baselines.append(_median_seconds(calls_by_kind["baseline"], calls))
            mapped_times.append(_median_seconds(calls_by_kind["mapped"], calls))
            http_times.append(_median_seconds(calls_by_kind["http"], calls))
            baselines.append(_median_seconds(calls_by_kind["baseline"], calls))
        base = statistics.mean(baselines)
        mapped_s = statistics.median(mapped_times)
        http_s = statistics.median(http_times)
        rows.append(
            {
                "endpoint": endpoint,
                "baseline_us": round(base * 1e6, 1),
                "mapped_us": round(mapped_s * 1e6, 1),
                "http_us": round(http_s * 1e6, 1),
                "mapped_ratio": round(mapped_s / base, 2),
                "http_ratio": round(http_s / base, 2),
                "meets_target": mapped_s / base <= TARGET,
            }
        )
    engine.dispose()
    return {"calls": calls, "rounds": rounds, "target": TARGET, "rows": rows}


def markdown(document: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| endpoint | SQLAlchemy alone | through the mapping | ratio | whole request | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for row in document["rows"]:
        lines.append(
            f"| `{row['endpoint']}` | {row['baseline_us']} µs | {row['mapped_us']} µs | "
            f"**{row['mapped_ratio']}×** | {row['http_us']} µs | {row['http_ratio']}× |"
        )
    lines.append("")
    lines.append(
        f"Median per call, {document['calls']} calls × {document['rounds']} interleaved rounds, "
        f"SQLite, in process; target: mapping ≤ {document['target']}×."
    )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print and write the results; 1 when a ratio misses the target."""
    p = argparse.ArgumentParser(prog="python -m bench.sql", description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=2000, help="calls per measurement")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    p.add_argument("--output", type=Path, default=RESULTS_DIR, help="results directory")
    args = p.parse_args(argv)
    document = measure(args.calls, args.rounds)
    text = markdown(document)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "sql.json").write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    (args.output / "sql.md").write_text(text, "utf-8")
    print(text, end="")
    return 0 if all(row["meets_target"] for row in document["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
