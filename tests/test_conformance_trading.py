"""``gateway conformance`` against the other examples, and its trading suite against broken servers.

examples/sql-broker is served from a scratch SQLite copy of the broker's database while its back
office fills orders and a price feed moves its quotes (the broker's own systems, which the
gateway never sees); examples/fix-demo trades through ``gateway fix-venue``. Each must pass.
The broken servers are the served demo behind a proxy (tests/breaking_proxy.py) that spoils one
rule; each must fail exactly the checks that test it.
"""

from __future__ import annotations

import json
import random
import shutil
import threading
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from gateway.conformance.client import Client
from gateway.conformance.model import Context, Outcome
from gateway.conformance.runner import SUITES, checks_for, run
from tests.breaking_proxy import Spoil, proxying
from tests.conftest import DEMO
from tests.live_gateway import LiveGateway, copy_demo, login, serve
from tests.sql_broker import EXAMPLE, load_back_office, load_broker
from tests.test_fix_venue import SIMULATOR_PASSWORD, simulator  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parent.parent
EXCUSED = {
    "data.unauthorized": "the examples' data endpoints are open",
    "streaming.historyEquality": "a short recording covers no whole minute",
}


def _outcomes(
    url: str,
    login_name: str,
    password: str,
    suites: Iterable[str] = tuple(SUITES),
    account: str | None = None,
    symbol: str | None = None,
) -> list[Outcome]:
    ctx = Context(Client(url), login=login_name, password=password, stream_seconds=12,
                  history_wait=3, account=account, symbol=symbol)  # fmt: skip
    return run(ctx, checks_for(suites), say=lambda _line: None)


def _problems(outcomes: list[Outcome], excused: set[str]) -> list[Outcome]:
    return [
        o
        for o in outcomes
        if o.status == "failed" or (o.status == "skipped" and o.name not in excused)
    ]


@pytest.fixture
def sql_broker(tmp_path: Path) -> Iterator[LiveGateway]:
    """examples/sql-broker on a fresh SQLite database, its back office and price feed running."""
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    broker, office = load_broker(), load_back_office()
    broker.create(url)
    broker.seed(url)
    target = tmp_path / "sql-broker"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("*.db*", "__pycache__"))
    stop = threading.Event()
    prices = {"EURUSD": 1.08, "AAPL": 227.5, "BTCUSD": 64250.0, "ESZ6": 6850.25}

    def systems() -> None:
        # The broker's feed moves every quote (and last trade); its back office fills.
        while not stop.wait(0.5):
            for sym, mid in prices.items():
                tick = 0.00001 if sym == "EURUSD" else 0.25
                mid += random.choice((-1, 1)) * 2 * tick
                prices[sym] = mid
                office.set_quote(url, sym, round(mid - tick, 5), round(mid + tick, 5))
            office.match(url)

    thread = threading.Thread(target=systems, daemon=True)
    thread.start()
    try:
        with serve(target / "gateway.yaml", env={"BROKER_DB_URL": url}) as gateway:
            yield gateway
    finally:
        stop.set()
        thread.join(timeout=30)


@pytest.mark.slow
def test_the_sql_broker_passes_every_check(sql_broker: LiveGateway) -> None:
    url = f"http://127.0.0.1:{sql_broker.port}"
    outcomes = _outcomes(url, "alice", "alice-pass")
    assert _problems(outcomes, set(EXCUSED)) == []
    netting = _outcomes(url, "alice", "alice-pass", account="AC-10002", suites=["trading"])
    assert _problems(netting, set()) == []


@pytest.mark.slow
def test_the_fix_demo_passes_every_check(tmp_path: Path, simulator: int) -> None:  # noqa: F811
    target = tmp_path / "fix-demo"
    shutil.copytree(ROOT / "examples" / "fix-demo", target, ignore=shutil.ignore_patterns("*.db*"))
    config = target / "gateway.yaml"
    text = config.read_text(encoding="utf-8").replace("port: 9878", f"port: {simulator}")
    config.write_text(text, encoding="utf-8")
    with serve(config, env={"FIX_PASSWORD": SIMULATOR_PASSWORD}) as gateway:
        outcomes = _outcomes(f"http://127.0.0.1:{gateway.port}", "demo", "demo")
    # The FIX demo's history is built from the live feed only: a fresh one has no bars yet.
    history = {o.name for o in outcomes if o.name.startswith("history.")}
    assert _problems(outcomes, set(EXCUSED) | history) == []
    assert {o.name for o in outcomes if o.suite == "trading" and o.status == "passed"} == {
        c.name for c in SUITES["trading"]
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    with serve(copy_demo(DEMO.parent, tmp_path_factory.mktemp("demo"))) as gateway:
        yield gateway


def test_the_demo_passes_the_trading_suite_and_undoes_what_it_did(demo: LiveGateway) -> None:
    url = f"http://127.0.0.1:{demo.port}"
    token = login(demo.port)
    before = demo_orders(demo, token)
    outcomes = _outcomes(url, "demo", "demo", suites=["trading"], symbol="BTCUSD")
    assert _problems(outcomes, set()) == []
    after = demo_orders(demo, token)
    placed = set(after) - set(before)
    assert len(placed) >= 8  # every order type, brackets, fills and closes
    assert {after[i]["status"] for i in placed} <= {"filled", "cancelled"}


def demo_orders(demo: LiveGateway, token: str) -> dict[str, dict[str, object]]:
    """The demo account's orders by id."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{demo.port}/accounts/DEMO-USD/orders?locale=en",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return {o["id"]: o for o in json.loads(resp.read())["d"]}


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (Spoil(no_cors=True), {"trading.cors"}),
        (Spoil(orphan_brackets=True), {"trading.orderBrackets"}),
        (Spoil(token_optional=True), {"trading.unauthorized"}),
    ],
    ids=["no CORS", "brackets without their parent", "no token check"],
)
def test_a_broken_trading_server_fails_exactly_what_it_breaks(
    demo: LiveGateway, spoil: Spoil, expected: set[str]
) -> None:
    with proxying(demo.port, spoil, token=login(demo.port)) as url:
        outcomes = _outcomes(url, "demo", "demo", suites=["trading"], symbol="BTCUSD")
    failed = {o.name for o in outcomes if o.status == "failed"}
    assert failed == expected, [o for o in outcomes if o.status == "failed"]
    assert all(o.reason for o in outcomes if o.status == "failed")


@pytest.mark.parametrize(
    ("option", "value", "check", "reason"),
    [
        ("account", "NO-SUCH'; DROP TABLE orders;--", "trading.accounts", "is not among /accounts"),
        ("symbol", "<script>alert(1)</script>", "trading.instruments", "is not an instrument"),
    ],
)
def test_an_unknown_account_or_instrument_fails_with_its_name_and_places_nothing(
    demo: LiveGateway, option: str, value: str, check: str, reason: str
) -> None:
    token = login(demo.port)
    before = demo_orders(demo, token)
    outcomes = _outcomes(
        f"http://127.0.0.1:{demo.port}", "demo", "demo", suites=["trading"], **{option: value}
    )
    failed = {o.name: o.reason for o in outcomes if o.status == "failed"}
    assert list(failed) == [check] and reason in failed[check] and value in failed[check]
    skipped = {o.name for o in outcomes if o.status == "skipped"}
    assert {"trading.limitOrder", "trading.marketOrder", "trading.cleanup"} <= skipped
    assert demo_orders(demo, token) == before
