"""The docs say what the code does: generated reference, error catalogue, README commands."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.config.reference import config_reference
from gateway.errors import CATALOGUE

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

DEMO_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && "
    ".venv/bin/gateway serve examples/demo/gateway.yaml"
)
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest"


def test_the_config_reference_is_generated_from_the_code() -> None:
    begin, end = "<!-- BEGIN GENERATED REFERENCE -->\n", "<!-- END GENERATED REFERENCE -->"
    generated = CONFIG_DOC.split(begin, 1)[1].split(end, 1)[0]
    assert generated == config_reference(), (
        "docs/configuration.md is out of date: run tools/regenerate_docs.py"
    )


def test_the_error_catalogue_is_documented() -> None:
    section = CONFIG_DOC.split("## Error messages", 1)[1].split("## Decisions", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+) \|$", section, flags=re.M))
    assert rows == dict(CATALOGUE)


def test_the_readme_gives_exactly_two_commands_and_ci_runs_the_second() -> None:
    blocks = re.findall(
        r"```sh\n(.*?)```", README.split("## Try it", 1)[1].split("###")[0], flags=re.S
    )
    assert [b.strip() for b in blocks] == [DEMO_COMMAND, TEST_COMMAND]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_COMMAND in ci
