"""Under gevent, long stretches of work let the worker's other greenlets run.

A greenlet that computes for seconds holds its whole gevent worker: requests, streams, the relay
of other processes' orders and the renewal of the leases it owns all wait. The cluster's new
feeds owner imports the feeds' back-fill (seconds of work on the demo) while other processes
relay orders to it; a fresh CI run caught an order refused because nobody took it for 2 s. These
run in a process gevent has patched, as a gevent worker is.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import DEMO

SCRIPT = """
import gevent.monkey
gevent.monkey.patch_all()
import shutil, sys, tempfile, time
from pathlib import Path
import gevent
from gateway.app import build
from gateway.config.loader import load_config
from gateway.market.setup import feeds_of

tmp = Path(tempfile.mkdtemp())
shutil.copytree(DEMO_DIR, tmp / "demo", ignore=shutil.ignore_patterns("*.db", "*.db-*"))
path = tmp / "demo" / "gateway.yaml"
path.write_text(path.read_text().replace("sqlite:///demo.db", "sqlite:///bf.db"))
gateway = build(load_config(path))
market = gateway.services.market
feeds = feeds_of(gateway.services.config, gateway.services.connectors)
beats = []

def beat():
    while True:
        beats.append(time.monotonic())
        gevent.sleep(0.005)

gevent.spawn(beat)
gevent.sleep(0.05)
began = time.monotonic()
stored = market._store_backfill(feeds, time.time())  # reads the recording, writes the bars
took = time.monotonic() - began
during = [b for b in beats if b >= began]
gaps = [b - a for a, b in zip(during, during[1:])] or [took]
print(stored, round(took, 2), round(max(gaps), 3))
"""


def test_importing_the_back_fill_lets_the_other_greenlets_run() -> None:
    code = SCRIPT.replace("DEMO_DIR", repr(str(DEMO.parent)))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    fields = out.stdout.split()
    assert len(fields) == 3, out.stdout + out.stderr
    stored, took, longest_gap = int(fields[0]), float(fields[1]), float(fields[2])
    assert stored > 1000 and took > 0.3  # real work: the demo's recorded bars
    # Without pauses the other greenlet waits for the whole import (about 2 s here).
    assert longest_gap < took / 3, (longest_gap, took)
