"""``python -m bench.scale`` (or ``python -m bench.run --suite scale``): the deployment's figures.

Two measurements, each against a baseline measured in the same run:

1. **Idle streams** (``idle``): one gateway worker (a configuration whose feed publishes nothing,
   so its streams carry only heartbeats) answers ordinary requests (``GET /history`` of one day,
   from a few keep-alive connections) with no stream open, then with ``--idle-streams`` idle
   ``/streaming`` connections open; once for each worker class (gevent, the default, and
   threads with one thread per stream). The baseline of each is its own run without streams:
   "unchanged" means a ratio near 1.
2. **Instances behind nginx** (``instances``): nginx on deploy/nginx's template (TLS) in front
   of one and then two instances of examples/cluster (two workers each, PostgreSQL and Redis),
   loaded with ``GET /accounts`` and a bearer token; the hello app behind the same nginx is the
   ceiling, and nginx answering by itself the HTTP ceiling.

The parts themselves are in :mod:`bench.scale_parts`. Results go to ``bench/results/scale.json``
and ``scale.md``; the tables are printed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

from bench import arguments, report
from bench.scale_parts import DEFAULT_POSTGRES, DEFAULT_REDIS, idle_part, instances_part, say
from bench.scale_report import markdown

PARTS = ("idle", "instances")


def _parts(text: str) -> tuple[str, ...]:
    return arguments.parts(text, PARTS)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The scale suite's options (shared with ``python -m bench.run``)."""
    g = p.add_argument_group("scale suite (see bench/README.md)")
    g.add_argument(
        "--scale-parts",
        type=_parts,
        default=PARTS,
        metavar="LIST",
        help=f"what to measure, of {','.join(PARTS)} (default all)",
    )
    g.add_argument(
        "--idle-streams",
        type=arguments.positive_int,
        default=5000,
        metavar="N",
        help="idle /streaming connections held by one worker (default 5000)",
    )
    g.add_argument(
        "--scale-duration",
        type=arguments.positive_int,
        default=5,
        metavar="S",
        help="seconds of load per target (default 5)",
    )
    g.add_argument(
        "--scale-rounds",
        type=arguments.positive_int,
        default=2,
        metavar="N",
        help="rounds of the instances targets; the table gives medians (default 2)",
    )
    g.add_argument(
        "--scale-connections",
        type=arguments.positive_int,
        default=64,
        metavar="N",
        help="keep-alive connections loading nginx (default 64)",
    )
    g.add_argument(
        "--scale-postgres-url",
        default=DEFAULT_POSTGRES,
        metavar="URL",
        help="a database of its own for the instances' store, dropped and created by the run "
        "(default $GATEWAY_BENCH_SCALE_POSTGRES or postgresql+psycopg://postgres@127.0.0.1:5432/"
        "gateway_bench_scale)",
    )
    g.add_argument(
        "--scale-redis-url",
        default=DEFAULT_REDIS,
        metavar="URL",
        help="the instances' Redis (default $GATEWAY_BENCH_REDIS or redis://127.0.0.1:6379/0; "
        "the run's channels have a prefix of their own)",
    )


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m bench.scale``."""
    return report.suite_parser(
        "scale",
        "Idle streams per worker and requests/s of one and two instances behind nginx, as "
        "ratios to baselines measured in the same run.",
        add_arguments,
    )


def run(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Measure the selected parts; the exit status and the JSON document.

    Status: 0 when everything was measured without a failed request or stream, 1 when some
    failed, 2 when a part could not be measured (its error is recorded).
    """
    began = time.monotonic()
    document: dict[str, Any] = report.head("scale")
    steps = {"idle": idle_part, "instances": instances_part}
    status = report.run_parts("scale", steps, args.scale_parts, args, document, say)
    if status == 0 and any(document[name].get("failures") for name in steps if name in document):
        status = 1
    document["elapsed_s"] = round(time.monotonic() - began, 1)
    return status, document


def run_and_write(args: argparse.Namespace) -> int:
    """Run the suite, write ``scale.json`` and ``scale.md``, print the tables; the status."""
    return report.run_and_publish("scale", run, markdown, args, say)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.scale``."""
    args = parser().parse_args(argv)
    report.stop_on_sigterm()
    return run_and_write(args)


if __name__ == "__main__":
    raise SystemExit(main())
