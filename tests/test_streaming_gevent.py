"""/streaming under gevent: a burst of ticks goes out in a few writes, not one write per tick.

Under gevent a stream's greenlet is woken by every tick a feed publishes, and would write each
one separately (a syscall and a chunk each), which capped a FIX feed's intake at a third of the
threaded worker's. A stream that has just written waits a millisecond before taking more (under
either worker). These run in a process gevent has patched, as a gevent worker is: there nothing
else batches the ticks.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gevent.monkey
gevent.monkey.patch_all()
import time, gevent
from gateway.market.streaming import StreamHub

hub = StreamHub(stream_id=lambda s: s, clock=time.time)
sub = hub.subscribe()
body = hub.messages(sub, heartbeat_seconds=5)
chunks = [next(body)]  # the first heartbeat

def feed():
    for n in range(MESSAGES):
        hub.publish({"f": "t", "id": "X", "p": 1.0, "s": n, "t": 0})
        gevent.sleep(PAUSE)  # the feed yields between ticks, as a socket or a timer makes it

def read():
    lines = 0
    while lines < MESSAGES:
        chunk = next(body)
        chunks.append(chunk)
        lines += chunk.count(b'"f":"t"')

producer = gevent.spawn(feed)
consumer = gevent.spawn(read)
gevent.joinall([producer, consumer], timeout=30)
sizes = [n for chunk in chunks[1:] for n in [chunk.count(b'"f":"t"')]]
lines = [line for chunk in chunks[1:] for line in chunk.splitlines()]
received = [int(line.split(b'"s":')[1].split(b",")[0]) for line in lines]
print(len(chunks) - 1, sum(sizes), received == list(range(MESSAGES)))
"""


def _run(messages: int, pause: float) -> tuple[int, int, bool]:
    code = SCRIPT.replace("MESSAGES", str(messages)).replace("PAUSE", repr(pause))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    fields = out.stdout.split()
    assert len(fields) == 3, out.stdout + out.stderr
    return int(fields[0]), int(fields[1]), fields[2] == "True"


def test_a_burst_of_ticks_goes_out_in_few_writes_complete_and_in_order() -> None:
    writes, lines, in_order = _run(2000, 0)
    assert lines == 2000 and in_order
    assert writes < 200, f"{writes} writes for 2000 ticks"


def test_ticks_far_apart_still_go_out_one_by_one() -> None:
    # 20 ms between ticks: no wait is added, each tick is written as it comes.
    writes, lines, in_order = _run(20, 0.02)
    assert lines == 20 and in_order
    assert writes == 20
