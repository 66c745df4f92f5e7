"""A /streaming client that stops reading is dropped; the others keep their latency."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

from tests.live_gateway import serve
from tests.stream_client import StreamClient

RATE = 3000  # quotes per second: enough to fill a stalled socket in about a second
SECONDS = 25

DEMO_HASH = (  # "demo", as in the demo configuration
    "$argon2id$v=19$m=65536,t=3,p=4$b3A5ND4dTGBRVUlcSQdw5g$"
    "wbiJiUbHbWiYIOt4wJc8rK2Tzzk0ScliWSdLQTpqg5g"
)
CONFIG = f"""\
version: 1
broker: {{name: Fast}}
users:
  - login: demo
    password_hash: {DEMO_HASH}
    accounts: [A1]
accounts:
  - {{id: A1, name: Fast, type: demo}}
symbols:
  - symbol: FAST
    description: A fast test symbol
    currency: USD
    exchange-listed: TEST
    exchange-traded: TEST
    minmovement: 1
    pricescale: 100
    type: spot
    timezone: Etc/UTC
    session-regular: 24x7
store: {{url: "sqlite:///fast.db"}}
connectors:
  feed: {{type: csv_replay, ticks: ticks.csv.gz, loop: false}}
market:
  feeds: [feed]
  stream_buffer_bytes: 65536
"""


def write_feed(directory: Path) -> None:
    rows = ["offset,symbol,kind,price,size,bid,bid_size,ask,ask_size"]
    for i in range(RATE * SECONDS):
        bid = 100 + (i % 500) / 100
        rows.append(
            f"{i / RATE:.6f},FAST,quote,,,{bid:.2f},{1 + i % 7},{bid + 0.01:.2f},{1 + i % 5}"
        )
    with gzip.open(directory / "ticks.csv.gz", "wt", encoding="utf-8") as out:
        out.write("\n".join(rows) + "\n")


@pytest.mark.slow
def test_a_stalled_client_is_dropped_and_the_others_keep_their_latency(tmp_path: Path) -> None:
    write_feed(tmp_path)
    config = tmp_path / "gateway.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    with serve(config) as gateway:
        reader = StreamClient("127.0.0.1", gateway.port).open()
        stalled = StreamClient("127.0.0.1", gateway.port, receive_buffer=4096, read=False).open()
        reader.wait_for_first()
        deadline = time.monotonic() + SECONDS
        while "dropped 1 /streaming client" not in gateway.log.read_text():
            assert time.monotonic() < deadline, "the stalled client was never dropped"
            time.sleep(0.2)
        dropped_at = time.time()
        time.sleep(3)
        assert stalled.drain_socket(timeout=10), "the server did not close the stalled stream"
        reader.close()
        stalled.close()
    quotes = [r for r in reader.messages if r.message.get("f") == "q"]
    after = [r for r in quotes if r.at > dropped_at]
    assert len(after) > RATE  # it kept receiving at full rate after the drop
    delays = sorted(r.at - r.message["t"] for r in after)
    assert delays[len(delays) * 99 // 100] < 1.5  # whole-second t: prompt means under ~1 s
    assert not reader.closed_by_server
