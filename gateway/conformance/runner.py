"""Running the checks in order, with progress, and reporting them: lines, JSON, JUnit XML."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from gateway.conformance import (
    access_checks,
    account_checks,
    data_checks,
    history_checks,
    streaming_checks,
    trading_checks,
)
from gateway.conformance.model import Check, CheckFailed, CheckSkipped, Context, Outcome

SUITES: dict[str, tuple[Check, ...]] = {
    "data": (*data_checks.CHECKS, *history_checks.CHECKS),
    "streaming": streaming_checks.CHECKS,
    "trading": (*account_checks.CHECKS, *access_checks.CHECKS, *trading_checks.CHECKS),
}
"""Every suite and its checks, in the order they run (later checks use what earlier found)."""

PREREQUISITES: dict[str, tuple[str, ...]] = {
    "data": (),
    "streaming": ("data.authorize", "data.groups", "data.symbol_info"),
    "trading": ("data.authorize",),
}
"""What each suite builds on (the token, the symbols): run first when their suite is not."""


def checks_for(suites: Iterable[str]) -> list[Check]:
    """The checks of ``suites`` in order, after the prerequisites they need."""
    wanted = set(suites)
    chosen = [check for name in SUITES if name in wanted for check in SUITES[name]]
    names = {check.name for check in chosen}
    needed = {need for name in wanted for need in PREREQUISITES[name]}
    first = [c for c in data_checks.CHECKS if c.name in needed and c.name not in names]
    return [*first, *chosen]


def run(ctx: Context, checks: Iterable[Check], say: Callable[[str], None] = print) -> list[Outcome]:
    """Run ``checks`` in order; one line each as it ends."""
    outcomes = []
    for check in checks:
        began = time.monotonic()
        try:
            check.run(ctx)
            status, reason = "passed", ""
        except CheckFailed as exc:
            status, reason = "failed", str(exc)
            ctx.failed.add(check.name)
        except CheckSkipped as exc:
            status, reason = "skipped", str(exc)
        outcome = Outcome(check.suite, check.name, status, reason, time.monotonic() - began)  # type: ignore[arg-type]
        outcomes.append(outcome)
        say(line(outcome))
    return outcomes


def line(outcome: Outcome) -> str:
    """``PASS name (1.2 s)``, ``FAIL name: reason``, ``SKIP name: reason``."""
    label = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[outcome.status]
    text = f"{label} {outcome.name} ({outcome.seconds:.1f} s)"
    return f"{text}: {outcome.reason}" if outcome.reason else text


def summary(outcomes: Sequence[Outcome]) -> str:
    """The last line: how many passed, failed and were skipped."""
    count = {s: sum(1 for o in outcomes if o.status == s) for s in ("passed", "failed", "skipped")}
    verdict = "FAILED" if count["failed"] else "OK"
    return (
        f"{verdict}: {count['passed']} passed, {count['failed']} failed, "
        f"{count['skipped']} skipped of {len(outcomes)} checks"
    )


def as_json(url: str, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The JSON report."""
    return {
        "url": url,
        "summary": summary(outcomes),
        "checks": [
            {
                "suite": o.suite,
                "name": o.name,
                "status": o.status,
                "reason": o.reason,
                "seconds": round(o.seconds, 3),
            }
            for o in outcomes
        ],
    }


def as_junit(outcomes: Sequence[Outcome]) -> bytes:
    """The JUnit XML report: a testsuite per suite, a testcase per check."""
    root = ET.Element("testsuites", name="gateway conformance")
    for suite in dict.fromkeys(o.suite for o in outcomes):
        mine = [o for o in outcomes if o.suite == suite]
        node = ET.SubElement(
            root,
            "testsuite",
            name=suite,
            tests=str(len(mine)),
            failures=str(sum(o.status == "failed" for o in mine)),
            skipped=str(sum(o.status == "skipped" for o in mine)),
            time=f"{sum(o.seconds for o in mine):.3f}",
        )
        for o in mine:
            case = ET.SubElement(
                node, "testcase", classname=suite, name=o.name, time=f"{o.seconds:.3f}"
            )
            if o.status == "failed":
                ET.SubElement(case, "failure", message=o.reason)
            elif o.status == "skipped":
                ET.SubElement(case, "skipped", message=o.reason)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def write_reports(
    url: str, outcomes: Sequence[Outcome], json_path: Path | None, junit_path: Path | None
) -> None:
    """Write the reports that were asked for."""
    if json_path is not None:
        json_path.write_text(json.dumps(as_json(url, outcomes), indent=2) + "\n", encoding="utf-8")
    if junit_path is not None:
        junit_path.write_bytes(as_junit(outcomes))
